package api

import (
	"errors"
	"strings"
	"testing"

	"github.com/stsbroker/broker/internal/auth"
)

// bearerTokenFuzzTests seed FuzzParseAuthorization: the edges of the scheme,
// of the size limit, and of the raw form the container endpoint accepts.
var bearerTokenFuzzTests = []struct {
	name     string
	header   string
	maxBytes uint16
	allowRaw bool
}{
	{name: "empty", header: "", maxBytes: 16, allowRaw: false},
	{name: "bearer", header: "Bearer a.b.c", maxBytes: 16, allowRaw: false},
	{name: "bearer-lower", header: "bearer a.b.c", maxBytes: 16, allowRaw: false},
	{name: "bearer-upper", header: "BEARER a.b.c", maxBytes: 16, allowRaw: false},
	{name: "scheme-only", header: "Bearer ", maxBytes: 16, allowRaw: false},
	{name: "scheme-and-blanks", header: "Bearer  \t ", maxBytes: 16, allowRaw: false},
	{name: "padded-token", header: "Bearer \t a.b.c \r\n", maxBytes: 16, allowRaw: false},
	{name: "basic", header: "Basic dXNlcjpwYXNz", maxBytes: 64, allowRaw: false},
	{name: "no-space-after-scheme", header: "Bearera.b.c", maxBytes: 16, allowRaw: false},
	{name: "exactly-max", header: "Bearer " + strings.Repeat("x", 16), maxBytes: 16, allowRaw: false},
	{name: "max-plus-one", header: "Bearer " + strings.Repeat("x", 17), maxBytes: 16, allowRaw: false},
	{name: "raw", header: "a.b.c", maxBytes: 16, allowRaw: true},
	{name: "raw-not-allowed", header: "a.b.c", maxBytes: 16, allowRaw: false},
	{name: "raw-with-space", header: "a.b c", maxBytes: 16, allowRaw: true},
	{name: "raw-exactly-max", header: strings.Repeat("x", 16), maxBytes: 16, allowRaw: true},
	{name: "raw-max-plus-eight", header: strings.Repeat("x", 24), maxBytes: 16, allowRaw: true},
	{name: "zero-max", header: "Bearer x", maxBytes: 0, allowRaw: true},
	{name: "multibyte-space", header: "Bearer \u00a0a.b.c\u3000", maxBytes: 32, allowRaw: false},
	{name: "invalid-utf8", header: "Bearer \xff\xfe", maxBytes: 16, allowRaw: true},
}

// FuzzParseAuthorization checks bearerToken, the first code that sees a
// caller's Authorization header: it never panics; a header longer than the
// limit plus the scheme is refused as too_large before anything else; every
// error is a *auth.TokenError with one of the three front-end reasons; and a
// token it returns is trimmed, no longer than the limit, and taken from the
// header (after a case-insensitive "Bearer " unless raw tokens are allowed).
func FuzzParseAuthorization(f *testing.F) {
	for _, tt := range bearerTokenFuzzTests {
		f.Add(tt.header, tt.maxBytes, tt.allowRaw)
	}
	f.Fuzz(func(t *testing.T, header string, maxBytes uint16, allowRaw bool) {
		maxB := int(maxBytes)
		tok, err := bearerToken(header, maxB, allowRaw)
		if err != nil {
			var te *auth.TokenError
			if !errors.As(err, &te) {
				t.Fatalf("bearerToken(%q, %d, %v) error = %v (%T), want a *auth.TokenError", header, maxB, allowRaw, err, err)
			}
			switch te.Reason {
			case auth.ReasonMissing, auth.ReasonMalformed, auth.ReasonTooLarge:
			default:
				t.Fatalf("bearerToken(%q, %d, %v) reason = %q, want missing, malformed or too_large", header, maxB, allowRaw, te.Reason)
			}
			if header == "" && te.Reason != auth.ReasonMissing {
				t.Fatalf("bearerToken(\"\", %d, %v) reason = %q, want %q", maxB, allowRaw, te.Reason, auth.ReasonMissing)
			}
			if len(header) > maxB+len("Bearer ") && te.Reason != auth.ReasonTooLarge {
				t.Fatalf("bearerToken(%d bytes, %d, %v) reason = %q, want %q", len(header), maxB, allowRaw, te.Reason, auth.ReasonTooLarge)
			}
			return
		}
		if len(header) > maxB+len("Bearer ") {
			t.Fatalf("bearerToken(%d bytes, %d, %v) = %d-byte token, want too_large", len(header), maxB, allowRaw, len(tok))
		}
		if len(tok) > maxB {
			t.Fatalf("bearerToken(%q, %d, %v) = %q: %d bytes, want at most %d", header, maxB, allowRaw, tok, len(tok), maxB)
		}
		if strings.TrimSpace(tok) != tok {
			t.Fatalf("bearerToken(%q, %d, %v) = %q, want no leading or trailing space", header, maxB, allowRaw, tok)
		}
		if !strings.Contains(header, tok) {
			t.Fatalf("bearerToken(%q, %d, %v) = %q, not a part of the header", header, maxB, allowRaw, tok)
		}
		hasScheme := len(header) > len("Bearer ") && strings.EqualFold(header[:len("Bearer ")], "Bearer ")
		if !allowRaw && !hasScheme {
			t.Fatalf("bearerToken(%q, %d, false) = %q, want an error without the Bearer scheme", header, maxB, tok)
		}
	})
}
