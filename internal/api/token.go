package api

import (
	"errors"
	"net/http"
	"strings"

	"github.com/stsbroker/broker/internal/auth"
)

// requestToken is the token of r's one Authorization header (see
// bearerToken). Two such headers are refused: a proxy in front could check
// one and the broker use the other.
func (s *Server) requestToken(r *http.Request, allowRaw bool) (string, error) {
	var header string
	switch v := r.Header.Values("Authorization"); len(v) {
	case 0:
	case 1:
		header = v[0]
	default:
		return "", badRequest("send one Authorization header")
	}
	token, err := bearerToken(header, s.cfg.MaxTokenBytes, allowRaw)
	if err != nil {
		// A token refused here (missing, too large, not Bearer) never
		// reaches the verifier; count it with the verifier's results all
		// the same. (Inside the if: te escapes to the heap through
		// errors.As, an allocation a request with a token need not pay.)
		var te *auth.TokenError
		if errors.As(err, &te) {
			s.metrics.verifications.WithLabelValues(te.Reason).Inc()
		}
	}
	return token, err
}

// errNotBearer is the message for an Authorization header of another scheme.
const errNotBearer = `the Authorization header must be "Bearer <JWT>"`

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
	case allowRaw && !otherScheme(header):
		tok = header
	default:
		// Another scheme (Basic), or the bare token where only Bearer is
		// taken: say what the header must hold, not that the token is bad.
		return "", &apiError{Status: http.StatusUnauthorized, Code: codeInvalidToken,
			Message: errNotBearer, Err: &auth.TokenError{Reason: auth.ReasonMalformed}}
	}
	switch {
	case tok == "":
		return "", &auth.TokenError{Reason: auth.ReasonMissing}
	case len(tok) > maxBytes:
		return "", &auth.TokenError{Reason: auth.ReasonTooLarge}
	case !printableASCII(tok):
		// A compact JWS is base64url and dots: no white space, no control
		// characters, nothing outside ASCII. The verifier checks the exact
		// alphabet; this keeps everything else out of logs and parsers.
		return "", &auth.TokenError{Reason: auth.ReasonMalformed}
	}
	return tok, nil
}

// otherScheme reports whether an Authorization value starts with a scheme
// word ("Basic dXNl…"): a space after a first word without a dot. A raw JWT
// has dots and no space.
func otherScheme(header string) bool {
	i := strings.IndexByte(header, ' ')
	return i > 0 && !strings.Contains(header[:i], ".")
}

// printableASCII reports whether s holds only the bytes '!' to '~'. It runs
// on every request over the whole token, so it is a plain byte loop.
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}
