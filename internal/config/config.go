package config

import (
	"time"

	"github.com/stsbroker/broker/internal/chain"
)

// Defaults applied by [Parse] to keys the file leaves out.
const (
	DefaultAddr           = "127.0.0.1:8080"
	DefaultRequestTimeout = 15 * time.Second
	DefaultMaxInflight    = 1024
	DefaultMaxConnections = 4096

	// The per-identity bucket fits fleets that share one sub and start at
	// once: a GitHub Actions matrix (at most 256 jobs), a Deployment's
	// rollout, jobs looping over the AWS CLI (one credential_process call
	// per command). STS load is bounded by max_concurrent_chains, not here.
	DefaultRatePerIdentity      = 50
	DefaultRatePerIdentityBurst = 500
	DefaultRateGlobal           = 2000
	DefaultRateGlobalBurst      = 4000
	DefaultMaxConcurrentChains  = 32
	DefaultCallTimeout          = 10 * time.Second
	DefaultRegion               = "us-east-1"
	DefaultMaxEntries           = 10000
	DefaultRefreshBefore        = 30 * time.Minute
	DefaultMinRemaining         = 20 * time.Minute
	DefaultHopDuration          = time.Hour
	DefaultAuditSink            = "stderr"
)

// Source spellings accepted in profiles.<name>.source.
const (
	SourceWebIdentity = "web_identity"
	SourceAmbient     = "ambient"
)

// Config is the whole configuration file. Its fields mirror the YAML keys of
// design.md; build one with [Load] or [Parse].
type Config struct {
	// Server is the HTTP listener (server:).
	Server Server `yaml:"server"`
	// AWS is where STS is called (aws:).
	AWS AWS `yaml:"aws"`
	// Issuers are the trusted OIDC issuers (issuers:); at least one.
	Issuers []Issuer `yaml:"issuers"`
	// Cache bounds and tunes the credentials cache (cache:).
	Cache Cache `yaml:"cache"`
	// Profiles maps a profile name, as it appears in /v1/credentials/{profile},
	// to its definition (profiles:).
	Profiles map[string]*Profile `yaml:"profiles"`
	// Audit says where audit events go (audit:).
	Audit Audit `yaml:"audit"`
	// Path is the file the configuration came from (the name given to Parse).
	Path string `yaml:"-"`
}

// Server configures the broker's HTTP listener.
type Server struct {
	// Addr is the host:port to listen on (addr:, default 127.0.0.1:8080).
	// A non-loopback address requires TLS unless InsecurePlaintext is set.
	Addr string `yaml:"addr"`
	// TLS turns on HTTPS (tls:); nil serves plaintext.
	TLS *TLS `yaml:"tls"`
	// MetricsAddr is an optional separate host:port for /metrics (metrics_addr:).
	MetricsAddr string `yaml:"metrics_addr"`
	// InsecurePlaintext allows a non-loopback Addr without TLS
	// (insecure_plaintext:), e.g. behind a TLS-terminating sidecar.
	InsecurePlaintext bool `yaml:"insecure_plaintext"`
	// RequestTimeout bounds one request, STS calls included
	// (request_timeout:, default 15s).
	RequestTimeout Duration `yaml:"request_timeout"`
	// MaxInflight bounds concurrent requests that verify a token: the
	// credentials, container and profiles routes (max_inflight:, default 1024).
	MaxInflight Count `yaml:"max_inflight"`
	// MaxConnections bounds the open connections of the listener
	// (max_connections:, default 4096): beyond three quarters of it idle
	// connections are closed, and at it a new one is closed at once.
	MaxConnections Count `yaml:"max_connections"`
	// RateLimit bounds request rates; beyond them the broker answers 429
	// with Retry-After (rate_limit:).
	RateLimit RateLimit `yaml:"rate_limit"`
}

// RateLimit configures token-bucket rate limits. A rate of 0 disables that
// limit.
type RateLimit struct {
	// PerIdentity is the sustained requests per second one caller identity
	// (issuer and sub) may make (per_identity:, default 50).
	PerIdentity float64 `yaml:"per_identity"`
	// PerIdentityBurst is the bucket size per identity (per_identity_burst:, default 500).
	PerIdentityBurst Count `yaml:"per_identity_burst"`
	// Global is the sustained requests per second of the whole broker,
	// counted before token verification (global:, default 2000).
	Global float64 `yaml:"global"`
	// GlobalBurst is the global bucket size (global_burst:, default 4000).
	GlobalBurst Count `yaml:"global_burst"`
}

// TLS is the listener's certificate and, optionally, the CA for client
// certificates.
type TLS struct {
	// CertFile is the PEM certificate chain (cert_file:, required).
	CertFile string `yaml:"cert_file"`
	// KeyFile is the PEM private key (key_file:, required).
	KeyFile string `yaml:"key_file"`
	// ClientCAFile, when set, turns on mutual TLS (client_ca_file:).
	ClientCAFile string `yaml:"client_ca_file"`
}

// AWS says where and how STS is called.
type AWS struct {
	// Region signs and routes STS calls (region:, default us-east-1).
	Region string `yaml:"region"`
	// STSEndpoint overrides the STS endpoint (sts_endpoint:): an emulator, a
	// VPC endpoint or a regional endpoint. https unless the host is loopback.
	STSEndpoint string `yaml:"sts_endpoint"`
	// MaxConcurrentChains bounds the chains of STS calls running at once, so
	// that a burst of cold misses cannot trip STS throttling for the whole
	// account (max_concurrent_chains:, default 32). Requests beyond it wait
	// for a slot within their deadline, at most 1024 of them
	// (chain.CacheConfig.MaxWaitingFills); a miss beyond is 429.
	MaxConcurrentChains Count `yaml:"max_concurrent_chains"`
	// CallTimeout bounds one STS call, SDK retries included
	// (call_timeout:, default 10s).
	CallTimeout Duration `yaml:"call_timeout"`
}

