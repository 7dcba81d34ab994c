package auth

import (
	"crypto/rand"
	"encoding/hex"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/oauth2-proxy/mockoidc"
)

func TestIssuerDownAtStartup(t *testing.T) {
	clock := newTestClock()
	key := newRSAKey(t, "k1")
	ti := newTestIssuer(t, key)
	ti.setDown(true)

	v := newTestVerifier(t, clock, ti.config("github"))
	if v.Ready() {
		t.Fatalf("Ready() = true with the issuer down, want false")
	}
	if got, want := ti.totalRequests(), 1; got != want {
		t.Errorf("issuer requests after New = %d, want %d (one discovery attempt)", got, want)
	}

	token := sign(t, key, key.kid, ti.claims(clock.Now()))
	_, err := v.Verify(t.Context(), token)
	if got := reason(err); got != ReasonIssuerDown {
		t.Fatalf("Verify() error = %v, want reason %q", err, ReasonIssuerDown)
	}

	// Up again, but inside the retry interval: no new attempt.
	ti.setDown(false)
	_, err = v.Verify(t.Context(), token)
	if got := reason(err); got != ReasonIssuerDown {
		t.Fatalf("Verify() inside interval error = %v, want reason %q", err, ReasonIssuerDown)
	}
	if got, want := ti.totalRequests(), 1; got != want {
		t.Errorf("issuer requests inside interval = %d, want %d", got, want)
	}

	clock.Add(DefaultJWKSRefetchInterval)
	token = sign(t, key, key.kid, ti.claims(clock.Now()))
	id, err := v.Verify(t.Context(), token)
	if err != nil {
		t.Fatalf("Verify() after interval error = %v, want nil", err)
	}
	if id.Issuer != "github" {
		t.Errorf("Verify() Issuer = %q, want %q", id.Issuer, "github")
	}
	if !v.Ready() {
		t.Errorf("Ready() = false after a successful retry, want true")
	}
	if got, want := ti.totalRequests(), 3; got != want {
		t.Errorf("issuer requests = %d, want %d (discovery retry and JWKS)", got, want)
	}
}

// TestIssuerKeysDownAtStartup: discovery works but the JWKS does not; the
// retry one interval later fetches the keys.
func TestIssuerKeysDownAtStartup(t *testing.T) {
	clock := newTestClock()
	key := newRSAKey(t, "k1")
	ti := newTestIssuer(t, key)
	ti.setKeysDown(true)

	v := newTestVerifier(t, clock, ti.config("github"))
	if v.Ready() {
		t.Fatalf("Ready() = true with the JWKS down, want false")
	}
	ti.setKeysDown(false)
	clock.Add(DefaultJWKSRefetchInterval)
	if _, err := v.Verify(t.Context(), sign(t, key, key.kid, ti.claims(clock.Now()))); err != nil {
		t.Fatalf("Verify() after interval error = %v, want nil", err)
	}
	if !v.Ready() {
		t.Errorf("Ready() = false after a successful retry, want true")
	}
	if got, want := ti.jwksRequests(), 2; got != want {
		t.Errorf("JWKS requests = %d, want %d", got, want)
	}
}

func TestIssuerJWKSRedirect(t *testing.T) {
	clock := newTestClock()
	key := newRSAKey(t, "k1")
	ti := newTestIssuer(t, key)
	cfg := ti.config("github")
	cfg.JWKSURL = ti.URL + "/moved-keys"
	v := newTestVerifier(t, clock, cfg)
	if _, err := v.Verify(t.Context(), sign(t, key, key.kid, ti.claims(clock.Now()))); err != nil {
		t.Errorf("Verify() error = %v, want nil", err)
	}
	if got, want := ti.jwksRequests(), 1; got != want {
		t.Errorf("JWKS requests = %d, want %d", got, want)
	}
}

func TestIssuerJWKSURL(t *testing.T) {
	clock := newTestClock()
	ecKey := newECKey(t, "ec1")
	ti := newTestIssuer(t, ecKey)
	cfg := ti.config("k8s")
	cfg.JWKSURL = ti.URL + "/keys"
	v := newTestVerifier(t, clock, cfg)
	if !v.Ready() {
		t.Fatalf("Ready() = false, want true")
	}
	if _, err := v.Verify(t.Context(), sign(t, ecKey, ecKey.kid, ti.claims(clock.Now()))); err != nil {
		t.Errorf("Verify() ES256 error = %v, want nil", err)
	}
	if got, want := ti.jwksRequests(), 1; got != want {
		t.Errorf("JWKS requests = %d, want %d", got, want)
	}
	if got, want := ti.totalRequests(), 1; got != want {
		t.Errorf("issuer requests = %d, want %d (no discovery)", got, want)
	}
}

