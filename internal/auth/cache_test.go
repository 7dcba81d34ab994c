package auth

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/zap/zaptest"
)

// newCachedVerifier builds a Verifier on clock with the given cache size and
// skew (0 means the defaults).
func newCachedVerifier(t testing.TB, clock *testClock, size int, skew time.Duration, issuers ...IssuerConfig) *Verifier {
	t.Helper()
	v, err := New(t.Context(), Config{
		Issuers:           issuers,
		Now:               clock.Now,
		Skew:              skew,
		VerifiedCacheSize: size,
		Log:               zaptest.NewLogger(t),
	})
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	if !v.Ready() {
		t.Fatalf("Ready() = false, want true")
	}
	return v
}

// signatureChecks is the number of signature checks the issuer's key set
// has done for real tokens.
func signatureChecks(t testing.TB, v *Verifier, name string) uint64 {
	t.Helper()
	st := v.byName[name].state.Load()
	if st == nil {
		t.Fatalf("issuer %q is not initialised", name)
	}
	return st.keys.checks.Load()
}

// cacheLen is the number of cached tokens, 0 without a cache.
func cacheLen(v *Verifier) int {
	if v.cache == nil {
		return 0
	}
	return v.cache.len()
}

func TestVerifiedCacheHit(t *testing.T) {
	clock := newTestClock()
	key := newRSAKey(t, "k1")
	ti := newTestIssuer(t, key)
	v := newCachedVerifier(t, clock, 0, 0, ti.config("github"))
	if got, want := v.cfg.VerifiedCacheSize, DefaultVerifiedCacheSize; got != want {
		t.Errorf("VerifiedCacheSize = %d, want default %d", got, want)
	}
	token := sign(t, key, key.kid, ti.claims(clock.Now()))

	first, err := v.Verify(t.Context(), token)
	if err != nil {
		t.Fatalf("Verify() first error = %v, want nil", err)
	}
	if got, want := signatureChecks(t, v, "github"), uint64(1); got != want {
		t.Fatalf("signature checks after first Verify = %d, want %d", got, want)
	}
	requests := ti.totalRequests()
	for i := range 5 {
		clock.Add(time.Second)
		got, err := v.Verify(t.Context(), token)
		if err != nil {
			t.Fatalf("Verify() repeat %d error = %v, want nil", i, err)
		}
		if got != first {
			t.Errorf("Verify() repeat %d = %p, want the cached identity %p", i, got, first)
		}
	}
	if got, want := signatureChecks(t, v, "github"), uint64(1); got != want {
		t.Errorf("signature checks after 5 repeats = %d, want %d (no re-verification)", got, want)
	}
	if got, want := cacheLen(v), 1; got != want {
		t.Errorf("cache entries = %d, want %d", got, want)
	}
	if got := ti.totalRequests() - requests; got != 0 {
		t.Errorf("issuer requests during hits = %d, want 0", got)
	}
}

// TestVerifiedCacheLifetime: a hit checks exp, nbf and iat exactly as full
// verification does at the same instant, and a failing entry is dropped.
func TestVerifiedCacheLifetime(t *testing.T) {
	key := newRSAKey(t, "k1")
	ti := newTestIssuer(t, key)
	const skew = 10 * time.Second
	// ti.claims: iat = t0, nbf = t0 - 1m, exp = t0 + 5m.
	tests := []struct {
		name    string
		advance time.Duration // from t0, after the first (full) verification
		want    string        // "" means accepted
	}{
		{name: "before-exp", advance: 4 * time.Minute},
		{name: "at-exp", advance: 5 * time.Minute},
		{name: "at-exp-plus-skew", advance: 5*time.Minute + skew},
		{name: "one-second-beyond-exp-plus-skew", advance: 5*time.Minute + skew + time.Second, want: ReasonExpired},
		{name: "long-expired", advance: 24 * time.Hour, want: ReasonExpired},
		{name: "clock-back-within-skew", advance: -skew},
		{name: "clock-back-beyond-skew-of-iat", advance: -skew - time.Second, want: ReasonNotYetValid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newTestClock()
			token := sign(t, key, key.kid, ti.claims(clock.Now()))
			v := newCachedVerifier(t, clock, 0, skew, ti.config("github"))
			if _, err := v.Verify(t.Context(), token); err != nil {
				t.Fatalf("Verify() at t0 error = %v, want nil", err)
			}

			clock.Add(tt.advance)
			id, err := v.Verify(t.Context(), token)
			if got := reason(err); got != tt.want {
				t.Fatalf("Verify() cached error = %v (reason %q), want reason %q", err, got, tt.want)
			}
			if tt.want != "" && id != nil {
				t.Errorf("Verify() cached identity = %+v, want nil", id)
			}
			if got, want := signatureChecks(t, v, "github"), uint64(1); got != want {
				t.Errorf("signature checks = %d, want %d (the hit is judged from the cache)", got, want)
			}
			wantLen := 1
			if tt.want != "" {
				wantLen = 0
			}
			if got := cacheLen(v); got != wantLen {
				t.Errorf("cache entries = %d, want %d", got, wantLen)
			}

			// The same instant without a cache gives the same verdict.
			uncached := newCachedVerifier(t, clock, -1, skew, ti.config("github"))
			_, err = uncached.Verify(t.Context(), token)
			if got := reason(err); got != tt.want {
				t.Errorf("Verify() uncached error = %v (reason %q), want reason %q", err, got, tt.want)
			}
		})
	}
}

