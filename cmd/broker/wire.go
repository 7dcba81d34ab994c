package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"go.uber.org/zap"

	"github.com/stsbroker/broker/internal/api"
	"github.com/stsbroker/broker/internal/auth"
	"github.com/stsbroker/broker/internal/chain"
	"github.com/stsbroker/broker/internal/config"
	"github.com/stsbroker/broker/internal/profile"
)

// broker is a running broker's parts, built from a validated config.
type broker struct {
	api      *api.Server
	cache    *chain.Cache
	cfg      *config.Config // the configuration running now
	verifier *auth.Verifier
	ambient  aws.CredentialsProvider // the broker's own credentials (SDK default chain)
	opts     options
}

// close stops background refreshes and issuer retries. Call it after the
// server stopped.
func (b *broker) close() {
	b.cache.Close()
	b.verifier.Close()
}

// options are what the caller of build may override (tests, broker dev).
type options struct {
	Now func() time.Time
	Log *zap.Logger
	// Access receives the access log, one line a request (default: Log).
	Access *zap.Logger
	Audit  *zap.Logger
	// ConfigPath and Reloads: each value on Reloads re-reads ConfigPath
	// (SIGHUP under serve). Nil Reloads: no reloads.
	ConfigPath string
	Reloads    <-chan struct{}
	// AuditErrors, if set, counts failed audit writes for /metrics.
	AuditErrors func() int64
}

// build translates cfg into the types of auth, profile and chain and wires
// them into an api.Server. It is the only place that reads config types.
func build(ctx context.Context, cfg *config.Config, o options) (*broker, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	if o.Access == nil {
		o.Access = o.Log
	}
	if o.Audit == nil {
		o.Audit = o.Log.Named("audit")
	}

	verifier, err := buildVerifier(ctx, cfg, o)
	if err != nil {
		return nil, err
	}
	built := false
	defer func() {
		if !built { // stop its background issuer retries
			verifier.Close()
		}
	}()

	profiles, err := buildProfiles(cfg)
	if err != nil {
		return nil, err
	}

	if err := checkSDKEndpoint(ctx, cfg, o.Log); err != nil {
		return nil, err
	}
	metrics := api.NewMetrics()
	if o.AuditErrors != nil {
		metrics.CountAuditWriteErrors(o.AuditErrors)
	}
	client, ambient, err := chain.NewClient(ctx, chain.ClientConfig{
		Region: cfg.AWS.Region, Endpoint: cfg.AWS.STSEndpoint, Log: o.Log.Named("aws"),
		ObserveAttempt: metrics.ObserveSTSAttempt,
	})
	if err != nil {
		return nil, err
	}
	if names := ambientProfiles(cfg); len(names) > 0 {
		warnWithoutAmbient(ctx, ambient, names, time.Duration(cfg.AWS.CallTimeout), o.Log)
	}
	runner := chain.NewRunner(chain.RunnerConfig{
		STS: client, Ambient: ambient, Now: o.Now, Observe: metrics.ObserveSTS,
		CallTimeout: time.Duration(cfg.AWS.CallTimeout),
	})
	cache, err := chain.NewCache(chain.CacheConfig{
		Runner:              runner,
		MaxEntries:          int(cfg.Cache.MaxEntries),
		RefreshBefore:       time.Duration(cfg.Cache.RefreshBefore),
		MinRemaining:        time.Duration(cfg.Cache.MinRemaining),
		MaxConcurrentChains: int(cfg.AWS.MaxConcurrentChains),
		Now:                 o.Now,
		Log:                 o.Log.Named("cache"),
	})
	if err != nil {
		return nil, err
	}
	srv, err := api.New(api.Config{
		Verifier:       verifier,
		Profiles:       profiles,
		Cache:          cache,
		Metrics:        metrics,
		Log:            o.Access.Named("http"),
		Audit:          o.Audit,
		RequestTimeout: time.Duration(cfg.Server.RequestTimeout),
		MaxInflight:    int(cfg.Server.MaxInflight),
		MaxConnections: int(cfg.Server.MaxConnections),
		MetricsOnMain:  cfg.Server.MetricsAddr == "",
		Now:            o.Now,

		RatePerIdentity:      cfg.Server.RateLimit.PerIdentity,
		RatePerIdentityBurst: int(cfg.Server.RateLimit.PerIdentityBurst),
		RateGlobal:           cfg.Server.RateLimit.Global,
		RateGlobalBurst:      int(cfg.Server.RateLimit.GlobalBurst),
	})
	if err != nil {
		cache.Close()
		return nil, err
	}
	built = true
	return &broker{api: srv, cache: cache, cfg: cfg, verifier: verifier, ambient: ambient, opts: o}, nil
}

