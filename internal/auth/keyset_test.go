package auth

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// jwkJSON is the JWK of key (public, or private if private is set) with
// the given kid, alg and use.
func jwkJSON(t testing.TB, key any, kid, alg, use string) string {
	t.Helper()
	b, err := json.Marshal(jose.JSONWebKey{Key: key, KeyID: kid, Algorithm: alg, Use: use})
	if err != nil {
		t.Fatalf("marshal JWK %q error = %v", kid, err)
	}
	return string(b)
}

func TestParseJWKS(t *testing.T) {
	rsaKey := newRSAKey(t, "rsa")
	ecKey := newECKey(t, "ec")
	edPub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatalf("ed25519.GenerateKey() error = %v", err)
	}
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatalf("rsa.GenerateKey(1024) error = %v", err)
	}
	good := []string{
		jwkJSON(t, rsaKey.priv.Public(), "rsa", "RS256", "sig"),
		jwkJSON(t, ecKey.priv.Public(), "ec", "ES256", ""),
		jwkJSON(t, edPub, "ed", "", "sig"),
	}
	set := func(keys ...string) string { return `{"keys":[` + strings.Join(keys, ",") + `]}` }
	many := make([]string, maxJWKSKeys+1)
	for i := range many {
		many[i] = jwkJSON(t, ecKey.priv.Public(), fmt.Sprint(i), "ES256", "sig")
	}

	tests := []struct {
		name        string
		body        string
		wantKids    []string
		wantSkipped int
		wantErr     string
	}{
		{name: "usable-keys", body: set(good...), wantKids: []string{"rsa", "ec", "ed"}},
		{name: "empty-set", body: `{"keys":[]}`},
		{name: "unknown-alg-skipped", body: set(good[0], `{"kty":"EC","kid":"k1","alg":"ES256K","crv":"secp256k1","x":"AA","y":"AA"}`), wantKids: []string{"rsa"}, wantSkipped: 1},
		{name: "wrong-alg-name-skipped", body: set(jwkJSON(t, rsaKey.priv.Public(), "bad", "RSA", ""), good[1]), wantKids: []string{"ec"}, wantSkipped: 1},
		{name: "hs256-key-skipped", body: set(jwkJSON(t, []byte("0123456789abcdef0123456789abcdef"), "hmac", "HS256", "sig"), good[1]), wantKids: []string{"ec"}, wantSkipped: 1},
		{name: "oct-key-without-alg-skipped", body: set(jwkJSON(t, []byte("0123456789abcdef0123456789abcdef"), "oct", "", ""), good[1]), wantKids: []string{"ec"}, wantSkipped: 1},
		{name: "private-key-skipped", body: set(jwkJSON(t, rsaKey.priv, "private", "RS256", "sig"), good[1]), wantKids: []string{"ec"}, wantSkipped: 1},
		{name: "encryption-key-skipped", body: set(jwkJSON(t, rsaKey.priv.Public(), "enc", "", "enc"), good[1]), wantKids: []string{"ec"}, wantSkipped: 1},
		{name: "key-ops-without-verify-skipped", body: set(strings.Replace(jwkJSON(t, rsaKey.priv.Public(), "enc", "", ""), "{", `{"key_ops":["encrypt"],`, 1), good[1]), wantKids: []string{"ec"}, wantSkipped: 1},
		{name: "key-ops-verify", body: set(strings.Replace(jwkJSON(t, rsaKey.priv.Public(), "rsa", "", ""), "{", `{"key_ops":["verify"],`, 1)), wantKids: []string{"rsa"}},
		{name: "rsa-1024-skipped", body: set(jwkJSON(t, &weak.PublicKey, "weak", "RS256", "sig"), good[1]), wantKids: []string{"ec"}, wantSkipped: 1},
		{name: "ed448-skipped", body: set(`{"kty":"OKP","crv":"Ed448","kid":"ed448","x":"AAAA"}`, good[1]), wantKids: []string{"ec"}, wantSkipped: 1},
		{name: "missing-members-skipped", body: set(`{"kty":"RSA","kid":"half"}`, good[1]), wantKids: []string{"ec"}, wantSkipped: 1},
		{name: "not-an-object-skipped", body: set(`42`, good[1]), wantKids: []string{"ec"}, wantSkipped: 1},
		{name: "no-keys-member", body: `{}`, wantErr: "jwks: not a JWK set"},
		{name: "keys-not-array", body: `{"keys":{}}`, wantErr: "jwks: not a JWK set"},
		{name: "not-json", body: `<html>`, wantErr: "jwks: not a JWK set"},
		{name: "too-many-keys", body: set(many...), wantErr: fmt.Sprintf("jwks: %d keys exceed the limit of %d", maxJWKSKeys+1, maxJWKSKeys)},
		{name: "at-key-limit", body: set(many[:maxJWKSKeys]...), wantKids: func() []string {
			var kids []string
			for i := range maxJWKSKeys {
				kids = append(kids, fmt.Sprint(i))
			}
			return kids
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, skipped, err := parseJWKS([]byte(tt.body))
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("parseJWKS() error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseJWKS() error = %v, want nil", err)
			}
			if diff := cmp.Diff(tt.wantKids, newKeySnapshot(keys).kids(), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("parseJWKS() kids (-want +got):\n%s", diff)
			}
			if skipped != tt.wantSkipped {
				t.Errorf("parseJWKS() skipped = %d, want %d", skipped, tt.wantSkipped)
			}
		})
	}
}