// TestVerifiedCacheKeyRotation: once a JWKS refetch has dropped the signing
// key, a cached token is verified again, and fails.
func TestVerifiedCacheKeyRotation(t *testing.T) {
	clock := newTestClock()
	oldKey := newRSAKey(t, "old")
	newKey := newRSAKey(t, "new")
	keptKey := newRSAKey(t, "kept")
	ti := newTestIssuer(t, oldKey, keptKey)
	v := newCachedVerifier(t, clock, 0, 0, ti.config("github"))
	now := clock.Now()
	oldToken := sign(t, oldKey, oldKey.kid, ti.claims(now))
	keptToken := sign(t, keptKey, keptKey.kid, ti.claims(now))
	for _, tok := range []string{oldToken, keptToken, oldToken, keptToken} {
		if _, err := v.Verify(t.Context(), tok); err != nil {
			t.Fatalf("Verify() before rotation error = %v, want nil", err)
		}
	}
	if got, want := signatureChecks(t, v, "github"), uint64(2); got != want {
		t.Fatalf("signature checks before rotation = %d, want %d", got, want)
	}

	// The issuer retires the old key. Until we refetch, the old key is still
	// in our key set, so full verification would accept the token too.
	ti.setKeys(newKey, keptKey)
	if _, err := v.Verify(t.Context(), oldToken); err != nil {
		t.Fatalf("Verify() old token before refetch error = %v, want nil", err)
	}

	clock.Add(DefaultJWKSRefetchInterval)
	jwks := ti.jwksRequests()
	if _, err := v.Verify(t.Context(), sign(t, newKey, newKey.kid, ti.claims(clock.Now()))); err != nil {
		t.Fatalf("Verify() new kid error = %v, want nil", err)
	}
	if got, want := ti.jwksRequests()-jwks, 1; got != want {
		t.Fatalf("JWKS refetches = %d, want %d", got, want)
	}
	// The fetch installed the new keys before it returned: a fresh token of
	// the retired key is refused at once, and the refused token is not
	// cached.
	entries := cacheLen(v)
	_, err := v.Verify(t.Context(), sign(t, oldKey, oldKey.kid, ti.claims(clock.Now())))
	if got := reason(err); got != ReasonSignature {
		t.Errorf("Verify() fresh token of the retired key error = %v, want reason %q", err, ReasonSignature)
	}
	if got := cacheLen(v); got != entries {
		t.Errorf("cache entries after a token of the retired key = %d, want %d", got, entries)
	}
	checks := signatureChecks(t, v, "github")

	_, err = v.Verify(t.Context(), oldToken)
	if got := reason(err); got != ReasonSignature {
		t.Errorf("Verify() cached token of the retired key error = %v, want reason %q", err, ReasonSignature)
	}
	// The token of the kept key is verified again once, then cached again.
	for i := range 2 {
		if _, err := v.Verify(t.Context(), keptToken); err != nil {
			t.Errorf("Verify() kept-key token %d error = %v, want nil", i, err)
		}
	}
	if got, want := signatureChecks(t, v, "github")-checks, uint64(2); got != want {
		t.Errorf("signature checks after the refetch = %d, want %d (retired once, kept once)", got, want)
	}
	// The retired token stays rejected: a failure is never cached.
	_, err = v.Verify(t.Context(), oldToken)
	if got := reason(err); got != ReasonSignature {
		t.Errorf("Verify() retired token again error = %v, want reason %q", err, ReasonSignature)
	}
}

