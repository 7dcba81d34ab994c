package auth

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"time"

	"go.uber.org/zap"
)

// Defaults applied by [New] to zero-valued [Config] fields.
const (
	DefaultMaxTokenBytes       = 16384
	DefaultSkew                = 30 * time.Second
	DefaultJWKSRefetchInterval = 30 * time.Second
	DefaultJWKSMaxAge          = 10 * time.Minute
	DefaultHTTPTimeout         = 10 * time.Second
	DefaultVerifiedCacheSize   = 10000
)

// defaultIssuerRetryMax is the default of [Config.IssuerRetryMax].
const defaultIssuerRetryMax = time.Minute

// maxIssuers bounds the configuration; a broker trusts a handful of issuers.
const maxIssuers = 64

// maxVerifiedCacheSize bounds Config.VerifiedCacheSize. An entry costs a few
// hundred bytes plus its Identity: the payload (about 0.9 KB for a GitHub
// Actions token; BenchmarkVerifiedMemory: 1.4 KB a token in all) and what
// consumers derived from it (a prepared plan is about 0.9 KB a profile, a
// refusal about 0.2 KB; at most maxDerived).
const maxVerifiedCacheSize = 1 << 20

// supportedAlgs are the asymmetric JWS algorithms go-oidc accepts. Symmetric
// (HS*) algorithms and "none" are never accepted (RFC 8725 §3.1, §3.2): an
// issuer's JWKS holds public keys, and HS256 keyed with one is the classic
// key-confusion attack.
var supportedAlgs = map[string]bool{
	"RS256": true, "RS384": true, "RS512": true,
	"ES256": true, "ES384": true, "ES512": true,
	"PS256": true, "PS384": true, "PS512": true,
	"EdDSA": true,
}

// defaultJWKSAlgs is the allow-list for an issuer configured with a JWKS URL
// and no algorithms: without discovery there is nothing to learn them from.
var defaultJWKSAlgs = []string{"RS256", "ES256"}

// IssuerConfig is one trusted OIDC issuer.
type IssuerConfig struct {
	// Name is the configuration name, e.g. "github"; it becomes Identity.Issuer.
	Name string
	// URL is the exact issuer (iss) URL. Discovery is at
	// URL/.well-known/openid-configuration.
	URL string
	// Audiences lists accepted audiences; a token's aud must contain one.
	Audiences []string
	// JWKSURL, if set, skips discovery and uses this JWKS.
	JWKSURL string
	// Algorithms is an optional allow-list. The default is the discovered
	// algorithms that go-oidc supports, or RS256 and ES256 with JWKSURL.
	Algorithms []string
}

// equal reports whether ic and o configure the same issuer: every field
// (a field added later included), an empty list equal to none.
func (ic IssuerConfig) equal(o IssuerConfig) bool {
	norm := func(c IssuerConfig) IssuerConfig {
		if len(c.Audiences) == 0 {
			c.Audiences = nil
		}
		if len(c.Algorithms) == 0 {
			c.Algorithms = nil
		}
		return c
	}
	return reflect.DeepEqual(norm(ic), norm(o))
}

// Config configures a [Verifier]. Zero values get the defaults above.
type Config struct {
	Issuers []IssuerConfig
	// Now is the clock for exp, nbf and iat, the refetch interval, the
	// issuer retry interval and the keys' age (JWKSMaxAge). It is also
	// given to go-oidc. Default time.Now.
	Now func() time.Time
	// HTTPClient is used for discovery and JWKS. Default: a client with a
	// 10s timeout.
	HTTPClient *http.Client
	// MaxTokenBytes bounds a raw token; it is checked before any parsing.
	MaxTokenBytes int
	// Skew is the leeway on exp, nbf and iat. go-oidc has none on exp.
	Skew time.Duration
	// JWKSRefetchInterval is the minimum time between two JWKS refetches of
	// one issuer for tokens no installed key verifies (the periodic fetches
	// of JWKSMaxAge do not count), and between two initialisation attempts
	// of an issuer that is down, whether a request or the background retry
	// makes them.
	JWKSRefetchInterval time.Duration
	// JWKSMaxAge is how long an issuer's keys are used without a fetch: each
	// initialised issuer's JWKS is fetched again this often, so a key the
	// issuer withdrew stops verifying at most about this long after, even
	// if no token ever carries an unknown kid (which is the only other
	// refetch). Security: a withdrawn key that kept verifying would let
	// whoever holds it be served cached credentials, and ambient profiles,
	// which STS never shows the token. A failed fetch keeps the installed
	// keys (an issuer outage does not stop verification) and is logged.
	// These fetches do not count towards JWKSRefetchInterval. The age is
	// measured on Now: with a clock that does not move, there are none.
	// Default DefaultJWKSMaxAge.
	JWKSMaxAge time.Duration
	// IssuerRetryMin is the first delay of the background retry of an
	// issuer that was down at [New] (see [Verifier.Close]); each failed
	// attempt doubles it, up to IssuerRetryMax. Default JWKSRefetchInterval,
	// since attempts are limited to one per interval anyway (or
	// IssuerRetryMax, if that is set and shorter).
	IssuerRetryMin time.Duration
	// IssuerRetryMax caps the delay of the background retry, so that an
	// issuer that comes back is used (and /readyz turns ready) at most about
	// this long after. Default one minute, or IssuerRetryMin if longer.
	// Tests set both to milliseconds.
	IssuerRetryMax time.Duration
	// Log receives issuer initialisation events. Default zap.NewNop().
	Log *zap.Logger
	// VerifiedCacheSize is the number of verified tokens remembered, by
	// SHA-256, so that a token presented again skips the signature check.
	// Default DefaultVerifiedCacheSize; negative disables the cache.
	//
	// A hit re-checks exp, nbf and iat with Now and Skew exactly as full
	// verification does, so an entry never outlives the token's exp plus
	// Skew. Entries of an issuer become misses whenever a JWKS fetch
	// changes its usable keys, so a key removed from the JWKS stops
	// validating cached tokens from that fetch on. The least recently used
	// entry is evicted when the cache is full.
	VerifiedCacheSize int
}

