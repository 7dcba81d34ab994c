package chain

import (
	"fmt"
	"io"
	"time"
)

// Secret is a credential that must never be printed: a secret access key, a
// session token, an ExternalId or a web identity token. Every formatting path
// (fmt, %#v, JSON, zap's reflection) sees "[redacted]"; Reveal returns the
// value, so leaking one takes an explicit call that can be grepped for.
type Secret string

// String implements fmt.Stringer.
func (Secret) String() string { return "[redacted]" }

// GoString implements fmt.GoStringer so %#v does not print the value.
func (Secret) GoString() string { return "[redacted]" }

// Format implements fmt.Formatter, so that every verb prints "[redacted]":
// without it, a verb that is not a string verb (%d) prints the value.
func (Secret) Format(f fmt.State, _ rune) { io.WriteString(f, "[redacted]") }

// MarshalJSON implements json.Marshaler.
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"[redacted]"`), nil }

// MarshalText implements encoding.TextMarshaler (used by zap.Any, yaml).
func (Secret) MarshalText() ([]byte, error) { return []byte("[redacted]"), nil }

// Reveal returns the secret value. Call it only where the value leaves the
// process on purpose: the STS request signer, the credentials encoders.
func (s Secret) Reveal() string { return string(s) }

// Credentials are temporary AWS credentials as STS issued them.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey Secret
	SessionToken    Secret
	Expiration      time.Time
	// AccountID is the account of the assumed role (from the assumed-role ARN).
	AccountID string
	// AssumedRoleARN is arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION.
	AssumedRoleARN string
	// RoleARN is the IAM role the credentials belong to (the hop's RoleARN).
	RoleARN string
	// SourceIdentity is echoed by STS when one was set in the chain.
	SourceIdentity string
}

// signer returns what of c signs the next hop's call: the keys, the
// expiration and the role. The per-hop cache keeps only this, without the
// assumed-role ARN and the rest (64 bytes less per entry in
// BenchmarkLRUMemory, more where the ARN tips the text into a larger size
// class), under a key that is never a plan's ([Plan.signerKey]).
func (c Credentials) signer() Credentials {
	return Credentials{
		AccessKeyID:     c.AccessKeyID,
		SecretAccessKey: c.SecretAccessKey,
		SessionToken:    c.SessionToken,
		Expiration:      c.Expiration,
		RoleARN:         c.RoleARN,
	}
}

// Valid reports whether c holds a complete set of credentials. A failure must
// never produce a zero-value answer; callers check this before serving.
func (c Credentials) Valid() bool {
	return c.AccessKeyID != "" && c.SecretAccessKey != "" && c.SessionToken != "" && !c.Expiration.IsZero()
}
