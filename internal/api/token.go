package api

import (
	"strings"

	"github.com/stsbroker/broker/internal/auth"
)

// bearerToken extracts the JWT from an Authorization header value. With
// allowRaw, a value without a scheme is taken as the token itself: that is how
// AWS SDKs send AWS_CONTAINER_AUTHORIZATION_TOKEN[_FILE] (verbatim, no
// "Bearer "). The length is checked before anything else looks at the value.
func bearerToken(header string, maxBytes int, allowRaw bool) (string, error) {
	if header == "" {
		return "", &auth.TokenError{Reason: auth.ReasonMissing}
	}
	const scheme = "bearer "
	if len(header) > maxBytes+len(scheme) {
		return "", &auth.TokenError{Reason: auth.ReasonTooLarge}
	}
	if len(header) > len(scheme) && strings.EqualFold(header[:len(scheme)], scheme) {
		return strings.TrimSpace(header[len(scheme):]), nil
	}
	if allowRaw && !strings.ContainsRune(header, ' ') {
		return header, nil
	}
	return "", &auth.TokenError{Reason: auth.ReasonMalformed}
}