func TestIssuerJWKSUnreachable(t *testing.T) {
	clock := newTestClock()
	key := newRSAKey(t, "k1")
	ti := newTestIssuer(t, key)
	closed := httptest.NewServer(nil)
	closed.Close() // nothing listens there any more

	cfg := ti.config("github")
	cfg.JWKSURL = closed.URL + "/keys"
	v := newTestVerifier(t, clock, cfg)
	if v.Ready() {
		t.Fatalf("Ready() = true with an unreachable JWKS, want false")
	}
	_, err := v.Verify(t.Context(), sign(t, key, key.kid, ti.claims(clock.Now())))
	if got := reason(err); got != ReasonIssuerDown {
		t.Errorf("Verify() error = %v, want reason %q", err, ReasonIssuerDown)
	}
}

// TestIssuerKeysDownAfterStart: once initialised, a token whose kid needs a
// refetch while the issuer is down is ReasonIssuerDown; known kids still
// verify from the cache.
func TestIssuerKeysDownAfterStart(t *testing.T) {
	clock := newTestClock()
	key := newRSAKey(t, "k1")
	newKey := newRSAKey(t, "k2")
	ti := newTestIssuer(t, key)
	v := newTestVerifier(t, clock, ti.config("github"))

	ti.setDown(true)
	clock.Add(DefaultJWKSRefetchInterval)
	now := clock.Now()
	_, err := v.Verify(t.Context(), sign(t, newKey, newKey.kid, ti.claims(now)))
	if got := reason(err); got != ReasonIssuerDown {
		t.Errorf("Verify() new kid error = %v, want reason %q", err, ReasonIssuerDown)
	}
	if _, err := v.Verify(t.Context(), sign(t, key, key.kid, ti.claims(now))); err != nil {
		t.Errorf("Verify() known kid error = %v, want nil", err)
	}
	if !v.Ready() {
		t.Errorf("Ready() = false, want true (keys were fetched once)")
	}
}

func TestTwoIssuers(t *testing.T) {
	clock := newTestClock()
	keyA := newRSAKey(t, "a1")
	keyB := newRSAKey(t, "b1")
	a := newTestIssuer(t, keyA)
	b := newTestIssuer(t, keyB)
	v := newTestVerifier(t, clock, a.config("a"), b.config("b"))
	now := clock.Now()

	tests := []struct {
		name       string
		token      string
		wantIssuer string
		wantReason string
	}{
		{name: "token-of-a", token: sign(t, keyA, keyA.kid, a.claims(now)), wantIssuer: "a"},
		{name: "token-of-b", token: sign(t, keyB, keyB.kid, b.claims(now)), wantIssuer: "b"},
		{name: "b-key-claiming-a", token: sign(t, keyB, keyB.kid, a.claims(now)), wantReason: ReasonSignature},
		{name: "b-key-with-a-kid-claiming-a", token: sign(t, keyB, keyA.kid, a.claims(now)), wantReason: ReasonSignature},
		{name: "a-key-claiming-b", token: sign(t, keyA, keyA.kid, b.claims(now)), wantReason: ReasonSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := v.Verify(t.Context(), tt.token)
			if got := reason(err); got != tt.wantReason {
				t.Fatalf("Verify() error = %v, want reason %q", err, tt.wantReason)
			}
			if tt.wantIssuer != "" && id.Issuer != tt.wantIssuer {
				t.Errorf("Verify() Issuer = %q, want %q", id.Issuer, tt.wantIssuer)
			}
		})
	}
}

func TestKeyRotation(t *testing.T) {
	clock := newTestClock()
	oldKey := newRSAKey(t, "old")
	newKey := newRSAKey(t, "new")
	ti := newTestIssuer(t, oldKey)
	v := newTestVerifier(t, clock, ti.config("github"))
	if got, want := ti.jwksRequests(), 1; got != want {
		t.Fatalf("JWKS requests after New = %d, want %d", got, want)
	}

	ti.setKeys(newKey) // the issuer rotates and drops the old key
	now := clock.Now()
	_, err := v.Verify(t.Context(), sign(t, newKey, newKey.kid, ti.claims(now)))
	if got := reason(err); got != ReasonSignature {
		t.Errorf("Verify() new kid inside interval error = %v, want reason %q", err, ReasonSignature)
	}
	if _, err := v.Verify(t.Context(), sign(t, oldKey, oldKey.kid, ti.claims(now))); err != nil {
		t.Errorf("Verify() known kid inside interval error = %v, want nil", err)
	}
	if got, want := ti.jwksRequests(), 1; got != want {
		t.Errorf("JWKS requests inside interval = %d, want %d", got, want)
	}

	clock.Add(DefaultJWKSRefetchInterval)
	now = clock.Now()
	if _, err := v.Verify(t.Context(), sign(t, newKey, newKey.kid, ti.claims(now))); err != nil {
		t.Errorf("Verify() new kid after interval error = %v, want nil", err)
	}
	if got, want := ti.jwksRequests(), 2; got != want {
		t.Errorf("JWKS requests after interval = %d, want %d", got, want)
	}
	_, err = v.Verify(t.Context(), sign(t, oldKey, oldKey.kid, ti.claims(now)))
	if got := reason(err); got != ReasonSignature {
		t.Errorf("Verify() dropped kid error = %v, want reason %q", err, ReasonSignature)
	}
}