// Issuer is one trusted OIDC issuer.
type Issuer struct {
	// Name is how profiles refer to the issuer (name:, unique).
	Name string `yaml:"name"`
	// URL is the issuer identifier, equal to the tokens' iss (url:); discovery
	// reads URL/.well-known/openid-configuration. https unless loopback.
	URL string `yaml:"url"`
	// Audiences are the accepted aud values (audiences:, at least one).
	Audiences []string `yaml:"audiences"`
	// JWKSURL skips discovery and fetches keys from this URL (jwks_url:, optional).
	JWKSURL string `yaml:"jwks_url"`
	// Algorithms is an optional allow-list of JWS algorithms (algorithms:);
	// only asymmetric ones are accepted.
	Algorithms []string `yaml:"algorithms"`
}

// Cache tunes the credentials cache.
type Cache struct {
	// MaxEntries bounds the cache's entries (max_entries:, default 10000): one
	// per identity and profile for the final credentials plus one per cached
	// hop prefix, so a two-hop chain takes two per identity.
	MaxEntries Count `yaml:"max_entries"`
	// RefreshBefore: a request that finds less lifetime left starts a
	// background refresh (refresh_before:, default 30m).
	RefreshBefore Duration `yaml:"refresh_before"`
	// MinRemaining: credentials with less lifetime left are never served
	// (min_remaining:, default 20m). botocore refreshes 15 minutes before
	// expiry, so less would make Python clients call the broker before every
	// API call.
	MinRemaining Duration `yaml:"min_remaining"`
}

// Audit says where audit events are written.
type Audit struct {
	// Sink is "stderr" (default), "stdout", or a file path (sink:).
	Sink string `yaml:"sink"`
}

// Profile is one named chain of roles and who may use it.
type Profile struct {
	// Issuer names the issuer whose tokens may use the profile (issuer:).
	Issuer string `yaml:"issuer"`
	// Source is where hop 1 starts (source:): "web_identity" (default,
	// AssumeRoleWithWebIdentity with the caller's token) or "ambient" (every
	// hop is AssumeRole, hop 1 signed with the broker's own credentials).
	Source string `yaml:"source"`
	// Conditions must all hold on the verified claims (conditions:).
	Conditions Conditions `yaml:"conditions"`
	// SessionName is a text/template over the verified claims, rendered into
	// each hop's RoleSessionName (session_name:).
	SessionName string `yaml:"session_name"`
	// SourceIdentity is a text/template over the claims, sent as STS
	// SourceIdentity on the first AssumeRole hop (source_identity:, optional).
	SourceIdentity string `yaml:"source_identity"`
	// Chain is the roles assumed in order (chain:, at least one).
	Chain []Hop `yaml:"chain"`
}

// SourceKind returns the chain.Source that p.Source spells; anything but
// "ambient" is [chain.WebIdentity] (Validate rejects unknown spellings).
func (p *Profile) SourceKind() chain.Source {
	if p.Source == SourceAmbient {
		return chain.Ambient
	}
	return chain.WebIdentity
}

// Conditions are IAM-like claim conditions: every listed claim must match one
// of its values. Operators other than these two are unknown keys, and so
// decoding errors.
type Conditions struct {
	// StringEquals maps a claim to the values it must equal (StringEquals:).
	StringEquals map[string]StringList `yaml:"StringEquals"`
	// StringLike maps a claim to IAM-style patterns with * and ? (StringLike:).
	StringLike map[string]StringList `yaml:"StringLike"`
}

// Len returns the number of conditions (claims across both operators).
func (c Conditions) Len() int { return len(c.StringEquals) + len(c.StringLike) }

// Hop is one role of a profile's chain.
type Hop struct {
	// RoleARN is arn:<partition>:iam::<account>:role/<path/>name (role_arn:).
	RoleARN string `yaml:"role_arn"`
	// Duration is the requested session lifetime (duration:, default 1h, also
	// for an explicit 0s; 15m to 12h, at most 1h from hop 2 on: role chaining).
	Duration Duration `yaml:"duration"`
	// ExternalID is the resolved ExternalId sent on AssumeRole. It is never
	// read from YAML directly: Parse fills it from RawExternalID or
	// ExternalIDFile.
	ExternalID chain.Secret `yaml:"-"`
	// RawExternalID is the external_id key as written: a literal or
	// ${env:VAR}. Parse clears it once resolved into ExternalID.
	RawExternalID string `yaml:"external_id"`
	// ExternalIDFile is a file holding the ExternalId (external_id_file:); one
	// trailing newline is trimmed. A relative path is relative to the
	// configuration file's directory.
	ExternalIDFile string `yaml:"external_id_file"`
	// SessionTags maps tag keys to text/templates over the claims
	// (session_tags:, at most 50; AssumeRole hops only).
	SessionTags map[string]string `yaml:"session_tags"`
	// TransitiveTagKeys are session tag keys that persist through later hops
	// (transitive_tag_keys:).
	TransitiveTagKeys []string `yaml:"transitive_tag_keys"`
	// PolicyARNs are managed session policies (policy_arns:, at most 10).
	PolicyARNs []string `yaml:"policy_arns"`
	// Policy is an inline session policy JSON, a text/template over the
	// claims (policy:).
	Policy string `yaml:"policy"`
}
