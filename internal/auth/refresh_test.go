package auth

import (
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"
)

// TestKeysRefreshedWithoutUnknownKid: a key the issuer withdraws stops
// verifying within about JWKSMaxAge even though no token ever carries an
// unknown kid (the only other refetch): tokens signed with it, including
// one verified before and remembered, are refused, while tokens of the
// remaining key verify. While the issuer is down the installed keys stay in
// use and the failed fetch is logged; Close stops the fetches.
func TestKeysRefreshedWithoutUnknownKid(t *testing.T) {
	k1, k2 := newRSAKey(t, "k1"), newRSAKey(t, "k2")
	ti := newTestIssuer(t, k1, k2)
	core, logs := observer.New(zap.WarnLevel)
	const maxAge = 30 * time.Millisecond
	v, err := New(t.Context(), Config{
		Issuers:             []IssuerConfig{ti.config("github")},
		JWKSRefetchInterval: retryInterval,
		JWKSMaxAge:          maxAge,
		Log:                 zap.New(core),
	})
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	t.Cleanup(v.Close)
	verify := func(key testKey) error {
		t.Helper()
		_, err := v.Verify(t.Context(), sign(t, key, key.kid, ti.claims(time.Now())))
		return err
	}
	remembered := sign(t, k2, k2.kid, ti.claims(time.Now()))
	if _, err := v.Verify(t.Context(), remembered); err != nil {
		t.Fatalf("Verify() of a k2 token error = %v", err)
	}

	ti.setKeys(k1) // k2 withdrawn
	start := time.Now()
	if !eventually(func() bool { return reason(verify(k2)) == ReasonSignature }) {
		t.Fatalf("a token signed with the withdrawn key still verifies 5s later, want refused within about %v", maxAge)
	}
	t.Logf("withdrawn key refused after %v", time.Since(start))
	if _, err := v.Verify(t.Context(), remembered); reason(err) != ReasonSignature {
		t.Errorf("Verify() of the remembered k2 token error = %v, want reason %q", err, ReasonSignature)
	}
	if err := verify(k1); err != nil {
		t.Errorf("Verify() of a k1 token error = %v, want nil", err)
	}

	ti.setDown(true)
	const msg = "issuer keys not refreshed; the installed ones stay in use"
	if !eventually(func() bool { return logs.FilterMessage(msg).Len() > 0 }) {
		t.Fatalf("no warning %q 5s after the issuer went down", msg)
	}
	if err := verify(k1); err != nil {
		t.Errorf("Verify() of a k1 token while the issuer is down error = %v, want nil (the installed keys)", err)
	}

	v.Close()
	n := ti.jwksRequests()
	time.Sleep(5 * maxAge)
	if got := ti.jwksRequests(); got != n {
		t.Errorf("JWKS requests after Close = %d, want still %d", got, n)
	}
}

// TestRefreshNotPostponedByReloads: the key set's age decides when it is
// fetched, not when a verifier started, so reloads (each a new verifier
// sharing the unchanged issuer) coming more often than JWKSMaxAge do not
// keep a withdrawn key verifying.
func TestRefreshNotPostponedByReloads(t *testing.T) {
	k1, k2 := newRSAKey(t, "k1"), newRSAKey(t, "k2")
	ti := newTestIssuer(t, k1, k2)
	const maxAge = 300 * time.Millisecond
	v, err := New(t.Context(), Config{
		Issuers:             []IssuerConfig{ti.config("github")},
		JWKSRefetchInterval: time.Hour, // no refetch on a miss: only the refresh fetches
		JWKSMaxAge:          maxAge,
		Log:                 zaptest.NewLogger(t),
	})
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	t.Cleanup(func() { v.Close() })
	ti.setKeys(k1) // k2 withdrawn
	deadline := time.Now().Add(5 * maxAge)
	for time.Now().Before(deadline) {
		next, err := v.Reconfigure(t.Context(), []IssuerConfig{ti.config("github")})
		if err != nil {
			t.Fatalf("Reconfigure() error = %v", err)
		}
		v.Close()
		v = next
		time.Sleep(maxAge / 2)
	}
	if _, err := v.Verify(t.Context(), sign(t, k2, k2.kid, ti.claims(time.Now()))); reason(err) != ReasonSignature {
		t.Errorf("Verify() of a withdrawn key's token after reloads every %v for %v = %v, want reason %q",
			maxAge/2, 5*maxAge, err, ReasonSignature)
	}
	if got := ti.jwksRequests(); got < 2 {
		t.Errorf("JWKS requests = %d, want at least 2 (the first, then a refresh)", got)
	}
}