// withDefaults returns cfg with zero fields set to their defaults. It does
// not modify the caller's slices.
func (cfg Config) withDefaults() Config {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: DefaultHTTPTimeout}
	}
	if cfg.MaxTokenBytes == 0 {
		cfg.MaxTokenBytes = DefaultMaxTokenBytes
	}
	if cfg.Skew == 0 {
		cfg.Skew = DefaultSkew
	}
	if cfg.JWKSRefetchInterval == 0 {
		cfg.JWKSRefetchInterval = DefaultJWKSRefetchInterval
	}
	if cfg.JWKSMaxAge == 0 {
		cfg.JWKSMaxAge = DefaultJWKSMaxAge
	}
	if cfg.IssuerRetryMin == 0 {
		cfg.IssuerRetryMin = cfg.JWKSRefetchInterval
		if cfg.IssuerRetryMax > 0 {
			cfg.IssuerRetryMin = min(cfg.IssuerRetryMin, cfg.IssuerRetryMax)
		}
	}
	if cfg.IssuerRetryMax == 0 {
		cfg.IssuerRetryMax = max(defaultIssuerRetryMax, cfg.IssuerRetryMin)
	}
	if cfg.Log == nil {
		cfg.Log = zap.NewNop()
	}
	if cfg.VerifiedCacheSize == 0 {
		cfg.VerifiedCacheSize = DefaultVerifiedCacheSize
	}
	return cfg
}

// validate reports every problem in cfg at once. It does no I/O.
func (cfg Config) validate() error {
	var errs []error
	if len(cfg.Issuers) == 0 {
		errs = append(errs, errors.New("auth: no issuers configured"))
	}
	if len(cfg.Issuers) > maxIssuers {
		errs = append(errs, fmt.Errorf("auth: %d issuers exceed the limit of %d", len(cfg.Issuers), maxIssuers))
	}
	if cfg.MaxTokenBytes < 0 {
		errs = append(errs, errors.New("auth: max token bytes must not be negative"))
	}
	if cfg.Skew < 0 {
		errs = append(errs, errors.New("auth: skew must not be negative"))
	}
	if cfg.JWKSRefetchInterval < 0 {
		errs = append(errs, errors.New("auth: jwks refetch interval must not be negative"))
	}
	if cfg.JWKSMaxAge < 0 {
		errs = append(errs, errors.New("auth: jwks max age must not be negative"))
	}
	if cfg.IssuerRetryMin < 0 || cfg.IssuerRetryMax < 0 {
		errs = append(errs, errors.New("auth: issuer retry delays must not be negative"))
	}
	if cfg.IssuerRetryMin > 0 && cfg.IssuerRetryMax > 0 && cfg.IssuerRetryMin > cfg.IssuerRetryMax {
		errs = append(errs, fmt.Errorf("auth: issuer retry min %v exceeds max %v", cfg.IssuerRetryMin, cfg.IssuerRetryMax))
	}
	if cfg.VerifiedCacheSize > maxVerifiedCacheSize {
		errs = append(errs, fmt.Errorf("auth: verified cache size %d exceeds the limit of %d", cfg.VerifiedCacheSize, maxVerifiedCacheSize))
	}
	names := map[string]bool{}
	urls := map[string]bool{}
	for i, ic := range cfg.Issuers {
		at := fmt.Sprintf("auth: issuers[%d]", i)
		if ic.Name == "" {
			errs = append(errs, fmt.Errorf("%s: name is required", at))
		} else if names[ic.Name] {
			errs = append(errs, fmt.Errorf("%s: duplicate name %q", at, ic.Name))
		}
		names[ic.Name] = true
		if err := checkURL(ic.URL); err != nil {
			errs = append(errs, fmt.Errorf("%s: url: %w", at, err))
		} else if urls[ic.URL] {
			errs = append(errs, fmt.Errorf("%s: duplicate url %q", at, ic.URL))
		}
		urls[ic.URL] = true
		if ic.JWKSURL != "" {
			if err := checkURL(ic.JWKSURL); err != nil {
				errs = append(errs, fmt.Errorf("%s: jwks url: %w", at, err))
			}
		}
		if len(ic.Audiences) == 0 {
			errs = append(errs, fmt.Errorf("%s: at least one audience is required", at))
		}
		for _, a := range ic.Audiences {
			if a == "" {
				errs = append(errs, fmt.Errorf("%s: empty audience", at))
			}
		}
		for _, alg := range ic.Algorithms {
			if !supportedAlgs[alg] {
				errs = append(errs, fmt.Errorf("%s: algorithm %q is not supported", at, alg))
			}
		}
	}
	return errors.Join(errs...)
}

// checkURL accepts https URLs, and http only on a loopback host (tests and
// `broker dev`): keys fetched in the clear could be replaced on the way.
func checkURL(raw string) error {
	if raw == "" {
		return errors.New("is required")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("is not a valid URL")
	}
	if u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return errors.New("must be an absolute URL without user, query or fragment")
	}
	return checkScheme(u)
}

// checkScheme accepts https, and http only on a loopback host.
func checkScheme(u *url.URL) error {
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopback(u.Hostname()) {
			return nil
		}
		return errors.New("http is allowed only on a loopback host")
	default:
		return fmt.Errorf("scheme %q is not https", u.Scheme)
	}
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
