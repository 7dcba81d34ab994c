package auth

import "time"

// Identity is a verified caller: the token's signature, issuer, audience and
// lifetime have been checked. Nothing in it comes from an unverified token.
//
// An Identity returned by [Verifier.Verify] is read-only: the verifier keeps
// it for the token's lifetime and returns the same pointer, with the same
// Audience slice and Claims map, when the token is presented again, possibly
// to another goroutine. Callers must not modify it, Audience or Claims (or
// any list or map inside Claims); copy what needs changing.
type Identity struct {
	// Issuer is the configured issuer's name (issuers[].name).
	Issuer string
	// IssuerURL is the token's iss, equal to the configured issuer URL.
	IssuerURL string
	Subject   string
	Audience  []string
	Expiry    time.Time
	// Claims is the whole verified payload, decoded with json.Number for numbers.
	Claims map[string]any
}
