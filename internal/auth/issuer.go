package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync/atomic"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"go.uber.org/zap"
)

// Log field keys of this package.
const (
	fieldIssuer = "issuer"
	fieldURL    = "issuer_url"
)

// issuer is one configured issuer and its verifier, built once.
type issuer struct {
	cfg       IssuerConfig
	now       func() time.Time
	discovery *http.Client // bounded bodies, safe redirects, for discovery
	keys      *http.Client // safe redirects, for the JWKS
	interval  time.Duration
	log       *zap.Logger

	// static is the allow-list known before initialisation (configured, or
	// the JWKS-URL default); nil when it comes from discovery.
	static []string

	state atomic.Pointer[issuerState] // nil until initialised
	ready chan struct{}               // closed when state is stored

	sem      chan struct{} // one initialisation at a time
	attempts *intervalGate // at most one initialisation attempt per interval
	lastErr  error         // guarded by sem
}

// issuerState is an initialised issuer. It never changes once stored.
type issuerState struct {
	verifier *oidc.IDTokenVerifier
	algs     []string
	keys     *keySet
}

func newIssuer(ic IssuerConfig, cfg Config) *issuer {
	discovery := safeRedirects(cfg.HTTPClient)
	discovery.Transport = &boundedTransport{base: cfg.HTTPClient.Transport}
	is := &issuer{
		cfg:       ic,
		now:       cfg.Now,
		discovery: discovery,
		keys:      safeRedirects(cfg.HTTPClient),
		interval:  cfg.JWKSRefetchInterval,
		attempts:  &intervalGate{now: cfg.Now, interval: cfg.JWKSRefetchInterval},
		sem:       make(chan struct{}, 1),
		ready:     make(chan struct{}),
		log:       cfg.Log.With(zap.String(fieldIssuer, ic.Name), zap.String(fieldURL, ic.URL)),
	}
	switch {
	case len(ic.Algorithms) > 0:
		is.static = slices.Clone(ic.Algorithms)
	case ic.JWKSURL != "":
		is.static = slices.Clone(defaultJWKSAlgs)
	}
	return is
}

// ensure returns the issuer's state, initialising it if it is not yet and no
// attempt was made in the last interval. ctx bounds the caller's wait, for
// another goroutine's attempt or for its own. With bg nil (New, and the
// background retry, itself a bg goroutine) the attempt runs on ctx in the
// caller's goroutine. A request passes the verifier's bg: its attempt runs
// in a bg goroutine on bg's context and goes on when the request gives up
// (under sem, bounded by the fetch timeouts and Close), so that one
// impatient request does not waste the interval's attempt; after Close it
// runs on ctx in the caller's goroutine. Requests and the
// retry share the one attempt per interval.
func (is *issuer) ensure(ctx context.Context, bg *background) (*issuerState, error) {
	if st := is.state.Load(); st != nil {
		return st, nil
	}
	select {
	case is.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("auth: issuer %s: wait for initialisation: %w", is.cfg.Name, ctx.Err())
	}
	// From here the goroutine that runs the attempt releases sem. own: ctx
	// is the owner's (New's, the verifier's background), not a request's.
	run := func(ctx context.Context, own bool) error {
		defer func() { <-is.sem }()
		if is.state.Load() != nil {
			return nil
		}
		// An issuer that is down is retried at most once per interval, so
		// that a stream of tokens for it does not become a stream of
		// requests to it.
		giveBack, ok := is.attempts.take()
		if !ok {
			return fmt.Errorf("not initialised: %w", is.lastErr)
		}
		err := is.attempt(ctx)
		switch {
		case err == nil:
		case own && errors.Is(ctx.Err(), context.Canceled):
			// Cut by its owner (the Close of a verifier that a reload
			// replaced, which may share this issuer with the new one): it
			// says nothing about the issuer, and must not cost the next
			// attempt its interval. A request's cancellation does cost
			// it: otherwise clients that hang up could make the broker
			// ask the issuer once per request.
			giveBack()
		case errors.Is(ctx.Err(), context.Canceled):
			// A request's hang-up: charged, but not the issuer's error
			// (the callers refused until the next attempt are told the
			// last real one).
		default:
			is.lastErr = err
		}
		return err
	}
	var err error
	if bg == nil {
		err = run(ctx, true)
	} else {
		done := make(chan error, 1)
		if !bg.start(func(ctx context.Context) { done <- run(ctx, true) }) {
			// Closed: nothing may outlive the call, so the request's
			// attempt runs on its own ctx, in its goroutine.
			done <- run(ctx, false)
		}
		select {
		case err = <-done:
		case <-ctx.Done():
			return nil, fmt.Errorf("auth: issuer %s: wait for initialisation: %w", is.cfg.Name, ctx.Err())
		}
	}
	if err != nil {
		return nil, fmt.Errorf("auth: issuer %s: %w", is.cfg.Name, err)
	}
	return is.state.Load(), nil
}

