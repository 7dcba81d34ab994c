package api

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
	"golang.org/x/time/rate"

	"github.com/stsbroker/broker/internal/auth"
	"github.com/stsbroker/broker/internal/chain"
	"github.com/stsbroker/broker/internal/profile"
)

// Config configures a Server. Verifier, Profiles and Cache are required; zero
// values of the rest get defaults.
type Config struct {
	Verifier *auth.Verifier
	Profiles *profile.Set
	Cache    *chain.Cache
	// Metrics defaults to NewMetrics(). Pass the one whose ObserveSTS feeds
	// the chain runner so both land on one registry.
	Metrics *Metrics
	// Log receives one access-log line per request (default: nop).
	Log *zap.Logger
	// Audit receives one line per issuance and per refusal (default: Log.Named("audit")).
	Audit *zap.Logger
	// RequestTimeout bounds a credentials request, STS calls included (default 15s).
	RequestTimeout time.Duration
	// MaxTokenBytes is the largest Authorization value accepted (default 16 KiB).
	MaxTokenBytes int
	// MaxInflight bounds concurrent requests that verify a token:
	// credentials, container and profiles (default 1024).
	MaxInflight int
	// MaxConnections bounds the open connections of the main listener
	// (default 4096, about 16 KiB each while idle); see [connLimiter].
	// Requests bound only the work: a connection kept alive by one request
	// every idle timeout (90 s) costs memory without any limit seeing it.
	MaxConnections int
	// RatePerIdentity is the sustained requests per second one caller
	// identity (issuer and sub) may make on /v1, with a bucket of
	// RatePerIdentityBurst (at least 1). 0 disables the limit.
	RatePerIdentity      float64
	RatePerIdentityBurst int
	// RateGlobal is the sustained requests per second of the whole broker on
	// /v1, counted before token verification, with a bucket of
	// RateGlobalBurst (at least 1). 0 disables the limit.
	RateGlobal      float64
	RateGlobalBurst int
	// MetricsOnMain serves /metrics on the main listener (set when no
	// separate metrics listener is configured).
	MetricsOnMain bool
	Now           func() time.Time
}

// Server is the broker's HTTP front end.
type Server struct {
	cfg          Config
	log          *zap.Logger
	audit        *zap.Logger
	metrics      *Metrics
	now          func() time.Time
	inflight     chan struct{}
	conns        atomic.Int64      // open connections of the main listener
	metricsConns atomic.Int64      // open connections of the metrics listener
	global       *rate.Limiter     // nil: no global limit
	perIdentity  *identityLimiters // nil: no per-identity limit
	// current is what a reload replaces. A request loads it once, so it sees
	// one consistent verifier and profile set from start to end.
	current atomic.Pointer[state]
}

// state is the part of the configuration [Server.Reload] swaps.
type state struct {
	verifier *auth.Verifier
	profiles *profile.Set
}

// New checks cfg and fills its defaults.
func New(cfg Config) (*Server, error) {
	if cfg.Verifier == nil || cfg.Profiles == nil || cfg.Cache == nil {
		return nil, errors.New("api: Verifier, Profiles and Cache are required")
	}
	if cfg.Log == nil {
		cfg.Log = zap.NewNop()
	}
	if cfg.Audit == nil {
		cfg.Audit = cfg.Log.Named("audit")
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics()
	}
	if cfg.RatePerIdentity < 0 || cfg.RateGlobal < 0 {
		return nil, errors.New("api: rate limits must not be negative (0 disables them)")
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 15 * time.Second
	}
	if cfg.MaxTokenBytes <= 0 {
		cfg.MaxTokenBytes = 16 << 10
	}
	if cfg.MaxInflight <= 0 {
		cfg.MaxInflight = 1024
	}
	if cfg.MaxConnections <= 0 {
		cfg.MaxConnections = 4096
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.Metrics.cacheEntriesFn = cfg.Cache.Len
	// current holds the verifier and the profiles; cfg must not, or the
	// first configuration's profiles (ExternalIds included) would outlive
	// every reload.
	first := &state{verifier: cfg.Verifier, profiles: cfg.Profiles}
	cfg.Verifier, cfg.Profiles = nil, nil
	s := &Server{
		cfg:         cfg,
		log:         cfg.Log,
		audit:       cfg.Audit,
		metrics:     cfg.Metrics,
		now:         cfg.Now,
		inflight:    make(chan struct{}, cfg.MaxInflight),
		global:      newLimiter(cfg.RateGlobal, cfg.RateGlobalBurst),
		perIdentity: newIdentityLimiters(cfg.RatePerIdentity, cfg.RatePerIdentityBurst, maxLimitedIdentities),
	}
	s.current.Store(first)
	cfg.Metrics.connsOpenFn = s.conns.Load
	return s, nil
}

// Reload atomically replaces the verifier and the profiles; requests already
// running finish with the ones they started with. The cache is kept: entries
// of profiles whose rendered chain did not change keep their key and survive.
//
// The identities of verified tokens carry the plans prepared from the old
// profiles (Profile.Prepare), which would keep the old profiles, ExternalIds
// included, in memory for as long as the tokens stay cached. So the old
// profiles are retired (requests still running with them keep nothing new),
// and then a verifier kept across the reload forgets its verified tokens;
// each token is verified once more.
func (s *Server) Reload(v *auth.Verifier, p *profile.Set) error {
	if v == nil || p == nil {
		return errors.New("api: reload needs a verifier and profiles")
	}
	old := s.current.Swap(&state{verifier: v, profiles: p})
	old.profiles.Retire(p)
	if old.verifier == v {
		v.Forget()
	}
	return nil
}

// Handler returns the routes of design.md's HTTP API.
func (s *Server) Handler() http.Handler {
	r := chi.NewRouter()
	r.Use(s.observe)
	r.NotFound(s.handle(func(http.ResponseWriter, *http.Request) error {
		return &apiError{Status: http.StatusNotFound, Code: codeNotFound, Message: "no such path"}
	}))
	r.MethodNotAllowed(s.handle(func(w http.ResponseWriter, r *http.Request) error {
		// chi's own handler would say which methods the path takes; a
		// replacement has to (RFC 9110 §15.5.6).
		allow := "GET"
		if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" {
			allow = "GET, HEAD"
		}
		w.Header().Set("Allow", allow)
		return &apiError{Status: http.StatusMethodNotAllowed, Code: codeMethodNotAllowed, Message: "method not allowed; this path takes " + allow}
	}))

	// HEAD too: some load balancers' health checks use it.
	r.Get("/healthz", s.handleHealthz)
	r.Head("/healthz", s.handleHealthz)
	r.Get("/readyz", s.handleReadyz)
	r.Head("/readyz", s.handleReadyz)
	if s.cfg.MetricsOnMain {
		r.Handle("/metrics", s.MetricsHandler())
	}
	// The global limit is per route, not r.Use, so that the route is
	// resolved and its metrics label is the route's pattern.
	r.Route("/v1", func(r chi.Router) {
		r.With(s.limitGlobal, s.limitInflight).Get("/credentials/{profile}", s.handle(s.handleCredentials))
		r.With(s.limitGlobal, s.limitInflight).Get("/container/{profile}", s.handle(s.handleContainer))
		r.With(s.limitGlobal, s.limitInflight).Get("/profiles", s.handle(s.handleProfiles))
	})
	return r
}