// TestKeySetGeneration: the generation counts changes of the usable keys,
// not fetches.
func TestKeySetGeneration(t *testing.T) {
	clock := newTestClock()
	a, b, c := newRSAKey(t, "a"), newECKey(t, "b"), newECKey(t, "c")
	unusable := newECKey(t, "k256")
	unusable.alg = "ES256K"
	ti := newTestIssuer(t, a, b)
	const interval = time.Minute
	ks := newKeySet(ti.URL+"/keys", &http.Client{Timeout: 5 * time.Second}, clock.Now, interval, []string{"RS256", "ES256"}, zap.NewNop())
	if got := ks.generation(); got != 0 {
		t.Fatalf("generation() before the first fetch = %d, want 0", got)
	}

	type step struct {
		name     string
		keys     []testKey // published before the fetch; nil: unchanged
		keysDown bool
		advance  time.Duration
		wantGen  uint64
		wantErr  error // errors.Is target
		wantReqs int   // JWKS requests after the step
		wantKids []string
	}
	steps := []step{
		{name: "first-fetch", wantGen: 1, wantReqs: 1, wantKids: []string{"a", "b"}},
		{name: "refused-inside-interval", keys: []testKey{a, b, c}, wantErr: errRefetchLimited, wantGen: 1, wantReqs: 1, wantKids: []string{"a", "b"}},
		{name: "unchanged", keys: []testKey{a, b}, advance: interval, wantGen: 1, wantReqs: 2, wantKids: []string{"a", "b"}},
		{name: "reordered", keys: []testKey{b, a}, advance: interval, wantGen: 1, wantReqs: 3, wantKids: []string{"a", "b"}},
		{name: "unusable-key-added", keys: []testKey{a, b, unusable}, advance: interval, wantGen: 1, wantReqs: 4, wantKids: []string{"a", "b"}},
		{name: "key-added", keys: []testKey{b, a, c}, advance: interval, wantGen: 2, wantReqs: 5, wantKids: []string{"b", "a", "c"}},
		{name: "issuer-down-keeps-keys", keysDown: true, advance: interval, wantErr: errKeysUnavailable, wantGen: 2, wantReqs: 6, wantKids: []string{"b", "a", "c"}},
		{name: "refused-after-failed-fetch", wantErr: errRefetchLimited, wantGen: 2, wantReqs: 6, wantKids: []string{"b", "a", "c"}},
		{name: "key-retired", keys: []testKey{c}, advance: interval, wantGen: 3, wantReqs: 7, wantKids: []string{"c"}},
		{name: "kid-kept-key-replaced", keys: []testKey{newECKey(t, "c")}, advance: interval, wantGen: 4, wantReqs: 8, wantKids: []string{"c"}},
	}
	for _, st := range steps {
		if st.keys != nil {
			ti.setKeys(st.keys...)
		}
		ti.setKeysDown(st.keysDown)
		clock.Add(st.advance)
		before := ks.snapshot.Load()
		got, err := ks.fetch(t.Context(), nil)
		if !errors.Is(err, st.wantErr) || (st.wantErr == nil) != (err == nil) {
			t.Fatalf("%s: fetch() error = %v, want %v", st.name, err, st.wantErr)
		}
		if err == nil && got != ks.snapshot.Load() {
			t.Errorf("%s: fetch() returned a snapshot that is not installed", st.name)
		}
		if st.wantGen == before.gen && ks.snapshot.Load() != before {
			t.Errorf("%s: snapshot replaced without a change", st.name)
		}
		if got := ks.generation(); got != st.wantGen {
			t.Errorf("%s: generation() = %d, want %d", st.name, got, st.wantGen)
		}
		if got := ti.jwksRequests(); got != st.wantReqs {
			t.Errorf("%s: JWKS requests = %d, want %d", st.name, got, st.wantReqs)
		}
		if diff := cmp.Diff(st.wantKids, ks.snapshot.Load().kids()); diff != "" {
			t.Errorf("%s: installed kids (-want +got):\n%s", st.name, diff)
		}
	}
}

