package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const (
	runtimeRequestToken = "runtime-request-token-5ecret"
	runtimeJWT          = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOm15b3JnL2FwcDpyZWY6cmVmcy9oZWFkcy9tYWluIn0.c2lnbmF0dXJl"
)

// actionsRuntime behaves like the GitHub Actions token endpoint: it checks
// the request token and answers {"value": <JWT>} (wire-facts §6.1). Mode
// changes the answer for failure cases.
type actionsRuntime struct {
	srv  *httptest.Server
	mode string // "", "no-value", "not-json", "503"

	mu        sync.Mutex
	rawQuerys []string
}

func startActionsRuntime(t *testing.T, mode string) *actionsRuntime {
	t.Helper()
	rt := &actionsRuntime{mode: mode}
	rt.srv = httptest.NewServer(http.HandlerFunc(rt.serve))
	t.Cleanup(rt.srv.Close)
	return rt
}

func (rt *actionsRuntime) serve(w http.ResponseWriter, r *http.Request) {
	rt.mu.Lock()
	rt.rawQuerys = append(rt.rawQuerys, r.URL.RawQuery)
	rt.mu.Unlock()
	if r.Method != http.MethodGet || r.URL.Path != "/_apis/token" {
		http.NotFound(w, r)
		return
	}
	// The toolkit sends "bearer"; compare case-insensitively on the scheme as HTTP does.
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "bearer") || tok != runtimeRequestToken {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	switch rt.mode {
	case "no-value":
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"count":1}`))
	case "not-json":
		_, _ = w.Write([]byte(`<html>oops ` + runtimeRequestToken + `</html>`))
	case "503":
		w.WriteHeader(http.StatusServiceUnavailable)
	default:
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"count": 1, "value": runtimeJWT})
	}
}

func (rt *actionsRuntime) queries() []string {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return append([]string(nil), rt.rawQuerys...)
}

// closedPort returns a 127.0.0.1 address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("Listen() error = %v", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestGitHubActionsSource(t *testing.T) {
	dead := closedPort(t)
	tests := []struct {
		name        string
		mode        string
		urlSuffix   string // appended to the runtime's base URL; "" for no URL env
		reqToken    string
		audience    string
		dialDead    bool
		want        string
		wantQueries []string
		wantExit    int
		wantLine    string
	}{
		{
			name: "url-with-query-and-audience", urlSuffix: "/_apis/token?api-version=2.0", reqToken: runtimeRequestToken,
			audience: "sts.amazonaws.com", want: runtimeJWT,
			wantQueries: []string{"api-version=2.0&audience=sts.amazonaws.com"},
		},
		{
			name: "url-without-query-escapes-audience", urlSuffix: "/_apis/token", reqToken: runtimeRequestToken,
			audience: "https://broker.example/a b&c", want: runtimeJWT,
			wantQueries: []string{"audience=https%3A%2F%2Fbroker.example%2Fa+b%26c"},
		},
		{
			name: "no-audience-omits-parameter", urlSuffix: "/_apis/token?api-version=2.0", reqToken: runtimeRequestToken,
			want: runtimeJWT, wantQueries: []string{"api-version=2.0"},
		},
		{
			name: "wrong-request-token", urlSuffix: "/_apis/token?api-version=2.0", reqToken: "wrong",
			audience: "sts.amazonaws.com", wantQueries: []string{"api-version=2.0&audience=sts.amazonaws.com"},
			wantExit: ExitUsage, wantLine: "broker: github actions: token request answered 401",
		},
		{
			name: "no-value", mode: "no-value", urlSuffix: "/_apis/token?api-version=2.0", reqToken: runtimeRequestToken,
			wantQueries: []string{"api-version=2.0"},
			wantExit:    ExitUsage, wantLine: "broker: github actions: token answer has no value",
		},
		{
			name: "not-json", mode: "not-json", urlSuffix: "/_apis/token?api-version=2.0", reqToken: runtimeRequestToken,
			wantQueries: []string{"api-version=2.0"},
			wantExit:    ExitUsage, wantLine: "broker: github actions: token answer is not the expected JSON",
		},
		{
			name: "runtime-unavailable", mode: "503", urlSuffix: "/_apis/token?api-version=2.0", reqToken: runtimeRequestToken,
			wantQueries: []string{"api-version=2.0"},
			wantExit:    ExitTransient, wantLine: "broker: github actions: token request answered 503",
		},
		{
			name: "missing-url-env", reqToken: runtimeRequestToken,
			wantExit: ExitUsage, wantLine: "broker: github actions: ACTIONS_ID_TOKEN_REQUEST_URL is not set; the job needs `permissions: id-token: write`",
		},
		{
			name: "missing-token-env", urlSuffix: "/_apis/token?api-version=2.0",
			wantExit: ExitUsage, wantLine: "broker: github actions: ACTIONS_ID_TOKEN_REQUEST_TOKEN is not set; the job needs `permissions: id-token: write`",
		},
		{
			name: "runtime-unreachable", urlSuffix: "/_apis/token?api-version=2.0", reqToken: runtimeRequestToken, dialDead: true,
			wantExit: ExitTransient, wantLine: "broker: github actions: cannot reach " + dead + ": connect: connection refused",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt := startActionsRuntime(t, tt.mode)
			env := map[string]string{EnvActionsRequestToken: tt.reqToken}
			if tt.urlSuffix != "" {
				base := rt.srv.URL
				if tt.dialDead {
					base = "http://" + dead
				}
				env[EnvActionsRequestURL] = base + tt.urlSuffix
			}
			src := GitHubActionsSource{Audience: tt.audience, Getenv: func(k string) string { return env[k] }}

			got, err := src.Token(t.Context())

			if got != tt.want {
				t.Errorf("Token() = %q, want %q", got, tt.want)
			}
			if tt.wantLine == "" {
				if err != nil {
					t.Errorf("Token() error = %v, want nil", err)
				}
			} else {
				wantError(t, err, tt.wantExit, tt.wantLine)
				if strings.Contains(err.Error(), runtimeRequestToken) {
					t.Errorf("Token() error %q contains the request token", err)
				}
			}
			if diff := cmp.Diff(tt.wantQueries, rt.queries(), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("runtime request queries mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// A runtime URL of plain http off loopback is refused before any request:
// the request token would cross the network in clear.
func TestGitHubActionsSourcePlainHTTP(t *testing.T) {
	env := map[string]string{EnvActionsRequestURL: "http://192.0.2.1:9/_apis/token", EnvActionsRequestToken: runtimeRequestToken}
	src := GitHubActionsSource{Getenv: func(k string) string { return env[k] }}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	_, err := src.Token(ctx)
	wantError(t, err, ExitUsage, "broker: github actions: ACTIONS_ID_TOKEN_REQUEST_URL is plain http to a host that is not loopback; the request token would cross the network in clear (--insecure-plaintext allows it)")

	// --insecure-plaintext allows it: the request is made (and fails here
	// as a transient connection error, nothing listens there).
	src.InsecurePlaintext = true
	_, err = src.Token(ctx)
	if e, ok := errors.AsType[*Error](err); !ok || e.Exit != ExitTransient {
		t.Errorf("Token() with InsecurePlaintext = %v, want a transient connection error", err)
	}
}

// A redirect from the runtime is not followed: net/http would resend the
// Authorization header (the request token) to a target on the same host
// name, here 127.0.0.1 on another port, over plain http. It fails like
// other refusals of the runtime, exit 2.
func TestGitHubActionsSourceDoesNotFollowRedirects(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		httpClient *http.Client // the source's HTTPClient; nil for the default
	}{
		{name: "302", status: http.StatusFound},
		{name: "307", status: http.StatusTemporaryRedirect},
		{name: "308", status: http.StatusPermanentRedirect},
		{name: "caller-client-that-follows", status: http.StatusTemporaryRedirect, httpClient: &http.Client{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			var stolen []string // Authorization headers the second server received
			second := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				stolen = append(stolen, r.Header.Get("Authorization"))
				mu.Unlock()
				w.Header().Set("Content-Type", "application/json")
				_ = json.NewEncoder(w).Encode(map[string]any{"value": runtimeJWT})
			}))
			t.Cleanup(second.Close)
			runtime := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, second.URL+"/_apis/token?"+r.URL.RawQuery, tt.status)
			}))
			t.Cleanup(runtime.Close)
			env := map[string]string{
				EnvActionsRequestURL:   runtime.URL + "/_apis/token?api-version=2.0",
				EnvActionsRequestToken: runtimeRequestToken,
			}
			src := GitHubActionsSource{Audience: DefaultAudience, Getenv: func(k string) string { return env[k] }, HTTPClient: tt.httpClient}

			got, err := src.Token(t.Context())

			mu.Lock()
			if len(stolen) != 0 {
				t.Errorf("redirect target got %d requests (Authorization %q), want none", len(stolen), stolen)
			}
			mu.Unlock()
			if got != "" {
				t.Errorf("Token() = %q, want empty", got)
			}
			wantError(t, err, ExitUsage, fmt.Sprintf("broker: github actions: token request answered %d (a redirect, not followed)", tt.status))
		})
	}
}
