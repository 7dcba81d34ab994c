package api

import (
	"strings"
	"unicode"

	"github.com/stsbroker/broker/internal/auth"
)

// bearerToken extracts the JWT from an Authorization header value. With
// allowRaw, a value without a scheme is taken as the token itself: that is how
// AWS SDKs send AWS_CONTAINER_AUTHORIZATION_TOKEN[_FILE] (verbatim, no
// "Bearer "). The length is checked before anything else looks at the value,
// and the token itself is never longer than maxBytes.
func bearerToken(header string, maxBytes int, allowRaw bool) (string, error) {
	if header == "" {
		return "", &auth.TokenError{Reason: auth.ReasonMissing}
	}
	const scheme = "bearer "
	if len(header) > maxBytes+len(scheme) {
		return "", &auth.TokenError{Reason: auth.ReasonTooLarge}
	}
	var tok string
	switch {
	case len(header) >= len(scheme) && strings.EqualFold(header[:len(scheme)], scheme):
		tok = strings.TrimSpace(header[len(scheme):])
	case allowRaw:
		tok = header
	default:
		return "", &auth.TokenError{Reason: auth.ReasonMalformed}
	}
	switch {
	case tok == "":
		return "", &auth.TokenError{Reason: auth.ReasonMissing}
	case len(tok) > maxBytes:
		return "", &auth.TokenError{Reason: auth.ReasonTooLarge}
	case strings.IndexFunc(tok, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
		// A JWS has no white space or control characters anywhere.
		return "", &auth.TokenError{Reason: auth.ReasonMalformed}
	}
	return tok, nil
}