// TestKeyAlgorithmBinding: a key whose JWK names an algorithm verifies only
// tokens of that algorithm; a key without alg verifies any allowed one.
func TestKeyAlgorithmBinding(t *testing.T) {
	clock := newTestClock()
	bound := newRSAKey(t, "bound") // published with alg RS256
	free := newRSAKey(t, "free")
	free.alg = "" // published without alg
	ti := newTestIssuer(t, bound, free)
	cfg := ti.config("github")
	cfg.Algorithms = []string{"RS256", "PS256"}
	v := newTestVerifier(t, clock, cfg)
	as := func(k testKey, alg string) testKey { k.alg = alg; return k }
	now := clock.Now()

	tests := []struct {
		name string
		key  testKey
		want string
	}{
		{name: "bound-key-own-alg", key: as(bound, "RS256")},
		{name: "bound-key-other-alg", key: as(bound, "PS256"), want: ReasonSignature},
		{name: "free-key-rs256", key: as(free, "RS256")},
		{name: "free-key-ps256", key: as(free, "PS256")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.Verify(t.Context(), sign(t, tt.key, tt.key.kid, ti.claims(now)))
			if got := reason(err); got != tt.want {
				t.Errorf("Verify() error = %v, want reason %q", err, tt.want)
			}
		})
	}
}

// TestIssuerJWKSBodyBound: a JWKS body of up to 1 MiB is read; one byte more
// and the issuer's keys are unavailable.
func TestIssuerJWKSBodyBound(t *testing.T) {
	key := newECKey(t, "k1")
	doc := `{"keys":[` + jwkJSON(t, key.priv.Public(), key.kid, key.alg, "sig") + `]}`
	tests := []struct {
		name      string
		size      int
		wantReady bool
	}{
		{name: "exactly-1-mib", size: maxJWKSBytes, wantReady: true},
		{name: "one-byte-over", size: maxJWKSBytes + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := doc + strings.Repeat(" ", tt.size-len(doc)) // JSON allows trailing space
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write([]byte(body))
			}))
			t.Cleanup(srv.Close)
			clock := newTestClock()
			v := newTestVerifier(t, clock, IssuerConfig{Name: "k8s", URL: "https://k8s.invalid", JWKSURL: srv.URL + "/keys", Audiences: []string{testAudience}, Algorithms: []string{"ES256"}})
			if got := v.Ready(); got != tt.wantReady {
				t.Fatalf("Ready() = %v, want %v", got, tt.wantReady)
			}
			claims := map[string]any{"iss": "https://k8s.invalid", "aud": testAudience, "sub": "x", "exp": clock.Now().Add(time.Minute).Unix()}
			_, err := v.Verify(t.Context(), sign(t, key, key.kid, claims))
			want := ""
			if !tt.wantReady {
				want = ReasonIssuerDown
			}
			if got := reason(err); got != want {
				t.Errorf("Verify() error = %v, want reason %q", err, want)
			}
		})
	}
}

// TestIssuerJWKSRedirectToHTTP: a redirect of the JWKS to plain http on a
// host that is not loopback is refused before any request is sent.
func TestIssuerJWKSRedirectToHTTP(t *testing.T) {
	srv := httptest.NewServer(http.RedirectHandler("http://keys.example.invalid/keys", http.StatusFound))
	t.Cleanup(srv.Close)
	// Only the loopback JWKS URL reaches the network; anything else is
	// recorded and refused by the transport, should the redirect policy fail.
	transport := &onlyTransport{allow: srv.URL + "/keys", base: http.DefaultTransport.(*http.Transport).Clone()}
	t.Cleanup(transport.base.(*http.Transport).CloseIdleConnections)
	clock := newTestClock()
	v, err := New(t.Context(), Config{
		Issuers:    []IssuerConfig{{Name: "k8s", URL: "https://k8s.invalid", JWKSURL: srv.URL + "/keys", Audiences: []string{testAudience}}},
		Now:        clock.Now,
		HTTPClient: &http.Client{Transport: transport, Timeout: 5 * time.Second},
		Log:        zap.NewNop(),
	})
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	t.Cleanup(v.Close)
	if v.Ready() {
		t.Errorf("Ready() = true after a redirect to plain http, want false")
	}
	if got := transport.refusedURLs(); len(got) != 0 {
		t.Errorf("requests past the redirect = %q, want none", got)
	}
}

// TestKeySetNoUsableKeys: a JWKS without one usable key is installed (a
// withdrawn key must stop verifying) and logged as a warning, since every
// token of the issuer is refused from then on while /readyz stays green.
func TestKeySetNoUsableKeys(t *testing.T) {
	unusable := newECKey(t, "k256")
	unusable.alg = "ES256K"
	ti := newTestIssuer(t, unusable)
	core, logs := observer.New(zap.WarnLevel)
	ks := newKeySet(ti.URL+"/keys", &http.Client{Timeout: 5 * time.Second}, newTestClock().Now, time.Minute, []string{"ES256"}, zap.New(core))
	snap, err := ks.fetch(t.Context(), nil)
	if err != nil {
		t.Fatalf("fetch() error = %v", err)
	}
	if kids := snap.kids(); len(kids) != 0 {
		t.Errorf("installed kids = %v, want none", kids)
	}
	got := logs.FilterMessage("issuer publishes no usable keys: every token of this issuer is refused").All()
	if len(got) != 1 || got[0].ContextMap()["skipped_keys"] != int64(1) {
		t.Errorf("warnings = %v, want one naming 1 skipped key", logs.All())
	}
}
