package auth

import (
	"sync"
	"time"
)

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

	// derived holds what consumers computed from this identity (Derive).
	derived sync.Map
}

// Derive returns the value stored under key, computing and storing it first
// if there is none. It lets a consumer do work that depends only on the
// identity once per verified token instead of once per request: the verifier
// returns the same *Identity for the same token while its cache holds it,
// and the values go with it. compute must be deterministic: under a race it
// may run twice, and one result is kept. Keys should be of a type private to
// the consumer, so that consumers cannot collide.
func (id *Identity) Derive(key any, compute func() any) any {
	if v, ok := id.derived.Load(key); ok {
		return v
	}
	v, _ := id.derived.LoadOrStore(key, compute())
	return v
}
