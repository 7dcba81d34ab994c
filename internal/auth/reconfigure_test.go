package auth

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"
)

// TestReconfigureKeepsUnchangedIssuers: a reload that adds an issuer
// fetches only that issuer; the unchanged one keeps its keys and is not
// asked again, even while it is down, so its tokens keep verifying and the
// new verifier is ready. An issuer whose configuration changed is built
// anew.
func TestReconfigureKeepsUnchangedIssuers(t *testing.T) {
	clock := newTestClock()
	keyA, keyB := newRSAKey(t, "a1"), newRSAKey(t, "b1")
	a, b := newTestIssuer(t, keyA), newTestIssuer(t, keyB)
	v := newTestVerifier(t, clock, a.config("a"))
	if got := a.totalRequests(); got != 2 {
		t.Fatalf("issuer a requests at New = %d, want 2 (discovery, JWKS)", got)
	}

	a.setDown(true)
	v2, err := v.Reconfigure(t.Context(), []IssuerConfig{a.config("a"), b.config("b")})
	if err != nil {
		t.Fatalf("Reconfigure() error = %v", err)
	}
	t.Cleanup(v2.Close)
	v.Close()
	if got := a.totalRequests(); got != 2 {
		t.Errorf("issuer a requests after Reconfigure = %d, want 2: unchanged, not asked again", got)
	}
	if got := b.totalRequests(); got != 2 {
		t.Errorf("issuer b requests after Reconfigure = %d, want 2 (discovery, JWKS)", got)
	}
	if down := v2.Unready(); len(down) != 0 {
		t.Errorf("Unready() = %v, want none: a's keys were carried over", down)
	}
	now := clock.Now()
	for _, tt := range []struct {
		token, issuer string
	}{
		{sign(t, keyA, keyA.kid, a.claims(now)), "a"},
		{sign(t, keyB, keyB.kid, b.claims(now)), "b"},
	} {
		id, err := v2.Verify(t.Context(), tt.token)
		if err != nil {
			t.Fatalf("Verify() of %s's token error = %v", tt.issuer, err)
		}
		if id.Issuer != tt.issuer {
			t.Errorf("Verify() Issuer = %q, want %q", id.Issuer, tt.issuer)
		}
	}

	// A changed issuer (another audience) is built anew: with a down, it
	// is not ready, and a's tokens wait for it.
	changed := a.config("a")
	changed.Audiences = []string{"another"}
	v3, err := v2.Reconfigure(t.Context(), []IssuerConfig{changed, b.config("b")})
	if err != nil {
		t.Fatalf("Reconfigure() error = %v", err)
	}
	t.Cleanup(v3.Close)
	if got := a.totalRequests(); got != 3 {
		t.Errorf("issuer a requests after a changed Reconfigure = %d, want 3 (a refused discovery)", got)
	}
	if down := v3.Unready(); len(down) != 1 || down[0] != "a" {
		t.Errorf("Unready() = %v, want [a]", down)
	}
	if got := b.totalRequests(); got != 2 {
		t.Errorf("issuer b requests after the second Reconfigure = %d, want 2", got)
	}
}

// TestReconfigureRetriesCarriedOverIssuer: an issuer down at New and carried
// over is retried by the new verifier once the old one is closed, and
// becomes ready when it is back.
func TestReconfigureRetriesCarriedOverIssuer(t *testing.T) {
	key := newRSAKey(t, "k1")
	ti := newTestIssuer(t, key)
	ti.setDown(true)
	v := newRetryVerifier(t, ti)
	v2, err := v.Reconfigure(t.Context(), []IssuerConfig{ti.config("github")})
	if err != nil {
		t.Fatalf("Reconfigure() error = %v", err)
	}
	t.Cleanup(v2.Close)
	v.Close()
	if down := v2.Unready(); len(down) != 1 || down[0] != "github" {
		t.Fatalf("Unready() = %v, want [github]", down)
	}
	ti.setDown(false)
	if !eventually(v2.Ready) {
		t.Fatalf("Ready() = false 5s after the issuer came back, want true")
	}
	if !v.Ready() {
		t.Errorf("old verifier Ready() = false, want true: the issuer is shared")
	}
	if _, err := v2.Verify(t.Context(), sign(t, key, key.kid, ti.claims(time.Now()))); err != nil {
		t.Errorf("Verify() error = %v, want nil", err)
	}
}

