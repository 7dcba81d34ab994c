package auth

import "time"

// Identity is a verified caller: the token's signature, issuer, audience and
// lifetime have been checked. Nothing in it comes from an unverified token.
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