// attempt initialises the issuer once. The caller holds sem and records
// a failure in lastErr.
func (is *issuer) attempt(ctx context.Context) error {
	st, err := is.initialise(ctx)
	if err != nil {
		if errors.Is(ctx.Err(), context.Canceled) {
			// Not the issuer's failure (see ensure).
			is.log.Debug("issuer initialisation cancelled", zap.Error(err))
		} else {
			is.log.Warn("issuer unavailable", zap.Error(err))
		}
		return err
	}
	is.state.Store(st)
	close(is.ready) // once: state is stored once, under sem
	is.log.Info("issuer ready", zap.Strings("algorithms", st.algs))
	return nil
}

// initialise runs discovery (unless a JWKS URL is configured), fetches the
// JWKS once and builds the issuer's one verifier.
func (is *issuer) initialise(ctx context.Context) (*issuerState, error) {
	jwksURL, algs := is.cfg.JWKSURL, is.static
	if jwksURL == "" {
		// NewProvider requires the discovered issuer to equal cfg.URL exactly.
		p, err := oidc.NewProvider(oidc.ClientContext(ctx, is.discovery), is.cfg.URL)
		if err != nil {
			return nil, fmt.Errorf("discovery: %w", err)
		}
		var meta struct {
			JWKSURI string   `json:"jwks_uri"`
			Algs    []string `json:"id_token_signing_alg_values_supported"`
		}
		if err := p.Claims(&meta); err != nil {
			return nil, fmt.Errorf("discovery: %w", err)
		}
		if err := checkURL(meta.JWKSURI); err != nil {
			return nil, fmt.Errorf("discovery: jwks_uri %w", err)
		}
		jwksURL = meta.JWKSURI
		if algs == nil {
			algs = discoveredAlgs(meta.Algs)
		}
	}
	// The first fetch of a key set is always allowed; initialisation
	// attempts are themselves limited to one per interval.
	ks := newKeySet(jwksURL, is.keys, is.now, is.interval, algs, is.log)
	if _, err := ks.fetch(ctx, nil); err != nil {
		return nil, err
	}
	v := oidc.NewVerifier(is.cfg.URL, ks, &oidc.Config{
		SupportedSigningAlgs: algs,
		// We check aud ourselves against the issuer's list of audiences,
		// as oauth2-proxy does, to return a typed reason.
		SkipClientIDCheck: true,
		// We check exp, nbf and iat ourselves with a bounded leeway: go-oidc
		// has none on exp and a fixed 5 minutes on nbf (wire-facts §7.3).
		SkipExpiryCheck: true,
		Now:             is.now,
	})
	return &issuerState{verifier: v, algs: algs, keys: ks}, nil
}

// discoveredAlgs is the discovered algorithms go-oidc supports, or RS256 (the
// one algorithm OIDC Core §15.1 requires) if the document names none of them.
func discoveredAlgs(discovered []string) []string {
	var algs []string
	for _, a := range discovered {
		if supportedAlgs[a] && !slices.Contains(algs, a) {
			algs = append(algs, a)
		}
	}
	if len(algs) == 0 {
		return []string{"RS256"}
	}
	return algs
}