// ambientProfiles returns the names of the profiles whose hop 1 the broker
// signs with its own credentials, sorted.
func ambientProfiles(cfg *config.Config) []string {
	var names []string
	for name, p := range cfg.Profiles {
		if p.SourceKind() == chain.Ambient {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

// warnWithoutAmbient logs a warning when the SDK's default chain finds no
// credentials for the ambient profiles: their requests fail (503) until it
// does. Start-up goes on, since on EC2 or ECS they may come a moment later,
// and the web_identity profiles need none.
func warnWithoutAmbient(ctx context.Context, p aws.CredentialsProvider, profiles []string, timeout time.Duration, log *zap.Logger) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// A check cut short by shutdown says nothing about the credentials.
	if err := chain.CheckAmbient(ctx, p); err != nil && ctx.Err() == nil {
		log.Warn("no AWS credentials for the ambient profiles; their requests fail until the broker finds some",
			zap.Strings("profiles", profiles), zap.Error(err))
	}
}

func buildVerifier(ctx context.Context, cfg *config.Config, o options) (*auth.Verifier, error) {
	return auth.New(ctx, auth.Config{Issuers: issuerConfigs(cfg), Now: o.Now, Log: o.Log.Named("auth")})
}

func issuerConfigs(cfg *config.Config) []auth.IssuerConfig {
	issuers := make([]auth.IssuerConfig, 0, len(cfg.Issuers))
	for _, is := range cfg.Issuers {
		issuers = append(issuers, auth.IssuerConfig{
			Name: is.Name, URL: is.URL, Audiences: is.Audiences, JWKSURL: is.JWKSURL, Algorithms: is.Algorithms,
		})
	}
	return issuers
}

func buildProfiles(cfg *config.Config) (*profile.Set, error) {
	names := make([]string, 0, len(cfg.Profiles))
	for name := range cfg.Profiles {
		names = append(names, name)
	}
	sort.Strings(names)
	var ps []*profile.Profile
	for _, name := range names {
		pc := cfg.Profiles[name]
		hops := make([]profile.HopConfig, 0, len(pc.Chain))
		for _, h := range pc.Chain {
			hops = append(hops, profile.HopConfig{
				RoleARN:           h.RoleARN,
				ExternalID:        h.ExternalID,
				Duration:          time.Duration(h.Duration),
				SessionTags:       h.SessionTags,
				TransitiveTagKeys: h.TransitiveTagKeys,
				PolicyARNs:        h.PolicyARNs,
				Policy:            h.Policy,
			})
		}
		p, err := profile.New(profile.Config{
			Name:           name,
			Issuer:         pc.Issuer,
			Source:         pc.SourceKind(),
			Conditions:     auth.Conditions{StringEquals: toLists(pc.Conditions.StringEquals), StringLike: toLists(pc.Conditions.StringLike)},
			SessionName:    pc.SessionName,
			SourceIdentity: pc.SourceIdentity,
			Chain:          hops,
		})
		if err != nil {
			return nil, fmt.Errorf("profiles.%s: %w", name, err)
		}
		ps = append(ps, p)
	}
	return profile.NewSet(ps...)
}

func toLists(m map[string]config.StringList) map[string][]string {
	if m == nil {
		return nil
	}
	out := make(map[string][]string, len(m))
	for k, v := range m {
		out[k] = []string(v)
	}
	return out
}

// listen opens the main listener (and the metrics one) before serving, so
// an address in use fails start-up with a clear error.
func listen(cfg *config.Config) (api.Listeners, error) {
	var ls api.Listeners
	ln, err := net.Listen("tcp", cfg.Server.Addr)
	if err != nil {
		return ls, fmt.Errorf("listen on server.addr: %w", err)
	}
	ls.Main = ln
	if cfg.Server.MetricsAddr != "" {
		mln, err := net.Listen("tcp", cfg.Server.MetricsAddr)
		if err != nil {
			ln.Close()
			return ls, fmt.Errorf("listen on server.metrics_addr: %w", err)
		}
		ls.Metrics = mln
	}
	if cfg.Server.TLS != nil {
		tc, err := tlsConfig(cfg.Server.TLS)
		if err != nil {
			closeListeners(ls)
			return api.Listeners{}, err
		}
		ls.TLS = tc
	}
	return ls, nil
}

func tlsConfig(t *config.TLS) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("server.tls: %w", err)
	}
	tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if t.ClientCAFile != "" {
		pem, err := os.ReadFile(t.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("server.tls.client_ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, errors.New("server.tls.client_ca_file: no PEM certificate found")
		}
		tc.ClientCAs = pool
		tc.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return tc, nil
}

func closeListeners(ls api.Listeners) {
	if ls.Main != nil {
		ls.Main.Close()
	}
	if ls.Metrics != nil {
		ls.Metrics.Close()
	}
}

// checkSDKEndpoint holds an STS endpoint that the AWS SDK takes from its
// own configuration (AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL, endpoint_url
// in the shared config) to aws.sts_endpoint's rule (https unless
// loopback, an AWS regional name in aws.region), and logs it. It matters
// when aws.sts_endpoint is not set (every call goes there, each carrying a
// caller's token or an ExternalId) and when ambient profiles exist (the
// SDK's credential chain sends the broker's own web identity token there
// whatever aws.sts_endpoint says). broker dev's env file exports such a
// variable, so an export left in the broker's environment would otherwise
// move STS unseen.
func checkSDKEndpoint(ctx context.Context, cfg *config.Config, log *zap.Logger) error {
	ambient := len(ambientProfiles(cfg)) > 0
	if cfg.AWS.STSEndpoint != "" && !ambient {
		return nil
	}
	ep, err := chain.SDKEndpoint(ctx, cfg.AWS.Region)
	if err != nil || ep == "" {
		return err
	}
	if err := config.CheckSTSEndpoint(ep, cfg.AWS.Region); err != nil {
		return fmt.Errorf("the AWS SDK's configuration (AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL or endpoint_url in the shared config) sets an STS endpoint it cannot use (%w); unset it, or set aws.sts_endpoint", err)
	}
	used := "every STS call"
	if cfg.AWS.STSEndpoint != "" {
		used = "the broker's own credentials (ambient profiles)"
	}
	if u, err := url.Parse(ep); err == nil {
		ep = u.Redacted()
	}
	log.Warn("STS endpoint taken from the AWS SDK's configuration, not aws.sts_endpoint", zap.String("sts_endpoint", ep), zap.String("used_for", used))
	return nil
}