// TestVerifiedCacheKeysChangedDuringCheck: a token whose own check
// refetched the JWKS and installed new keys is verified but not cached (the
// generation moved during its check); verified again, it is cached.
func TestVerifiedCacheKeysChangedDuringCheck(t *testing.T) {
	clock := newTestClock()
	key := newRSAKey(t, "k1")
	newKey := newRSAKey(t, "k2")
	ti := newTestIssuer(t, key)
	v := newCachedVerifier(t, clock, 0, 0, ti.config("github"))
	ks := v.byName["github"].state.Load().keys
	ti.setKeys(key, newKey)
	clock.Add(DefaultJWKSRefetchInterval)
	token := sign(t, newKey, newKey.kid, ti.claims(clock.Now()))

	var got []uint64
	for i := range 3 {
		before := signatureChecks(t, v, "github")
		if _, err := v.Verify(t.Context(), token); err != nil {
			t.Fatalf("Verify() %d error = %v, want nil", i, err)
		}
		got = append(got, signatureChecks(t, v, "github")-before, uint64(cacheLen(v)))
	}
	// Per call: signature checks, then cache entries.
	want := []uint64{1, 0, 1, 1, 0, 1}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("signature checks and cache entries per Verify (-want +got):\n%s", diff)
	}
	if got, want := ks.generation(), uint64(2); got != want {
		t.Errorf("generation() = %d, want %d", got, want)
	}
	if got, want := ti.jwksRequests(), 2; got != want {
		t.Errorf("JWKS requests = %d, want %d", got, want)
	}
}

// TestVerifiedCacheUnchangedRefetch: an unknown-kid flood that refetches an
// unchanged JWKS does not invalidate the cache.
func TestVerifiedCacheUnchangedRefetch(t *testing.T) {
	clock := newTestClock()
	key := newRSAKey(t, "k1")
	ti := newTestIssuer(t, key)
	v := newCachedVerifier(t, clock, 0, 0, ti.config("github"))
	token := sign(t, key, key.kid, ti.claims(clock.Now()))
	if _, err := v.Verify(t.Context(), token); err != nil {
		t.Fatalf("Verify() error = %v, want nil", err)
	}
	clock.Add(DefaultJWKSRefetchInterval)
	jwks := ti.jwksRequests()
	_, err := v.Verify(t.Context(), sign(t, key, randomKid(t), ti.claims(clock.Now())))
	if got := reason(err); got != ReasonSignature {
		t.Fatalf("Verify() unknown kid error = %v, want reason %q", err, ReasonSignature)
	}
	if got, want := ti.jwksRequests()-jwks, 1; got != want {
		t.Fatalf("JWKS refetches = %d, want %d", got, want)
	}
	checks := signatureChecks(t, v, "github")
	if _, err := v.Verify(t.Context(), token); err != nil {
		t.Fatalf("Verify() cached token error = %v, want nil", err)
	}
	if got := signatureChecks(t, v, "github") - checks; got != 0 {
		t.Errorf("signature checks for the cached token = %d, want 0 (still cached)", got)
	}
}

