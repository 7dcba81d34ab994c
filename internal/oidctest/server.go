package oidctest

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Paths served by a Server.
const (
	// DiscoveryPath is the OpenID Connect discovery document (OIDC Discovery 1.0 §4).
	DiscoveryPath = "/.well-known/openid-configuration"
	// KeysPath is the JWKS endpoint named by jwks_uri in the discovery document.
	KeysPath = "/keys"
)

const (
	defaultAddr     = "127.0.0.1:0"
	shutdownTimeout = 5 * time.Second
)

// Options configure a Server. Zero values are defaults.
type Options struct {
	// Now is the clock used for iat, nbf and exp of minted tokens. Default time.Now.
	Now func() time.Time
	// Addr is the listen address. Default "127.0.0.1:0" (a free loopback port).
	Addr string
}

// Server is an OpenID Connect issuer listening on a local address. It serves discovery and
// JWKS and mints tokens signed by the keys it publishes. All methods are safe for
// concurrent use.
type Server struct {
	now  func() time.Time
	url  string
	http *http.Server
	done chan struct{} // closed when the serve goroutine returns
	// closing is closed when Close starts, so that answers held back by
	// SetLatency end instead of holding Close up.
	closing chan struct{}

	available  atomic.Bool
	latency    atomic.Int64 // a time.Duration; see SetLatency
	discoveryN atomic.Int64
	keysN      atomic.Int64
	closeOnce  sync.Once
	keysMu     sync.RWMutex
	keys       []*signingKey // in creation order; the newest published key of an alg is its default
	strayKey   *signingKey   // never published; signs UnknownKID tokens; created on first use
}

// NewServer listens on opts.Addr and serves immediately. It starts with one RS256 key and
// one ES256 key. Call [Server.Close] to stop it.
func NewServer(opts Options) (*Server, error) {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	addr := opts.Addr
	if addr == "" {
		addr = defaultAddr
	}
	s := &Server{now: now, done: make(chan struct{}), closing: make(chan struct{})}
	s.available.Store(true)
	for _, alg := range []string{RS256, ES256} {
		if _, err := s.AddKey(alg); err != nil {
			return nil, err
		}
	}

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("oidctest: listen on %s: %w", addr, err)
	}
	s.url = "http://" + ln.Addr().String()
	s.http = &http.Server{
		Handler:           s.routes(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
		// Connection-level noise (resets, bad requests) is not ours to report.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	go func() {
		defer close(s.done)
		// Serve returns http.ErrServerClosed after Close; any other error also ends
		// serving, and clients then see connection errors, which is what they should see.
		_ = s.http.Serve(ln)
	}()
	return s, nil
}

// TB is the subset of testing.TB that [Start] uses. It is declared here so that this
// package, which also ships in the broker binary, does not import "testing".
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Cleanup(func())
}

// Start is [NewServer] for tests: it fails t on error and closes the server in t.Cleanup.
func Start(t TB, opts Options) *Server {
	t.Helper()
	s, err := NewServer(opts)
	if err != nil {
		t.Fatalf("oidctest.Start() error = %v", err)
		return nil
	}
	t.Cleanup(s.Close)
	return s
}

// URL returns the issuer URL, e.g. http://127.0.0.1:34567, without a trailing slash. It is
// also the iss claim of minted tokens, so it is what verifiers must be configured with.
func (s *Server) URL() string { return s.url }

// Close stops the server, closes its connections and waits for it to finish. It is safe
// to call more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.closing)
		ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		if err := s.http.Shutdown(ctx); err != nil {
			_ = s.http.Close()
		}
		<-s.done
	})
}

// SetAvailable sets whether the issuer is up. While it is not, every endpoint answers
// 503 Service Unavailable, as an issuer outage would.
func (s *Server) SetAvailable(ok bool) { s.available.Store(ok) }

// SetLatency makes the issuer slow: every request to [DiscoveryPath] or [KeysPath] that
// arrives after the call is answered d after it arrived, whatever the answer (an outage's
// 503 included). Zero or less, the default, answers at once. A request still waiting when
// its context ends (the client went away) or when [Server.Close] is called gets 503
// Service Unavailable at once, so no handler outlives its client or the server.
// [Server.Requests] counts a request when it arrives, before the wait.
func (s *Server) SetLatency(d time.Duration) { s.latency.Store(int64(d)) }

// Requests reports how many requests have arrived for path ([DiscoveryPath] or
// [KeysPath]) whatever their answer, including 503s during an outage. Other paths
// report 0: they are not counted, so the counters stay bounded.
func (s *Server) Requests(path string) int {
	switch path {
	case DiscoveryPath:
		return int(s.discoveryN.Load())
	case KeysPath:
		return int(s.keysN.Load())
	default:
		return 0
	}
}
