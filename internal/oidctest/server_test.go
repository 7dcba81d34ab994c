package oidctest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/google/go-cmp/cmp"
)

func TestDiscovery(t *testing.T) {
	s := Start(t, Options{})

	status, header, body := get(t, http.MethodGet, s.URL()+DiscoveryPath)
	if status != http.StatusOK {
		t.Fatalf("GET %s status = %d, want %d", DiscoveryPath, status, http.StatusOK)
	}
	if got := header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q, want %q", got, "application/json")
	}
	var got map[string]any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("decode discovery error = %v", err)
	}
	want := map[string]any{
		"issuer":                                s.URL(),
		"authorization_endpoint":                s.URL() + "/auth",
		"token_endpoint":                        s.URL() + "/token",
		"jwks_uri":                              s.URL() + "/keys",
		"response_types_supported":              []any{"id_token"},
		"subject_types_supported":               []any{"public"},
		"id_token_signing_alg_values_supported": []any{"RS256", "ES256"},
		"claims_supported":                      []any{"iss", "sub", "aud", "exp", "iat", "nbf", "jti"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("discovery mismatch (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(s.URL(), "http://127.0.0.1:") || strings.HasSuffix(s.URL(), "/") {
		t.Errorf("URL() = %q, want http://127.0.0.1:<port> without trailing slash", s.URL())
	}
	if got := s.Requests(DiscoveryPath); got != 1 {
		t.Errorf("Requests(%q) = %d, want 1", DiscoveryPath, got)
	}
	if got := s.Requests(KeysPath); got != 0 {
		t.Errorf("Requests(%q) = %d, want 0", KeysPath, got)
	}
}

func TestKeys(t *testing.T) {
	s := Start(t, Options{})

	set := fetchKeys(t, s)
	fetchKeys(t, s)

	type pub struct{ Alg, Use, KeyType string }
	var got []pub
	for _, k := range set.Keys {
		kty := fmt.Sprintf("%T", k.Key)
		got = append(got, pub{Alg: k.Algorithm, Use: k.Use, KeyType: kty})
		if !k.IsPublic() {
			t.Errorf("JWKS key %q IsPublic() = false, want true", k.KeyID)
		}
		if k.KeyID == "" {
			t.Errorf("JWKS key of alg %s has empty kid", k.Algorithm)
		}
	}
	want := []pub{
		{Alg: "RS256", Use: "sig", KeyType: "*rsa.PublicKey"},
		{Alg: "ES256", Use: "sig", KeyType: "*ecdsa.PublicKey"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("JWKS keys mismatch (-want +got):\n%s", diff)
	}
	if got := s.Requests(KeysPath); got != 2 {
		t.Errorf("Requests(%q) = %d, want 2", KeysPath, got)
	}
	if got := s.Requests(DiscoveryPath); got != 0 {
		t.Errorf("Requests(%q) = %d, want 0", DiscoveryPath, got)
	}
}

func TestVerifierFetchesOnce(t *testing.T) {
	s := Start(t, Options{})
	v := newVerifier(t, s, nil)

	for i := range 3 {
		token := mustMint(t, s, MintOptions{}, map[string]any{"sub": fmt.Sprint("user-", i)})
		if _, err := v.Verify(t.Context(), token); err != nil {
			t.Fatalf("Verify() error = %v, want nil", err)
		}
	}
	if got := s.Requests(DiscoveryPath); got != 1 {
		t.Errorf("Requests(%q) = %d, want 1", DiscoveryPath, got)
	}
	if got := s.Requests(KeysPath); got != 1 {
		t.Errorf("Requests(%q) = %d, want 1 (keys cached after the first fetch)", KeysPath, got)
	}
}

func TestRoutes(t *testing.T) {
	tests := []struct {
		name      string
		method    string
		path      string
		wantCode  int
		wantAllow string
	}{
		{name: "get-discovery", method: http.MethodGet, path: DiscoveryPath, wantCode: http.StatusOK},
		{name: "get-keys", method: http.MethodGet, path: KeysPath, wantCode: http.StatusOK},
		{name: "post-keys", method: http.MethodPost, path: KeysPath, wantCode: http.StatusMethodNotAllowed, wantAllow: "GET"},
		{name: "delete-discovery", method: http.MethodDelete, path: DiscoveryPath, wantCode: http.StatusMethodNotAllowed, wantAllow: "GET"},
		{name: "root", method: http.MethodGet, path: "/", wantCode: http.StatusNotFound},
		{name: "token-placeholder", method: http.MethodPost, path: "/token", wantCode: http.StatusNotFound},
		{name: "keys-trailing-slash", method: http.MethodGet, path: KeysPath + "/", wantCode: http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Start(t, Options{})
			code, header, _ := get(t, tt.method, s.URL()+tt.path)
			if code != tt.wantCode {
				t.Errorf("%s %s status = %d, want %d", tt.method, tt.path, code, tt.wantCode)
			}
			if got := header.Get("Allow"); got != tt.wantAllow {
				t.Errorf("%s %s Allow = %q, want %q", tt.method, tt.path, got, tt.wantAllow)
			}
			if got := s.Requests(tt.path); got > 1 {
				t.Errorf("Requests(%q) = %d, want at most 1", tt.path, got)
			}
		})
	}
}

func TestSetAvailable(t *testing.T) {
	s := Start(t, Options{})
	s.SetAvailable(false)

	for _, path := range []string{DiscoveryPath, KeysPath, "/elsewhere"} {
		if code, _, _ := get(t, http.MethodGet, s.URL()+path); code != http.StatusServiceUnavailable {
			t.Errorf("GET %s while unavailable status = %d, want %d", path, code, http.StatusServiceUnavailable)
		}
	}
	_, err := oidc.NewProvider(oidc.ClientContext(t.Context(), httpClient()), s.URL())
	if err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("oidc.NewProvider() while unavailable error = %v, want one naming 503", err)
	}
	if got := s.Requests(DiscoveryPath); got != 2 {
		t.Errorf("Requests(%q) = %d, want 2 (outage answers are counted)", DiscoveryPath, got)
	}

	s.SetAvailable(true)
	if code, _, _ := get(t, http.MethodGet, s.URL()+DiscoveryPath); code != http.StatusOK {
		t.Errorf("GET %s after recovery status = %d, want %d", DiscoveryPath, code, http.StatusOK)
	}
}