// TestVerifiedCacheTampered: a token that differs from a cached one in any
// byte is verified from scratch and fails, and is not cached.
func TestVerifiedCacheTampered(t *testing.T) {
	clock := newTestClock()
	key := newRSAKey(t, "k1")
	ti := newTestIssuer(t, key)
	v := newCachedVerifier(t, clock, 0, 0, ti.config("github"))
	token := sign(t, key, key.kid, ti.claims(clock.Now()))
	if _, err := v.Verify(t.Context(), token); err != nil {
		t.Fatalf("Verify() error = %v, want nil", err)
	}
	parts := strings.Split(token, ".")
	claims := ti.claims(clock.Now())
	claims["sub"] = "repo:evil/app:ref:refs/heads/main"
	enc := func(v any) string { return encodeSegment(t, v) }

	tests := []struct {
		name       string
		token      string
		want       string
		wantChecks uint64 // signature checks the variant costs
	}{
		{name: "payload-replaced", token: parts[0] + "." + enc(claims) + "." + parts[2], want: ReasonSignature, wantChecks: 1},
		{name: "signature-first-char-changed", token: parts[0] + "." + parts[1] + "." + flipFirst(parts[2]), want: ReasonSignature, wantChecks: 1},
		{name: "header-first-char-changed", token: flipFirst(parts[0]) + "." + parts[1] + "." + parts[2], want: ReasonMalformed},
		{name: "trailing-byte", token: token + "A", want: ReasonSignature, wantChecks: 1},
		{name: "signature-dropped", token: parts[0] + "." + parts[1] + ".", want: ReasonSignature, wantChecks: 1},
		{name: "trailing-dot", token: token + ".", want: ReasonMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := signatureChecks(t, v, "github")
			id, err := v.Verify(t.Context(), tt.token)
			if got := reason(err); got != tt.want {
				t.Fatalf("Verify() error = %v (reason %q), want reason %q", err, got, tt.want)
			}
			if id != nil {
				t.Errorf("Verify() identity = %+v, want nil", id)
			}
			if got := signatureChecks(t, v, "github") - before; got != tt.wantChecks {
				t.Errorf("signature checks = %d, want %d", got, tt.wantChecks)
			}
			if got, want := cacheLen(v), 1; got != want {
				t.Errorf("cache entries = %d, want %d", got, want)
			}
		})
	}
	before := signatureChecks(t, v, "github")
	if _, err := v.Verify(t.Context(), token); err != nil {
		t.Fatalf("Verify() original error = %v, want nil", err)
	}
	if got := signatureChecks(t, v, "github") - before; got != 0 {
		t.Errorf("signature checks for the original = %d, want 0 (still cached)", got)
	}
}

// flipFirst changes the first character of a base64url segment, which
// changes its first decoded byte.
func flipFirst(seg string) string {
	c := byte('A')
	if seg[0] == 'A' {
		c = 'B'
	}
	return string(c) + seg[1:]
}

func encodeSegment(t testing.TB, v any) string {
	t.Helper()
	return base64.RawURLEncoding.EncodeToString(mustJSON(t, v))
}

func TestVerifiedCacheBound(t *testing.T) {
	clock := newTestClock()
	key := newRSAKey(t, "k1")
	ti := newTestIssuer(t, key)
	const size = 3
	v := newCachedVerifier(t, clock, size, 0, ti.config("github"))
	tokens := make([]string, 8)
	for i := range tokens {
		c := ti.claims(clock.Now())
		c["run_id"] = fmt.Sprint(i)
		tokens[i] = sign(t, key, key.kid, c)
	}
	verify := func(i int) (checks uint64) {
		t.Helper()
		before := signatureChecks(t, v, "github")
		id, err := v.Verify(t.Context(), tokens[i])
		if err != nil {
			t.Fatalf("Verify(token %d) error = %v, want nil", i, err)
		}
		claims, err := id.Claims()
		if err != nil {
			t.Fatalf("Claims(token %d) error = %v", i, err)
		}
		if got, want := claims["run_id"], fmt.Sprint(i); got != want {
			t.Errorf("Verify(token %d) run_id = %v, want %q", i, got, want)
		}
		if got := cacheLen(v); got > size {
			t.Errorf("cache entries after token %d = %d, want at most %d", i, got, size)
		}
		return signatureChecks(t, v, "github") - before
	}
	for i := range tokens {
		verify(i)
	}
	// Cached now: 5, 6, 7 (7 most recent). Use 5, then add 0: 6 is evicted.
	var got []uint64
	for _, i := range []int{5, 0, 5, 7, 6, 6} {
		got = append(got, verify(i))
	}
	want := []uint64{0, 1, 0, 0, 1, 0}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("signature checks per Verify (-want +got):\n%s", diff)
	}
	if got := cacheLen(v); got != size {
		t.Errorf("cache entries = %d, want %d", got, size)
	}
}

func TestVerifiedCacheDisabled(t *testing.T) {
	clock := newTestClock()
	key := newRSAKey(t, "k1")
	ti := newTestIssuer(t, key)
	v := newCachedVerifier(t, clock, -1, 0, ti.config("github"))
	token := sign(t, key, key.kid, ti.claims(clock.Now()))
	var ids []*Identity
	for i := range 4 {
		id, err := v.Verify(t.Context(), token)
		if err != nil {
			t.Fatalf("Verify() %d error = %v, want nil", i, err)
		}
		ids = append(ids, id)
	}
	if got, want := signatureChecks(t, v, "github"), uint64(4); got != want {
		t.Errorf("signature checks = %d, want %d (every call verifies)", got, want)
	}
	if ids[0] == ids[1] {
		t.Errorf("Verify() returned the same identity twice without a cache")
	}
	if v.cache != nil {
		t.Errorf("cache = %v, want nil", v.cache)
	}
}

