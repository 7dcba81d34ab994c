package client

import (
	"context"
	"errors"
	"io"
)

// TokenSource gives the caller's OIDC token (a JWT) for one request to the
// broker. Implementations fetch a fresh token on every call, because CI and
// Kubernetes tokens live for minutes. An error that is not an [*Error] is
// treated as a usage error (exit 2). Errors must never contain the token.
type TokenSource interface {
	Token(ctx context.Context) (string, error)
}

// maxTokenBytes bounds what a token source reads: a token file, or the
// GitHub Actions runtime's answer.
const maxTokenBytes = 64 << 10

// errTooLarge reports that a bounded read hit its limit.
var errTooLarge = errors.New("client: input too large")

// readBounded reads all of r, failing with errTooLarge when r holds more than
// limit bytes, so that no input can make us hold an unbounded amount.
func readBounded(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, errTooLarge
	}
	return b, nil
}

// headerSafe reports whether tok can be sent as a bearer token: visible ASCII
// only, no spaces. We check it ourselves so that a bad token fails as a usage
// error with a message that does not repeat it.
func headerSafe(tok string) bool {
	for i := 0; i < len(tok); i++ {
		if tok[i] < 0x21 || tok[i] > 0x7e {
			return false
		}
	}
	return tok != ""
}