// TestRefreshLeavesRefetchForRotation: a scheduled refresh does not use up
// the one refetch per JWKSRefetchInterval that a token with a new kid may
// make, so a rotation right after a refresh is picked up at once.
func TestRefreshLeavesRefetchForRotation(t *testing.T) {
	k1, k2 := newRSAKey(t, "k1"), newRSAKey(t, "k2")
	ti := newTestIssuer(t, k1)
	const interval, maxAge = 100 * time.Millisecond, 200 * time.Millisecond
	v, err := New(t.Context(), Config{
		Issuers:             []IssuerConfig{ti.config("github")},
		JWKSRefetchInterval: interval,
		JWKSMaxAge:          maxAge,
		Log:                 zaptest.NewLogger(t),
	})
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	t.Cleanup(v.Close)
	// Right after a scheduled refresh (and more than an interval after the
	// first fetch), the issuer rotates.
	if !eventually(func() bool { return ti.jwksRequests() >= 2 }) {
		t.Fatalf("JWKS requests = %d after 5s, want a scheduled refresh", ti.jwksRequests())
	}
	ti.setKeys(k1, k2)
	if _, err := v.Verify(t.Context(), sign(t, k2, k2.kid, ti.claims(time.Now()))); err != nil {
		t.Errorf("Verify() of the new key's token right after a refresh error = %v, want nil (a refetch)", err)
	}
}

// TestMissDuringRefreshUsesItsKeys: a token with a new kid that arrives
// while a scheduled refresh is fetching waits for it and is verified with
// the keys it installed, without a fetch of its own (which would also use
// up the interval's one refetch).
func TestMissDuringRefreshUsesItsKeys(t *testing.T) {
	k1, k2 := newRSAKey(t, "k1"), newRSAKey(t, "k2")
	ti := newTestIssuer(t, k1)
	v, err := New(t.Context(), Config{
		Issuers:             []IssuerConfig{ti.config("github")},
		JWKSRefetchInterval: 10 * time.Millisecond,
		JWKSMaxAge:          200 * time.Millisecond,
		Log:                 zaptest.NewLogger(t),
	})
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	t.Cleanup(v.Close)
	hang := make(chan struct{})
	ti.setHang(hang)
	if !eventually(func() bool { return ti.jwksRequests() == 2 }) {
		t.Fatalf("JWKS requests = %d after 5s, want a scheduled refresh under way", ti.jwksRequests())
	}
	ti.setKeys(k1, k2) // the rotation the hanging refresh will see
	keys := v.issuers[0].state.Load().keys
	checked := keys.checks.Load()
	errc := make(chan error, 1)
	go func() {
		_, err := v.Verify(t.Context(), sign(t, k2, k2.kid, ti.claims(time.Now())))
		errc <- err
	}()
	// The miss has been seen (no installed key verifies it); from there it
	// goes straight to the refetch, which waits for the refresh's lock.
	if !eventually(func() bool { return keys.checks.Load() > checked }) {
		t.Fatalf("the token never reached the key set")
	}
	time.Sleep(20 * time.Millisecond)
	ti.setHang(nil)
	close(hang)
	if err := <-errc; err != nil {
		t.Fatalf("Verify() of the new key's token error = %v, want nil", err)
	}
	if got := ti.jwksRequests(); got != 2 {
		t.Errorf("JWKS requests = %d, want 2: the miss used the refresh's keys", got)
	}
}
