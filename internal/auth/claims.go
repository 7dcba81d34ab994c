package auth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"
)

// maxUnix bounds NumericDate values (year 9999) so that float conversion
// cannot overflow.
const maxUnix = 253402300799

// decodeClaims decodes a token's payload with json.Number for numbers, so
// that IDs and timestamps keep their exact digits. It is the only decoder of
// claims: the verifier accepts a token only if it succeeds, and
// [Identity.Claims] calls it again on the same bytes.
func decodeClaims(payload []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var claims map[string]any
	if err := dec.Decode(&claims); err != nil || claims == nil {
		return nil, errors.New("claims: not a JSON object")
	}
	return claims, nil
}

// numericDate reads the NumericDate claim name (RFC 7519 §2): a JSON number
// of seconds, fractions truncated as go-oidc does. ok is false if absent.
func numericDate(claims map[string]any, name string) (t time.Time, ok bool, err error) {
	v, present := claims[name]
	if !present {
		return time.Time{}, false, nil
	}
	n, isNum := v.(json.Number)
	if !isNum {
		return time.Time{}, false, fmt.Errorf("claim %s is not a number", name)
	}
	f, err := n.Float64()
	if err != nil || math.IsNaN(f) {
		return time.Time{}, false, fmt.Errorf("claim %s is not a number", name)
	}
	// Security: a date past year 9999 is refused, not capped: go-oidc
	// converts exp and iat to int64 on its own, where 1e19 wraps into the
	// past (an iat that is never "in the future") and 9e18 is an exp in
	// year 285 billion. Far in the past is harmless (expired).
	if f > maxUnix {
		return time.Time{}, false, fmt.Errorf("claim %s is beyond year 9999", name)
	}
	f = max(f, -maxUnix)
	return time.Unix(int64(f), 0), true, nil
}

// registeredClaims are the registered claim names of RFC 7519 §4.1.
var registeredClaims = [...]string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti"}

// checkClaimNames refuses claims that have a key equal to a registered claim
// name case-insensitively but not exactly: "Sub", "SUB", or "ſub" (U+017F,
// LATIN SMALL LETTER LONG S, folds to "s").
//
// Security: go-oidc decodes iss, sub, aud, exp, iat and nbf with
// encoding/json into a struct, which matches keys case-insensitively (with
// Unicode simple folding, hence strings.EqualFold here) and keeps the last
// match; conditions, templates and our nbf read the exact key from
// [decodeClaims]' map. A payload with both "sub" and "Sub" would name one
// caller in Identity.Subject (the cache key and the audit log) and another
// in the conditions. Claim names are case-sensitive (RFC 7519 §4), so such a
// key is no registered claim, and an issuer has no reason to send one. It
// runs on the map verifySigned decodes anyway: a few string comparisons per
// claim, and none on a verified-cache hit.
func checkClaimNames(claims map[string]any) error {
	for k := range claims {
		// A registered name is three ASCII letters, and a rune that folds
		// to one is at most UTFMax bytes.
		if len(k) > 3*utf8.UTFMax {
			continue
		}
		for _, name := range registeredClaims {
			if k != name && strings.EqualFold(k, name) {
				return fmt.Errorf("claims: key %q differs from the registered claim %q only in case", k, name)
			}
		}
	}
	return nil
}
