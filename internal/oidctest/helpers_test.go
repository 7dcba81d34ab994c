package oidctest

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
)

// t0 is a fixed instant for servers and verifiers that must agree on the time.
var t0 = time.Date(2030, time.January, 2, 3, 4, 5, 0, time.UTC)

func fixedNow(t time.Time) func() time.Time { return func() time.Time { return t } }

// httpClient is the bounded client every test uses to talk to the server.
func httpClient() *http.Client { return &http.Client{Timeout: 10 * time.Second} }

// newVerifier discovers s afresh and returns a go-oidc verifier for the default audience
// that accepts RS256 and ES256 and uses now as its clock (time.Now when nil).
func newVerifier(t *testing.T, s *Server, now func() time.Time) *oidc.IDTokenVerifier {
	t.Helper()
	ctx := oidc.ClientContext(t.Context(), httpClient())
	provider, err := oidc.NewProvider(ctx, s.URL())
	if err != nil {
		t.Fatalf("oidc.NewProvider(%q) error = %v", s.URL(), err)
	}
	return provider.VerifierContext(ctx, &oidc.Config{
		ClientID:             DefaultAudience,
		SupportedSigningAlgs: []string{oidc.RS256, oidc.ES256},
		Now:                  now,
	})
}

// get does a request and returns the status, the headers and the body.
func get(t *testing.T, method, url string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	if err != nil {
		t.Fatalf("http.NewRequest(%s %s) error = %v", method, url, err)
	}
	resp, err := httpClient().Do(req)
	if err != nil {
		t.Fatalf("%s %s error = %v", method, url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		t.Fatalf("read %s %s body error = %v", method, url, err)
	}
	return resp.StatusCode, resp.Header, body
}

// fetchKeys returns the JWKS that s publishes.
func fetchKeys(t *testing.T, s *Server) jose.JSONWebKeySet {
	t.Helper()
	status, _, body := get(t, http.MethodGet, s.URL()+KeysPath)
	if status != http.StatusOK {
		t.Fatalf("GET %s status = %d, want %d", KeysPath, status, http.StatusOK)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		t.Fatalf("decode JWKS error = %v", err)
	}
	return set
}

// kids returns the key IDs of set in order.
func kids(set jose.JSONWebKeySet) []string {
	var out []string
	for _, k := range set.Keys {
		out = append(out, k.KeyID)
	}
	return out
}

// segments decodes the header and payload of a compact JWT without verifying it.
func segments(t *testing.T, token string) (header, payload map[string]any) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) < 2 {
		t.Fatalf("token has %d segments, want at least 2", len(parts))
	}
	decode := func(s string) map[string]any {
		raw, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			t.Fatalf("base64url decode error = %v", err)
		}
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("json decode error = %v", err)
		}
		return m
	}
	return decode(parts[0]), decode(parts[1])
}

// mustMint mints claims with o or fails the test.
func mustMint(t *testing.T, s *Server, o MintOptions, claims map[string]any) string {
	t.Helper()
	token, err := s.MintWith(o, claims)
	if err != nil {
		t.Fatalf("MintWith(%+v) error = %v", o, err)
	}
	return token
}