// TestVerifierForget: after Forget every token is verified in full again
// and gets a new Identity (without the old one's derived values).
func TestVerifierForget(t *testing.T) {
	clock := newTestClock()
	key := newRSAKey(t, "k1")
	ti := newTestIssuer(t, key)
	v := newCachedVerifier(t, clock, 0, 0, ti.config("github"))
	token := sign(t, key, key.kid, ti.claims(clock.Now()))
	first, err := v.Verify(t.Context(), token)
	if err != nil {
		t.Fatalf("Verify() error = %v", err)
	}
	type memo struct{}
	first.Derive(memo{}, func() any { return "old" })
	v.Forget()
	if got := cacheLen(v); got != 0 {
		t.Errorf("cache entries after Forget = %d, want 0", got)
	}
	second, err := v.Verify(t.Context(), token)
	if err != nil {
		t.Fatalf("Verify() after Forget error = %v", err)
	}
	if second == first || signatureChecks(t, v, "github") != 2 {
		t.Errorf("Verify() after Forget: same identity %v, %d signature checks; want a new identity after 2 checks", second == first, signatureChecks(t, v, "github"))
	}
	if got := second.Derive(memo{}, func() any { return "new" }); got != "new" {
		t.Errorf("Derive on the new identity = %v, want new", got)
	}
	if again, _ := v.Verify(t.Context(), token); again != second || cacheLen(v) != 1 {
		t.Errorf("Verify() once more: cached %v, %d entries; want the new identity, 1 entry", again == second, cacheLen(v))
	}
	newCachedVerifier(t, clock, -1, 0, ti.config("github")).Forget() // no cache: nothing to do
}