// TestReconfigureKeepsSettings: the new verifier has the old one's settings
// (here the skew and the clock), only the issuers change.
func TestReconfigureKeepsSettings(t *testing.T) {
	clock := newTestClock()
	key := newRSAKey(t, "k1")
	ti := newTestIssuer(t, key)
	v, err := New(t.Context(), Config{
		Issuers: []IssuerConfig{ti.config("github")},
		Now:     clock.Now,
		Skew:    time.Second,
		Log:     zaptest.NewLogger(t),
	})
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	t.Cleanup(v.Close)
	v2, err := v.Reconfigure(t.Context(), []IssuerConfig{ti.config("github")})
	if err != nil {
		t.Fatalf("Reconfigure() error = %v", err)
	}
	t.Cleanup(v2.Close)
	c := ti.claims(clock.Now())
	c["exp"] = clock.Now().Add(-2 * time.Second).Unix() // beyond a 1s skew, within the default
	if _, err := v2.Verify(t.Context(), sign(t, key, key.kid, c)); reason(err) != ReasonExpired {
		t.Errorf("Verify() error = %v, want reason %q (the old verifier's skew)", err, ReasonExpired)
	}
	if _, err := v2.Reconfigure(t.Context(), nil); err == nil {
		t.Errorf("Reconfigure(nil) error = nil, want the configuration's error")
	}
}

// TestReconfigureCloseDoesNotCostSharedIssuer: an initialisation attempt
// of a shared issuer, started by the old verifier and cancelled by its
// Close (as a reload does), says nothing about the issuer: the new
// verifier may attempt at once, without waiting out the interval, and
// nothing is logged as a failure.
func TestReconfigureCloseDoesNotCostSharedIssuer(t *testing.T) {
	clock := newTestClock() // does not move: only the interval's first attempt is allowed
	key := newRSAKey(t, "k1")
	ti := newTestIssuer(t, key)
	ti.setDown(true)
	core, logs := observer.New(zap.WarnLevel)
	v, err := New(t.Context(), Config{Issuers: []IssuerConfig{ti.config("github")}, Now: clock.Now, Log: zap.New(core)})
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	t.Cleanup(v.Close)
	clock.Add(DefaultJWKSRefetchInterval) // New's attempt failed; the next is due
	hang := make(chan struct{})
	ti.setHang(hang)
	ti.setDown(false)
	// A request starts the attempt (on the verifier's background) and
	// gives up; the attempt hangs on the issuer.
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := v.Verify(ctx, sign(t, key, key.kid, ti.claims(clock.Now()))); reason(err) != ReasonIssuerDown {
		t.Fatalf("Verify() while the issuer hangs error = %v, want reason %q", err, ReasonIssuerDown)
	}
	v2, err := v.Reconfigure(t.Context(), []IssuerConfig{ti.config("github")})
	if err != nil {
		t.Fatalf("Reconfigure() error = %v", err)
	}
	t.Cleanup(v2.Close)
	v.Close() // cancels the hanging attempt
	close(hang)
	warned := logs.FilterMessage("issuer unavailable").Len()
	if _, err := v2.Verify(t.Context(), sign(t, key, key.kid, ti.claims(clock.Now()))); err != nil {
		t.Errorf("Verify() by the new verifier error = %v, want nil: the cancelled attempt must not cost the interval", err)
	}
	if got := logs.FilterMessage("issuer unavailable").Len(); got != warned {
		t.Errorf("issuer unavailable warnings = %d, want still %d", got, warned)
	}
}

// TestCancelledRequestsCostTheInterval: on a closed verifier (the one a
// reload replaced, with requests still running), a request's attempt runs
// on the request's own context. A client that hangs up does not give the
// attempt back: clients cancelling one request after another get the
// issuer asked once per interval, not once per request.
func TestCancelledRequestsCostTheInterval(t *testing.T) {
	clock := newTestClock() // does not move: one attempt is due, then none
	key := newRSAKey(t, "k1")
	ti := newTestIssuer(t, key)
	ti.setDown(true)
	v := newTestVerifier(t, clock, ti.config("github"))
	clock.Add(DefaultJWKSRefetchInterval)
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	ti.setHang(hang)
	ti.setDown(false)
	v.Close()
	before := ti.totalRequests()
	for range 10 {
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(20*time.Millisecond, cancel) // the client hangs up
		if _, err := v.Verify(ctx, sign(t, key, key.kid, ti.claims(clock.Now()))); reason(err) != ReasonIssuerDown {
			t.Errorf("Verify() while the issuer hangs error = %v, want reason %q", err, ReasonIssuerDown)
		}
		cancel()
	}
	if got := ti.totalRequests() - before; got != 1 {
		t.Errorf("issuer requests from 10 cancelled requests on a frozen clock = %d, want 1", got)
	}
	// The next caller is told the issuer's last real failure, not a
	// hang-up.
	_, err := v.Verify(t.Context(), sign(t, key, key.kid, ti.claims(clock.Now())))
	if reason(err) != ReasonIssuerDown || !strings.Contains(err.Error(), "503") || strings.Contains(err.Error(), "canceled") {
		t.Errorf("Verify() after the hang-ups error = %v, want issuer_unavailable with New's 503, not a cancellation", err)
	}
}
