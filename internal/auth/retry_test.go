package auth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"
)

// Milliseconds on the real clock, so that the background retry runs within
// a test.
const (
	retryInterval = 20 * time.Millisecond
	retryMin      = 10 * time.Millisecond
	retryMax      = 40 * time.Millisecond
)

// newRetryVerifier builds a Verifier for ti on the real clock with
// millisecond retry delays, closed when the test ends.
func newRetryVerifier(t *testing.T, ti *testIssuer) *Verifier {
	t.Helper()
	v, err := New(t.Context(), Config{
		Issuers:             []IssuerConfig{ti.config("github")},
		JWKSRefetchInterval: retryInterval,
		IssuerRetryMin:      retryMin,
		IssuerRetryMax:      retryMax,
		Log:                 zaptest.NewLogger(t),
	})
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	t.Cleanup(v.Close)
	return v
}

// eventually reports whether cond became true within five seconds.
func eventually(cond func() bool) bool {
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(time.Millisecond)
	}
	return true
}

// TestIssuerRetryInBackground: an issuer down at New becomes ready once it is
// back, with no token for it ever verified (Kubernetes sends no traffic to
// a pod that is not ready), and then the retry stops.
func TestIssuerRetryInBackground(t *testing.T) {
	key := newRSAKey(t, "k1")
	ti := newTestIssuer(t, key)
	ti.setDown(true)
	start := time.Now()
	v := newRetryVerifier(t, ti)
	if v.Ready() {
		t.Fatalf("Ready() = true with the issuer down, want false")
	}

	if !eventually(func() bool { return ti.totalRequests() >= 3 }) {
		t.Fatalf("issuer requests while down = %d after 5s, want >= 3 (background retries)", ti.totalRequests())
	}
	// One attempt (one discovery request, refused) per interval at most.
	got, limit := ti.totalRequests(), 1+int(time.Since(start)/retryInterval)
	if got > limit {
		t.Errorf("issuer requests while down = %d, want at most %d (one per interval)", got, limit)
	}

	ti.setDown(false)
	if !eventually(v.Ready) {
		t.Fatalf("Ready() = false 5s after the issuer came back, want true")
	}
	if got, want := ti.jwksRequests(), 1; got != want {
		t.Errorf("JWKS requests = %d, want %d", got, want)
	}
	// The retry's goroutine ends by itself, before any Close.
	ended := make(chan struct{})
	go func() {
		v.bg.wg.Wait()
		close(ended)
	}()
	select {
	case <-ended:
	case <-time.After(time.Second):
		t.Errorf("background retry still running 1s after Ready, want it ended")
	}
	n := ti.totalRequests()
	time.Sleep(10 * retryMax)
	if got := ti.totalRequests(); got != n {
		t.Errorf("issuer requests after ready = %d, want %d (the retry stops)", got, n)
	}
	if _, err := v.Verify(t.Context(), sign(t, key, key.kid, ti.claims(time.Now()))); err != nil {
		t.Errorf("Verify() error = %v, want nil", err)
	}
	if got := ti.totalRequests(); got != n {
		t.Errorf("issuer requests after Verify = %d, want %d", got, n)
	}
}

// TestIssuerRetrySharesRateLimit: the background retry and requests share
// the one attempt per JWKSRefetchInterval (on the injected clock), so
// together they load a down issuer no more than requests alone did.
func TestIssuerRetrySharesRateLimit(t *testing.T) {
	clock := newTestClock()
	key := newRSAKey(t, "k1")
	ti := newTestIssuer(t, key)
	ti.setDown(true)
	const wake = 5 * time.Millisecond // the longest the retry sleeps
	v, err := New(t.Context(), Config{
		Issuers:        []IssuerConfig{ti.config("github")},
		Now:            clock.Now,
		IssuerRetryMin: time.Millisecond,
		IssuerRetryMax: wake,
		Log:            zaptest.NewLogger(t),
	})
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	t.Cleanup(v.Close)
	verifyDown := func(when string) {
		t.Helper()
		_, err := v.Verify(t.Context(), sign(t, key, key.kid, ti.claims(clock.Now())))
		if got := reason(err); got != ReasonIssuerDown {
			t.Errorf("Verify() %s error = %v, want reason %q", when, err, ReasonIssuerDown)
		}
	}

	// The retry wakes every few milliseconds, but the interval has not
	// passed on the injected clock.
	time.Sleep(20 * wake)
	verifyDown("inside the first interval")
	if got, want := ti.totalRequests(), 1; got != want {
		t.Fatalf("issuer requests inside the first interval = %d, want %d (New's)", got, want)
	}

	clock.Add(DefaultJWKSRefetchInterval)
	if !eventually(func() bool { return ti.totalRequests() == 2 }) {
		t.Fatalf("issuer requests after an interval = %d, want 2 (a background attempt)", ti.totalRequests())
	}
	verifyDown("after the background attempt")
	time.Sleep(10 * wake)
	if got, want := ti.totalRequests(), 2; got != want {
		t.Errorf("issuer requests in the second interval = %d, want %d", got, want)
	}

	ti.setDown(false)
	clock.Add(DefaultJWKSRefetchInterval)
	if !eventually(v.Ready) {
		t.Fatalf("Ready() = false 5s after the issuer came back, want true")
	}
	clock.Add(DefaultJWKSRefetchInterval)
	time.Sleep(10 * wake)
	if got, want := ti.totalRequests(), 4; got != want {
		t.Errorf("issuer requests = %d, want %d (then discovery and JWKS, then none)", got, want)
	}
}

