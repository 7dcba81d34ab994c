package auth

import "fmt"

// Reasons a token is rejected. They are safe to show to the client and to use
// as a metric label.
const (
	ReasonMissing       = "missing"
	ReasonMalformed     = "malformed"
	ReasonTooLarge      = "too_large"
	ReasonUnknownIssuer = "unknown_issuer"
	ReasonAlgorithm     = "unsupported_algorithm"
	ReasonSignature     = "signature"
	ReasonExpired       = "expired"
	ReasonNotYetValid   = "not_yet_valid"
	ReasonAudience      = "audience"
	ReasonIssuerDown    = "issuer_unavailable"
	ReasonNoSubject     = "no_subject"
)

// TokenError says why a token was rejected. Err carries detail for the log.
type TokenError struct {
	Reason string
	Err    error
}

func (e *TokenError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("auth: token %s: %v", e.Reason, e.Err)
	}
	return "auth: token " + e.Reason
}

func (e *TokenError) Unwrap() error { return e.Err }

// ConditionError says which condition of a profile a verified identity failed.
// It names the operator and the claim, never a value the claim must match.
type ConditionError struct {
	Operator string // "StringEquals", "StringLike"
	Claim    string
}

func (e *ConditionError) Error() string {
	return fmt.Sprintf("auth: condition %s on %s not met", e.Operator, e.Claim)
}
