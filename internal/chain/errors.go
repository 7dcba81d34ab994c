package chain

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/processcreds"
)

// AmbientError reports that hop 1 of an Ambient plan could not be signed:
// the broker has no AWS credentials of its own (the SDK's default chain:
// environment, shared files, web identity file, container endpoint, IMDS).
// No STS call was made. Err is the SDK's reason, for the log only.
type AmbientError struct {
	RoleARN string
	Err     error
}

func (e *AmbientError) Error() string {
	return fmt.Sprintf("chain: hop 1 (%s): no AWS credentials of the broker's own to sign it: %v", e.RoleARN, e.Err)
}

func (e *AmbientError) Unwrap() error { return e.Err }

// CheckAmbient retrieves the broker's own credentials from p and returns
// why it could not, or nil. The reason is the SDK's, except that the
// output of a credential_process that did not parse, which the SDK quotes
// and which may hold a secret, is left out: the reason goes to logs.
func CheckAmbient(ctx context.Context, p aws.CredentialsProvider) error {
	if p == nil {
		return errors.New("no ambient credentials provider configured")
	}
	_, err := p.Retrieve(ctx)
	var pe *processcreds.ProviderError
	if errors.As(err, &pe) && strings.Contains(pe.Error(), "process output:") {
		return errors.New("the credential_process of the broker's own AWS profile printed output that does not parse (not logged: it may hold a secret)")
	}
	return err
}

// ErrTokenExpired is a fill's answer when hop 1 needs the caller's token
// and the token has expired: the verifier accepts a token for a few
// seconds of clock skew past exp, STS does not (ExpiredTokenException).
// No STS call is made.
var ErrTokenExpired = errors.New("chain: the caller's token expired before hop 1 could use it")

// tokenError is a fill's error caused by the one caller's token it used
// (see callerToken), with that token's digest: a request that joined the
// fill with another token of the identity tries again with its own
// instead of failing with a stranger's expired token. The digest, not the
// token, so that the error holds no secret.
type tokenError struct {
	err    error
	digest [sha256.Size]byte
}

func (e *tokenError) Error() string { return e.err.Error() }
func (e *tokenError) Unwrap() error { return e.err }

// HopError reports a failed STS call of a chain. Its fields are safe to show a
// client; Err may carry SDK text and is for the log only.
type HopError struct {
	Hop     int    // 1-based index in the plan
	RoleARN string // the role the hop tried to assume
	Action  string // "AssumeRoleWithWebIdentity" or "AssumeRole"
	// Code is STS's error code ("AccessDenied", "Throttling"); "" when no
	// answer came (connection refused, reset, deadline).
	Code string
	Kind ErrorKind
	Err  error
}

// ErrorKind classifies a hop failure for the caller's retry decision.
type ErrorKind int

const (
	// Refused: STS answered with a client error; retrying will not help.
	Refused ErrorKind = iota
	// Unavailable: throttling, 5xx or a transport failure after the SDK's retries.
	Unavailable
	// Timeout: the context deadline passed while calling STS.
	Timeout
)

func (e *HopError) Error() string {
	code := e.Code
	if code == "" {
		code = "no answer"
	}
	return fmt.Sprintf("chain: hop %d (%s): %s: %v", e.Hop, e.RoleARN, code, e.Err)
}

func (e *HopError) Unwrap() error { return e.Err }