// TestVerifiedCacheConcurrent runs hits, misses, evictions, expiries and a
// JWKS refetch at once, for the race detector.
func TestVerifiedCacheConcurrent(t *testing.T) {
	clock := newTestClock()
	key := newRSAKey(t, "k1")
	newKey := newRSAKey(t, "k2")
	ti := newTestIssuer(t, key)
	const size = 4
	v := newCachedVerifier(t, clock, size, 0, ti.config("github"))
	ti.setKeys(key, newKey)
	jwks := ti.jwksRequests()
	now := clock.Now()
	tokens := make([]string, 6)
	for i := range tokens {
		c := ti.claims(now)
		c["run_id"] = fmt.Sprint(i)
		tokens[i] = sign(t, key, key.kid, c)
	}
	clock.Add(DefaultJWKSRefetchInterval)
	refetch := sign(t, newKey, newKey.kid, ti.claims(now)) // unknown kid: refetch

	var wg sync.WaitGroup
	errs := make(chan error, 8*50+1)
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				if _, err := v.Verify(t.Context(), tokens[(g+i)%len(tokens)]); err != nil {
					errs <- err
				}
				if got := cacheLen(v); got > size {
					errs <- fmt.Errorf("cache entries = %d, want at most %d", got, size)
				}
			}
		})
	}
	wg.Go(func() {
		if _, err := v.Verify(t.Context(), refetch); err != nil {
			errs <- err
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent Verify() error = %v, want nil", err)
	}
	if got, want := ti.jwksRequests()-jwks, 1; got != want {
		t.Errorf("JWKS refetches = %d, want %d", got, want)
	}

	clock.Add(10 * time.Minute) // every token has expired
	for i, tok := range tokens {
		_, err := v.Verify(t.Context(), tok)
		if got := reason(err); got != ReasonExpired {
			t.Errorf("Verify(token %d) after expiry error = %v, want reason %q", i, err, ReasonExpired)
		}
	}
	if got := cacheLen(v); got != 0 {
		t.Errorf("cache entries after expiry = %d, want 0", got)
	}
}

// TestVerifiedCacheLargeToken: tokens on both sides of sumToken's 4 KiB
// stack buffer are cached, and a change in the last byte of either misses.
func TestVerifiedCacheLargeToken(t *testing.T) {
	clock := newTestClock()
	key := newRSAKey(t, "k1")
	ti := newTestIssuer(t, key)
	v := newCachedVerifier(t, clock, 0, 0, ti.config("github"))
	for _, pad := range []int{100, 3500, 6000} {
		claims := ti.claims(clock.Now())
		claims["padding"] = strings.Repeat("p", pad)
		token := sign(t, key, key.kid, claims)
		t.Run(fmt.Sprintf("%d-bytes", len(token)), func(t *testing.T) {
			before := signatureChecks(t, v, "github")
			first, err := v.Verify(t.Context(), token)
			if err != nil {
				t.Fatalf("Verify() error = %v, want nil", err)
			}
			again, err := v.Verify(t.Context(), token)
			if err != nil || again != first {
				t.Fatalf("Verify() again = %p, %v, want the cached identity %p", again, err, first)
			}
			if got := signatureChecks(t, v, "github") - before; got != 1 {
				t.Errorf("signature checks = %d, want 1", got)
			}
			parts := strings.Split(token, ".")
			tampered := parts[0] + "." + parts[1] + "." + flipFirst(parts[2])
			if _, err := v.Verify(t.Context(), tampered); reason(err) != ReasonSignature {
				t.Errorf("Verify(tampered) error = %v, want reason %q", err, ReasonSignature)
			}
		})
	}
	if got := sumToken(strings.Repeat("a", 5000)); got != sha256.Sum256([]byte(strings.Repeat("a", 5000))) {
		t.Errorf("sumToken(5000 bytes) = %x, want the SHA-256", got)
	}
	if got := sumToken("abc"); got != sha256.Sum256([]byte("abc")) {
		t.Errorf("sumToken(abc) = %x, want the SHA-256", got)
	}
}

func TestIdentityDerive(t *testing.T) {
	type key struct{ n int }
	id := &Identity{Subject: "s"}
	calls := 0
	compute := func(v string) func() any { return func() any { calls++; return v } }
	if got := id.Derive(key{1}, compute("a")); got != "a" {
		t.Errorf("Derive(1) = %v, want a", got)
	}
	if got := id.Derive(key{1}, compute("b")); got != "a" || calls != 1 {
		t.Errorf("Derive(1) again = %v after %d computations, want a after 1", got, calls)
	}
	if got := id.Derive(key{2}, compute("c")); got != "c" || calls != 2 {
		t.Errorf("Derive(2) = %v after %d computations, want c after 2", got, calls)
	}
	var wg sync.WaitGroup
	results := make([]any, 16)
	for i := range results {
		wg.Go(func() { results[i] = id.Derive(key{3}, func() any { return "d" }) })
	}
	wg.Wait()
	for i, r := range results {
		if r != "d" {
			t.Errorf("concurrent Derive #%d = %v, want d", i, r)
		}
	}
	// Concurrent additions of different keys all stay, up to maxDerived.
	id = &Identity{Subject: "s"}
	for i := range maxDerived {
		wg.Go(func() { id.Derive(key{100 + i}, func() any { return i }) })
	}
	wg.Wait()
	for i := range maxDerived {
		if got := id.Derive(key{100 + i}, func() any { return -1 }); got != i {
			t.Errorf("Derive(%d) after concurrent additions = %v, want %d", 100+i, got, i)
		}
	}
	// Past the bound, values are computed on every call and not kept.
	calls = 0
	for range 3 {
		if got := id.Derive(key{999}, compute("x")); got != "x" {
			t.Errorf("Derive past the bound = %v, want x", got)
		}
	}
	if calls != 3 || len(id.derived.Load().vals) != maxDerived {
		t.Errorf("Derive past the bound: %d computations, %d kept, want 3 and %d", calls, len(id.derived.Load().vals), maxDerived)
	}
}

// TestIdentityDeriveNotInheritedByCopy: a struct copy of an Identity (which
// go vet flags, but reflection or a careless refactor can make) copies the
// derived pointer; the copy must not see values computed for the original.
func TestIdentityDeriveNotInheritedByCopy(t *testing.T) {
	type key struct{}
	alice := &Identity{Subject: "alice"}
	alice.Derive(key{}, func() any { return "alice's plan" })
	mallory := new(Identity)
	reflect.ValueOf(mallory).Elem().Set(reflect.ValueOf(alice).Elem())
	mallory.Subject = "mallory"
	if mallory.derived.Load() == nil {
		t.Fatal("the copy did not copy the derived pointer; the test no longer tests anything")
	}
	if got := mallory.Derive(key{}, func() any { return "mallory's plan" }); got != "mallory's plan" {
		t.Errorf("Derive on a copy = %v, want its own value", got)
	}
	if got := alice.Derive(key{}, func() any { return "recomputed" }); got != "alice's plan" {
		t.Errorf("Derive on the original after the copy's = %v, want alice's plan", got)
	}
}
