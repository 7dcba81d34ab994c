package auth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"
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
	f = min(max(f, -maxUnix), maxUnix)
	return time.Unix(int64(f), 0), true, nil
}
