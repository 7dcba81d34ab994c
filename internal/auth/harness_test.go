package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc/oidctest"
	"go.uber.org/zap/zaptest"
)

const (
	testAudience = "sts.amazonaws.com"
	testSubject  = "repo:myorg/app:ref:refs/heads/main"
)

// testClock is the injected clock of a test.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock {
	return &testClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// testKey is a signing key an issuer publishes.
type testKey struct {
	kid  string
	alg  string
	priv crypto.Signer
}

func newRSAKey(t testing.TB, kid string) testKey {
	t.Helper()
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatalf("rsa.GenerateKey() error = %v", err)
	}
	return testKey{kid: kid, alg: "RS256", priv: priv}
}

func newECKey(t testing.TB, kid string) testKey {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("ecdsa.GenerateKey() error = %v", err)
	}
	return testKey{kid: kid, alg: "ES256", priv: priv}
}

// testIssuer is go-oidc's oidctest.Server on 127.0.0.1, with request counts,
// a switch to take it down (503) and key rotation.
type testIssuer struct {
	URL string

	mu       sync.RWMutex
	srv      *oidctest.Server
	down     bool           // every path answers 503
	keysDown bool           // /keys answers 503
	hang     chan struct{}  // non-nil: requests wait until it is closed
	requests map[string]int // by path
}

func newTestIssuer(t testing.TB, keys ...testKey) *testIssuer {
	t.Helper()
	ti := &testIssuer{srv: &oidctest.Server{}, requests: map[string]int{}}
	ti.setKeys(keys...)
	hs := httptest.NewServer(ti) // listens on 127.0.0.1
	t.Cleanup(hs.Close)
	ti.URL = hs.URL
	ti.srv.SetIssuer(hs.URL)
	return ti
}

func (ti *testIssuer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ti.mu.Lock()
	ti.requests[r.URL.Path]++
	down := ti.down || ti.keysDown && r.URL.Path == "/keys"
	hang := ti.hang
	ti.mu.Unlock()
	if hang != nil {
		select {
		case <-hang:
		case <-r.Context().Done():
			return
		}
	}
	if down {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	if r.URL.Path == "/moved-keys" {
		http.Redirect(w, r, "/keys", http.StatusFound)
		return
	}
	ti.mu.RLock()
	defer ti.mu.RUnlock()
	ti.srv.ServeHTTP(w, r)
}

// setKeys replaces the published keys and advertises their algorithms.
func (ti *testIssuer) setKeys(keys ...testKey) {
	ti.mu.Lock()
	defer ti.mu.Unlock()
	ti.srv.PublicKeys = nil
	ti.srv.Algorithms = nil
	for _, k := range keys {
		ti.srv.PublicKeys = append(ti.srv.PublicKeys, oidctest.PublicKey{PublicKey: k.priv.Public(), KeyID: k.kid, Algorithm: k.alg})
		ti.srv.Algorithms = append(ti.srv.Algorithms, k.alg)
	}
}

func (ti *testIssuer) setDown(down bool) {
	ti.mu.Lock()
	defer ti.mu.Unlock()
	ti.down = down
}

// setHang makes requests wait until hang is closed (or their client
// leaves).
func (ti *testIssuer) setHang(hang chan struct{}) {
	ti.mu.Lock()
	defer ti.mu.Unlock()
	ti.hang = hang
}

func (ti *testIssuer) setKeysDown(down bool) {
	ti.mu.Lock()
	defer ti.mu.Unlock()
	ti.keysDown = down
}

// jwksRequests is the number of JWKS requests the issuer received.
func (ti *testIssuer) jwksRequests() int {
	ti.mu.Lock()
	defer ti.mu.Unlock()
	return ti.requests["/keys"]
}

// totalRequests is the number of requests the issuer received on any path.
func (ti *testIssuer) totalRequests() int {
	ti.mu.Lock()
	defer ti.mu.Unlock()
	n := 0
	for _, c := range ti.requests {
		n += c
	}
	return n
}

// claims returns valid claims for this issuer at now.
func (ti *testIssuer) claims(now time.Time) map[string]any {
	return map[string]any{
		"iss":              ti.URL,
		"sub":              testSubject,
		"aud":              testAudience,
		"iat":              now.Unix(),
		"nbf":              now.Add(-time.Minute).Unix(),
		"exp":              now.Add(5 * time.Minute).Unix(),
		"repository_owner": "myorg",
		"run_id":           "12345",
	}
}

// sign signs claims with key, using kid as the header's kid.
func sign(t testing.TB, key testKey, kid string, claims map[string]any) string {
	t.Helper()
	b, err := json.Marshal(claims)
	if err != nil {
		t.Fatalf("json.Marshal() error = %v", err)
	}
	return oidctest.SignIDToken(key.priv, kid, key.alg, string(b))
}

// newTestVerifier builds a Verifier on clock for the given issuers, closed
// when the test ends.
func newTestVerifier(t testing.TB, clock *testClock, issuers ...IssuerConfig) *Verifier {
	t.Helper()
	v, err := New(context.Background(), Config{
		Issuers: issuers,
		Now:     clock.Now,
		Log:     zaptest.NewLogger(t),
	})
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	// Before the issuers' servers close (cleanups run last first), and
	// before zaptest's logger stops accepting entries.
	t.Cleanup(v.Close)
	return v
}

// issuerConfig is the configuration of ti under name.
func (ti *testIssuer) config(name string) IssuerConfig {
	return IssuerConfig{Name: name, URL: ti.URL, Audiences: []string{testAudience}}
}

// reason returns the Reason of a *TokenError, or "" if err is not one.
func reason(err error) string {
	var te *TokenError
	if errors.As(err, &te) {
		return te.Reason
	}
	return ""
}