// TestVerifierClose: Close ends the background retry; it may be called
// again; Verify still retries on requests afterwards.
func TestVerifierClose(t *testing.T) {
	key := newRSAKey(t, "k1")
	ti := newTestIssuer(t, key)
	ti.setDown(true)
	v := newRetryVerifier(t, ti)
	if !eventually(func() bool { return ti.totalRequests() >= 2 }) {
		t.Fatalf("issuer requests while down = %d after 5s, want >= 2 (background retries)", ti.totalRequests())
	}

	v.Close()
	n := ti.totalRequests()
	time.Sleep(10 * retryMax)
	if got := ti.totalRequests(); got != n {
		t.Errorf("issuer requests after Close = %d, want %d", got, n)
	}
	v.Close()

	ti.setDown(false)
	time.Sleep(retryInterval)
	if v.Ready() {
		t.Fatalf("Ready() = true after Close with no Verify, want false")
	}
	if _, err := v.Verify(t.Context(), sign(t, key, key.kid, ti.claims(time.Now()))); err != nil {
		t.Errorf("Verify() after Close error = %v, want nil", err)
	}
	if !v.Ready() {
		t.Errorf("Ready() = false after Verify initialised the issuer, want true")
	}
}

// TestVerifierCloseCancelsAttempt: Close does not wait for a background
// attempt to time out (10s by default): it cancels it.
func TestVerifierCloseCancelsAttempt(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		<-r.Context().Done() // an issuer that never answers
	}))
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	v, err := New(ctx, Config{
		Issuers:             []IssuerConfig{{Name: "github", URL: srv.URL, Audiences: []string{testAudience}}},
		JWKSRefetchInterval: retryInterval,
		IssuerRetryMin:      retryMin,
		IssuerRetryMax:      retryMax,
		Log:                 zaptest.NewLogger(t),
	})
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	if !eventually(func() bool { return hits.Load() >= 2 }) {
		t.Fatalf("issuer requests = %d after 5s, want 2 (New's, then a background attempt)", hits.Load())
	}

	done := make(chan struct{})
	go func() {
		v.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatalf("Close() still waiting after 2s with an attempt in progress")
	}
}

// TestVerifyDeadlineWhileIssuerHangs: a request whose token makes the
// verifier fetch a hanging issuer's keys gives up at its own deadline,
// not at the fetch timeout (10 s); the attempt goes on without it.
func TestVerifyDeadlineWhileIssuerHangs(t *testing.T) {
	stop := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		select { // an issuer that does not answer while the test runs
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(stop) })
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	core, logs := observer.New(zap.DebugLevel)
	v, err := New(ctx, Config{
		Issuers:             []IssuerConfig{{Name: "github", URL: srv.URL, Audiences: []string{testAudience}}},
		JWKSRefetchInterval: time.Millisecond, // the request may attempt at once
		IssuerRetryMin:      time.Hour,        // the background retry stays out of the way
		IssuerRetryMax:      time.Hour,
		Log:                 zap.New(core),
	})
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	t.Cleanup(v.Close)
	time.Sleep(5 * time.Millisecond)
	now := time.Now()
	token := sign(t, newRSAKey(t, "k1"), "k1", map[string]any{
		"iss": srv.URL, "sub": testSubject, "aud": testAudience, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
	})
	reqCtx, reqCancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer reqCancel()
	start := time.Now()
	_, err = v.Verify(reqCtx, token)
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("Verify() returned after %s, want about the request's 200ms deadline", took.Round(time.Millisecond))
	}
	if reason(err) != ReasonIssuerDown {
		t.Errorf("Verify() error = %v, want reason %q", err, ReasonIssuerDown)
	}
	// The attempt goes on without the request, owned by the verifier:
	// Close cancels it and waits for it, so it has ended when Close
	// returns. New's attempt (cut by its deadline) failed; the cancelled
	// one says nothing about the issuer and is logged at debug only.
	closed := time.Now()
	v.Close()
	if took := time.Since(closed); took > 2*time.Second {
		t.Errorf("Close() took %s, want the attempt cancelled", took.Round(time.Millisecond))
	}
	if n := logs.FilterMessage("issuer unavailable").Len(); n != 1 {
		t.Errorf("issuer unavailable warnings when Close returned = %d, want 1 (New's)", n)
	}
	if n := logs.FilterMessage("issuer initialisation cancelled").Len(); n != 1 {
		t.Errorf("cancelled attempts logged when Close returned = %d, want 1 (the request's, ended)", n)
	}
}