// MetricsHandler serves the Prometheus text format.
func (s *Server) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{})
}

// handle adapts a handler that returns an error; writeError is the only place
// that turns an error into a status.
func (s *Server) handle(h func(http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	}
}

func (s *Server) handleHealthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

// handleReadyz answers 503 until the issuers' keys are fetched. While STS
// fails it still answers 200, saying so: the broker keeps serving cached
// credentials, so a load balancer should keep it in rotation.
func (s *Server) handleReadyz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if down := s.current.Load().verifier.Unready(); len(down) > 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = fmt.Fprintf(w, "not ready: issuer keys not fetched yet (%s)\n", strings.Join(down, ", "))
		return
	}
	if degraded, since := s.cfg.Cache.Degraded(); degraded {
		_, _ = fmt.Fprintf(w, "ready (degraded: STS failing since %s; serving cached credentials)\n", since.UTC().Format(time.RFC3339))
		return
	}
	_, _ = w.Write([]byte("ready\n"))
}

// Listeners are what Run serves on. Listening is the caller's job so that
// errors surface before start-up completes and ":0" works in tests.
type Listeners struct {
	Main    net.Listener
	Metrics net.Listener // optional
	TLS     *tls.Config  // optional; wraps Main
}

// Run serves until ctx is done, then shuts down gracefully: the listeners
// close at once and in-flight requests get up to [Server.shutdownGrace] to
// finish.
func (s *Server) Run(ctx context.Context, ls Listeners) error {
	main := s.httpServer(s.Handler())
	servers := []*http.Server{main}
	errc := make(chan error, 2)
	// Under TLS, so that a refused connection costs no handshake.
	var ln net.Listener = s.limitConns(ls.Main, main)
	if ls.TLS != nil {
		ln = tls.NewListener(ln, ls.TLS)
	}
	go func() { errc <- main.Serve(ln) }()
	if ls.Metrics != nil {
		ms := s.httpServer(s.MetricsHandler())
		servers = append(servers, ms)
		go func() { errc <- ms.Serve(s.limitMetricsConns(ls.Metrics, ms)) }()
	}

	var err error
	select {
	case err = <-errc:
		err = fmt.Errorf("api: serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.shutdownGrace())
	defer cancel()
	for _, srv := range servers {
		if serr := srv.Shutdown(shutdownCtx); serr != nil && err == nil {
			err = fmt.Errorf("api: shutdown: %w", serr)
		}
	}
	return err
}

// shutdownGrace is how long Run waits for in-flight requests once ctx is
// done: the request timeout plus 5 seconds (the write timeout), so that a
// credentials request that started just before shutdown can finish. A
// supervisor's stop timeout (Kubernetes terminationGracePeriodSeconds,
// systemd TimeoutStopSec) must be longer.
func (s *Server) shutdownGrace() time.Duration { return s.cfg.RequestTimeout + 5*time.Second }

func (s *Server) httpServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      s.cfg.RequestTimeout + 5*time.Second,
		IdleTimeout:       90 * time.Second,
		// A token is at most MaxTokenBytes; leave room for the other headers.
		MaxHeaderBytes: s.cfg.MaxTokenBytes + 8<<10,
		ErrorLog:       zap.NewStdLog(s.log.Named("http")),
	}
}