func TestUnknownKidFlood(t *testing.T) {
	clock := newTestClock()
	key := newRSAKey(t, "k1")
	ti := newTestIssuer(t, key)
	v := newTestVerifier(t, clock, ti.config("github"))
	clock.Add(DefaultJWKSRefetchInterval) // the fetch at New no longer counts
	before := ti.jwksRequests()

	now := clock.Now()
	tokens := make([]string, 100)
	for i := range tokens {
		tokens[i] = sign(t, key, randomKid(t), ti.claims(now))
	}
	reasons := make([]string, len(tokens))
	var wg sync.WaitGroup
	for i, tok := range tokens {
		wg.Go(func() {
			_, err := v.Verify(t.Context(), tok)
			reasons[i] = reason(err)
		})
	}
	wg.Wait()
	for i, r := range reasons {
		if r != ReasonSignature {
			t.Errorf("Verify(token %d) reason = %q, want %q", i, r, ReasonSignature)
		}
	}
	if got, want := ti.jwksRequests()-before, 1; got != want {
		t.Errorf("JWKS requests for 100 concurrent unknown kids = %d, want %d", got, want)
	}
	// One after the other, so that go-oidc cannot coalesce the fetches.
	for range 20 {
		_, err := v.Verify(t.Context(), sign(t, key, randomKid(t), ti.claims(now)))
		if got := reason(err); got != ReasonSignature {
			t.Errorf("Verify() error = %v, want reason %q", err, ReasonSignature)
		}
	}
	if got, want := ti.jwksRequests()-before, 1; got != want {
		t.Errorf("JWKS requests after 20 more unknown kids = %d, want %d", got, want)
	}
	// The known kid keeps working during the flood's interval.
	if _, err := v.Verify(t.Context(), sign(t, key, key.kid, ti.claims(now))); err != nil {
		t.Errorf("Verify() known kid error = %v, want nil", err)
	}

	clock.Add(DefaultJWKSRefetchInterval)
	_, err := v.Verify(t.Context(), sign(t, key, randomKid(t), ti.claims(clock.Now())))
	if got := reason(err); got != ReasonSignature {
		t.Errorf("Verify() error = %v, want reason %q", err, ReasonSignature)
	}
	if got, want := ti.jwksRequests()-before, 2; got != want {
		t.Errorf("JWKS requests after the next interval = %d, want %d", got, want)
	}
}

func randomKid(t testing.TB) string {
	t.Helper()
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("rand.Read() error = %v", err)
	}
	return hex.EncodeToString(b)
}

// TestMockOIDC verifies a token of an independent issuer implementation.
func TestMockOIDC(t *testing.T) {
	m, err := mockoidc.Run() // listens on 127.0.0.1:0
	if err != nil {
		t.Fatalf("mockoidc.Run() error = %v", err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	kid, err := m.Keypair.KeyID() // before any request: KeyID caches into the keypair
	if err != nil {
		t.Fatalf("KeyID() error = %v", err)
	}

	clock := newTestClock()
	v := newTestVerifier(t, clock, IssuerConfig{Name: "mock", URL: m.Issuer(), Audiences: []string{m.ClientID}})
	if !v.Ready() {
		t.Fatalf("Ready() = false, want true")
	}
	now := clock.Now()
	claims := map[string]any{
		"iss": m.Issuer(), "aud": m.ClientID, "sub": "jane",
		"iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(),
		"email": "jane.doe@example.com",
	}
	key := testKey{kid: kid, alg: "RS256", priv: m.Keypair.PrivateKey}
	id, err := v.Verify(t.Context(), sign(t, key, kid, claims))
	if err != nil {
		t.Fatalf("Verify() error = %v, want nil", err)
	}
	if id.Issuer != "mock" || id.IssuerURL != m.Issuer() || id.Subject != "jane" {
		t.Errorf("Verify() = {Issuer:%q IssuerURL:%q Subject:%q}, want {mock %q jane}", id.Issuer, id.IssuerURL, id.Subject, m.Issuer())
	}

	claims["aud"] = "not-the-client"
	_, err = v.Verify(t.Context(), sign(t, key, kid, claims))
	if got := reason(err); got != ReasonAudience {
		t.Errorf("Verify() wrong audience error = %v, want reason %q", err, ReasonAudience)
	}
}
