package auth

import (
	"errors"
	"fmt"
	"time"
)

// lifetime is the time-dependent part of a verified token: everything whose
// verdict can change without the token or the key set changing. Full
// verification and a verified-cache hit both judge it with [lifetime.check],
// so a cached token is held to exactly the same rules at every use.
type lifetime struct {
	exp time.Time // zero if the token has no exp
	nbf time.Time // zero if absent
	iat time.Time // zero if absent
}

// check returns nil if the token is valid at now with a leeway of skew, and
// otherwise a *TokenError with ReasonExpired or ReasonNotYetValid.
func (l lifetime) check(now time.Time, skew time.Duration) error {
	// Security: exp is required; a token without one never expires. The
	// leeway is bounded by Skew (RFC 7519 §4.1.4 allows "some small leeway").
	if l.exp.IsZero() {
		return &TokenError{Reason: ReasonExpired, Err: errors.New("no exp claim")}
	}
	if now.After(l.exp.Add(skew)) {
		return &TokenError{Reason: ReasonExpired, Err: fmt.Errorf("expired at %s", l.exp.UTC().Format(time.RFC3339))}
	}
	// Security: a token not valid yet, or issued in the future beyond the
	// skew, comes from a wrong clock or is pre-minted; refuse it. (A zero
	// nbf or iat is year 1, which can never be in the future: treating it as
	// absent changes nothing.)
	if !l.nbf.IsZero() && l.nbf.After(now.Add(skew)) {
		return &TokenError{Reason: ReasonNotYetValid, Err: errors.New("nbf is in the future")}
	}
	if !l.iat.IsZero() && l.iat.After(now.Add(skew)) {
		return &TokenError{Reason: ReasonNotYetValid, Err: errors.New("iat is in the future")}
	}
	return nil
}