func TestSetLatency(t *testing.T) {
	const latency = 150 * time.Millisecond
	t.Run("delays-answers", func(t *testing.T) {
		s := Start(t, Options{})
		s.SetLatency(latency)
		for _, path := range []string{DiscoveryPath, KeysPath} {
			start := time.Now()
			code, _, _ := get(t, http.MethodGet, s.URL()+path)
			if took := time.Since(start); took < latency {
				t.Errorf("GET %s took %v, want at least %v", path, took, latency)
			}
			if code != http.StatusOK {
				t.Errorf("GET %s status = %d, want %d", path, code, http.StatusOK)
			}
		}
		// Zero turns it off: with an hour of latency left on, get would
		// fail on its client's 10s timeout.
		s.SetLatency(time.Hour)
		s.SetLatency(0)
		if code, _, _ := get(t, http.MethodGet, s.URL()+DiscoveryPath); code != http.StatusOK {
			t.Errorf("GET %s after SetLatency(0) status = %d, want %d", DiscoveryPath, code, http.StatusOK)
		}
	})
	// A wait that ends early answers 503 at once: the handler returns
	// instead of sleeping out the latency. The handler is called directly so
	// that the test knows when it returns.
	ends := []struct {
		name string
		end  func(s *Server, cancel context.CancelFunc)
	}{
		{name: "client-gone", end: func(_ *Server, cancel context.CancelFunc) { cancel() }},
		{name: "server-closed", end: func(s *Server, _ context.CancelFunc) { s.Close() }},
	}
	for _, tt := range ends {
		t.Run(tt.name, func(t *testing.T) {
			s := Start(t, Options{})
			s.SetLatency(time.Hour)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			req := httptest.NewRequestWithContext(ctx, http.MethodGet, KeysPath, nil)
			rec := httptest.NewRecorder()
			done := make(chan struct{})
			go func() {
				defer close(done)
				s.routes().ServeHTTP(rec, req)
			}()
			tt.end(s, cancel)
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatalf("GET %s still waiting 5s after %s, want it answered at once", KeysPath, tt.name)
			}
			if rec.Code != http.StatusServiceUnavailable {
				t.Errorf("GET %s status = %d, want %d", KeysPath, rec.Code, http.StatusServiceUnavailable)
			}
			if got := s.Requests(KeysPath); got != 1 {
				t.Errorf("Requests(%q) = %d, want 1", KeysPath, got)
			}
		})
	}
}

func TestNewServerListenError(t *testing.T) {
	s := Start(t, Options{})
	taken := strings.TrimPrefix(s.URL(), "http://")

	_, err := NewServer(Options{Addr: taken})
	if err == nil || !strings.HasPrefix(err.Error(), "oidctest: listen on "+taken) {
		t.Errorf("NewServer(Addr: %q) error = %v, want oidctest: listen on %s: …", taken, err, taken)
	}
}

// recordingTB is a TB that records what Start does with it.
type recordingTB struct {
	fatal    string
	cleanups []func()
}

func (r *recordingTB) Helper()                           {}
func (r *recordingTB) Fatalf(format string, args ...any) { r.fatal = fmt.Sprintf(format, args...) }
func (r *recordingTB) Cleanup(f func())                  { r.cleanups = append(r.cleanups, f) }

func TestStart(t *testing.T) {
	t.Run("registers-close", func(t *testing.T) {
		tb := &recordingTB{}
		s := Start(tb, Options{})
		if s == nil || tb.fatal != "" || len(tb.cleanups) != 1 {
			t.Fatalf("Start() = %v, fatal %q, %d cleanups; want a server, no fatal, 1 cleanup", s, tb.fatal, len(tb.cleanups))
		}
		tb.cleanups[0]()
		s.Close() // a second Close is harmless
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, s.URL()+DiscoveryPath, nil)
		if err != nil {
			t.Fatalf("http.NewRequest() error = %v", err)
		}
		if resp, err := httpClient().Do(req); err == nil {
			resp.Body.Close()
			t.Errorf("GET after Close status = %d, want a connection error", resp.StatusCode)
		}
	})
	t.Run("fatal-on-error", func(t *testing.T) {
		tb := &recordingTB{}
		s := Start(tb, Options{Addr: "127.0.0.1:-1"})
		if s != nil {
			t.Errorf("Start() = %v, want nil", s)
		}
		if !strings.Contains(tb.fatal, "oidctest: listen on 127.0.0.1:-1") {
			t.Errorf("Start() Fatalf message = %q, want one naming the listen error", tb.fatal)
		}
	})
}
