package chain

import "time"

// Source says where hop 1 gets the credentials it starts from.
type Source int

const (
	// WebIdentity: hop 1 is sts:AssumeRoleWithWebIdentity with the caller's token.
	WebIdentity Source = iota
	// Ambient: hop 1 is sts:AssumeRole signed with the broker's own credentials
	// (the SDK's default chain); the caller's token only authorizes.
	Ambient
)

// String returns "web_identity" or "ambient", the configuration spelling.
func (s Source) String() string {
	if s == Ambient {
		return "ambient"
	}
	return "web_identity"
}

// Tag is one STS session tag.
type Tag struct {
	Key, Value string
}

// Hop is one rendered STS call of a plan: everything is final, no templates.
type Hop struct {
	RoleARN     string
	SessionName string
	// ExternalID is sent on AssumeRole hops; it is never set on an
	// AssumeRoleWithWebIdentity hop (that API has no ExternalId).
	ExternalID Secret
	// Duration is the requested session lifetime; 0 lets STS choose (1h).
	Duration          time.Duration
	Tags              []Tag
	TransitiveTagKeys []string
	SourceIdentity    string
	PolicyARNs        []string
	Policy            string
}

// Plan is a rendered chain for one caller: the source and the hops in order.
type Plan struct {
	// Profile names the profile the plan was rendered from (for logs and metrics).
	Profile string
	Source  Source
	// WebIdentityToken is the caller's JWT, used by hop 1 when Source is
	// WebIdentity. It is not part of the cache key: two tokens of one identity
	// share an entry.
	WebIdentityToken Secret
	// TokenExpiry is WebIdentityToken's exp, zero when unknown; like the
	// token it is not part of the key. A background refresh is not started
	// with a token past it: STS would refuse it (ExpiredTokenException),
	// though the verifier lets it through for its clock skew.
	TokenExpiry time.Time
	// Identity distinguishes callers that render the same hops (issuer and
	// sub); it is part of the cache key, never sent to STS.
	Identity string
	Hops     []Hop
}

// tokenExpired reports whether p's hop 1 needs the caller's token and the
// token is past its exp at now: STS would refuse it.
func (p Plan) tokenExpired(now time.Time) bool {
	return p.Source == WebIdentity && !p.TokenExpiry.IsZero() && !now.Before(p.TokenExpiry)
}
