package client

import (
	"context"
	"os"
	"strings"
)

// EnvSource reads the token from an environment variable on every call.
type EnvSource struct {
	Var    string
	Getenv func(string) string // defaults to os.Getenv
}

// Token returns the variable's value with surrounding whitespace trimmed. An
// unset or empty variable is an error with [ExitUsage].
func (s EnvSource) Token(ctx context.Context) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if s.Var == "" {
		return "", usageError(nil, "token env: no variable name given")
	}
	getenv := s.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	tok := strings.TrimSpace(getenv(s.Var))
	if tok == "" {
		return "", usageError(nil, "token env: %s is not set or empty", s.Var)
	}
	return tok, nil
}
