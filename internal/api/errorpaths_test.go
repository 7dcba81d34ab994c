package api

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"
	"go.uber.org/zap"

	"github.com/stsbroker/broker/internal/oidctest"
	"github.com/stsbroker/broker/internal/ststest"
)

// TestRequestErrors covers the request-shape errors the refusal matrix does
// not: a repeated format, a query on endpoints that take none, and a method
// the API does not serve.
func TestRequestErrors(t *testing.T) {
	b := newTestBroker(t, brokerOpts{})
	bearer := "Bearer " + b.mint(t)
	tests := []struct {
		name   string
		method string
		path   string
		want   wantError
	}{
		{name: "format-twice", path: "/v1/credentials/prod-deploy?format=env&format=json",
			want: wantError{status: 400, code: "invalid_request", message: "format given more than once"}},
		{name: "container-query", path: "/v1/container/prod-deploy?format=env",
			want: wantError{status: 400, code: "invalid_request", message: "this endpoint takes no query parameters"}},
		{name: "profiles-query", path: "/v1/profiles?all=1",
			want: wantError{status: 400, code: "invalid_request", message: "this endpoint takes no query parameters"}},
		// Query strings that net/url cannot parse: r.URL.Query() would
		// drop them and answer JSON to a caller that asked for env lines.
		{name: "query-semicolon", path: "/v1/credentials/prod-deploy?format=env;x=1",
			want: wantError{status: 400, code: "invalid_request", message: "the query string does not parse; want format=json or format=env"}},
		{name: "query-bad-escape", path: "/v1/credentials/prod-deploy?%zz",
			want: wantError{status: 400, code: "invalid_request", message: "the query string does not parse; want format=json or format=env"}},
		{name: "post", method: http.MethodPost, path: "/v1/credentials/prod-deploy",
			want: wantError{status: 405, code: "method_not_allowed", message: "method not allowed; this path takes GET", header: map[string]string{"Allow": "GET"}}},
		{name: "post-healthz", method: http.MethodPost, path: "/healthz",
			want: wantError{status: 405, code: "method_not_allowed", message: "method not allowed; this path takes GET, HEAD", header: map[string]string{"Allow": "GET, HEAD"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := tt.method
			if method == "" {
				method = http.MethodGet
			}
			req, err := http.NewRequestWithContext(t.Context(), method, b.URL+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", bearer)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body := make([]byte, 4096)
			n, _ := resp.Body.Read(body)
			checkError(t, resp, body[:n], tt.want)
		})
	}
	if got := b.STS.Calls("AssumeRoleWithWebIdentity"); got != 0 {
		t.Errorf("STS calls after refused requests = %d, want 0", got)
	}
}

// TestHeadHealth: HEAD on /healthz and /readyz answers as GET does,
// without a body (some load balancers' health checks use HEAD); HEAD on a
// credentials path is 405 naming GET.
func TestHeadHealth(t *testing.T) {
	b := newTestBroker(t, brokerOpts{})
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/v1/credentials/prod-deploy": 405} {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodHead, b.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("HEAD %s = %d, want %d", path, resp.StatusCode, want)
		}
		if want == 405 && resp.Header.Get("Allow") != "GET" {
			t.Errorf("HEAD %s: Allow = %q, want GET", path, resp.Header.Get("Allow"))
		}
	}
}

// TestContainerErrorsForSDKs: the Go SDK's container-credentials provider
// reads an error's code from "code" (wire-facts §2.5); /v1/container
// errors carry it next to design.md's "error", so the SDK's message names
// it. Other paths keep design.md's two keys.
func TestContainerErrorsForSDKs(t *testing.T) {
	b := newTestBroker(t, brokerOpts{})
	token := b.mint(t)
	prov := endpointcreds.New(b.URL+"/v1/container/nope", func(o *endpointcreds.Options) { o.AuthorizationToken = token })
	_, err := prov.Retrieve(t.Context())
	if err == nil || !strings.Contains(err.Error(), `unknown_profile: unknown profile "nope"`) {
		t.Errorf("endpointcreds Retrieve() = %v, want an error naming unknown_profile and its message", err)
	}
	_, body := b.get(t, "/v1/container/nope", token)
	if want := `{"error":"unknown_profile","code":"unknown_profile","message":"unknown profile \"nope\""}` + "\n"; string(body) != want {
		t.Errorf("container error body = %q, want %q", body, want)
	}
	_, body = b.get(t, "/v1/credentials/nope", "Bearer "+token)
	if want := `{"error":"unknown_profile","message":"unknown profile \"nope\""}` + "\n"; string(body) != want {
		t.Errorf("credentials error body = %q, want %q", body, want)
	}
}

// TestTokenExpiredWithinSkew: a token a few seconds past its exp passes
// verification (30 s of clock skew) and is served from the cache, but a
// miss cannot run a chain with it: STS would refuse it. The answer is 401
// token expired, with no STS call, not STS's ExpiredTokenException as a
// 502.
func TestTokenExpiredWithinSkew(t *testing.T) {
	b := newTestBroker(t, brokerOpts{})
	claims := oidctest.GitHubActionsClaims("myorg/app", "refs/heads/main")
	claims["exp"] = time.Now().Add(-5 * time.Second).Unix()
	resp, body := b.get(t, "/v1/credentials/prod-deploy", "Bearer "+b.mintClaims(t, claims))
	checkError(t, resp, body, wantError{status: 401, code: "invalid_token", message: "token expired", header: invalidToken})
	if n := b.STS.Calls("AssumeRoleWithWebIdentity"); n != 0 {
		t.Errorf("AssumeRoleWithWebIdentity calls = %d, want 0", n)
	}
}

// TestWaitingChainsBounded: misses beyond the chains waiting for an STS
// slot are refused at once with 429 and Retry-After, counted under
// limit="chains", without an STS call.
func TestWaitingChainsBounded(t *testing.T) {
	b := newTestBroker(t, brokerOpts{maxConcurrentChains: 1, maxWaitingFills: 1})
	b.STS.InjectFault("AssumeRoleWithWebIdentity", ststest.Fault{Latency: 2 * time.Second, Times: 1})
	var wg sync.WaitGroup
	for _, repo := range []string{"myorg/a", "myorg/b"} {
		// One holds the slot (its STS call takes 2 s), the other waits.
		token := b.mintClaims(t, oidctest.GitHubActionsClaims(repo, "refs/heads/main"))
		wg.Go(func() {
			if resp, body := b.get(t, "/v1/credentials/prod-deploy", "Bearer "+token); resp.StatusCode != http.StatusOK {
				t.Errorf("%s: status = %d %s, want 200", repo, resp.StatusCode, body)
			}
		})
		time.Sleep(300 * time.Millisecond)
	}
	token := b.mintClaims(t, oidctest.GitHubActionsClaims("myorg/c", "refs/heads/main"))
	resp, body := b.get(t, "/v1/credentials/prod-deploy", "Bearer "+token)
	checkError(t, resp, body, wantError{status: 429, code: "rate_limited", message: "too many chains of STS calls waiting; retry shortly",
		header: map[string]string{"Retry-After": "1"}})
	wg.Wait()
	wantMetrics(t, b.metricsText(t), `broker_rate_limited_total{limit="chains"} 1`)
	if n := b.STS.Calls("AssumeRoleWithWebIdentity"); n != 2 {
		t.Errorf("AssumeRoleWithWebIdentity calls = %d, want 2 (none for the refused miss)", n)
	}
}

// TestIssuerUnavailable: an issuer down at start leaves the broker up but
// not ready, and a token of that issuer gets 503 issuer_unavailable (a retry
// may help), not 401.
func TestIssuerUnavailable(t *testing.T) {
	b := newTestBroker(t, brokerOpts{issuerDown: true})
	token := b.mint(t) // minting works while the issuer's endpoints are down
	resp, body := b.get(t, "/v1/credentials/prod-deploy", "Bearer "+token)
	checkError(t, resp, body, wantError{status: 503, code: "issuer_unavailable",
		message: "the token issuer's keys cannot be fetched; retry later", header: map[string]string{"Retry-After": "5"}})
	resp, body = b.get(t, "/readyz", "")
	if resp.StatusCode != http.StatusServiceUnavailable || string(body) != "not ready: issuer keys not fetched yet (github)\n" {
		t.Errorf("/readyz = %d %q, want 503 not ready", resp.StatusCode, body)
	}
}

// TestInflightLimit: beyond MaxInflight concurrent credentials requests the
// broker answers 429 at once instead of queueing.
func TestInflightLimit(t *testing.T) {
	b := newTestBroker(t, brokerOpts{maxInflight: 1})
	b.STS.InjectFault("AssumeRoleWithWebIdentity", ststest.Fault{Latency: time.Second, Times: 1})
	slow := b.mint(t)
	var wg sync.WaitGroup
	wg.Go(func() {
		if resp, body := b.get(t, "/v1/credentials/prod-deploy", "Bearer "+slow); resp.StatusCode != http.StatusOK {
			t.Errorf("first request = %d %s, want 200", resp.StatusCode, body)
		}
	})
	// The first request holds the only slot for the injected second of STS
	// latency (the emulator counts a call only once it answers, so there is
	// nothing to poll); 300ms is well inside that window.
	time.Sleep(300 * time.Millisecond)
	resp, body := b.get(t, "/v1/container/prod-deploy", b.mint(t))
	checkError(t, resp, body, wantError{status: 429, code: "rate_limited",
		message: "too many requests in flight; retry shortly", header: map[string]string{"Retry-After": "1"}})
	// The profiles listing shares the bound: it verifies a token too, and
	// waits on a slow issuer like a credentials request does.
	resp, body = b.get(t, "/v1/profiles", "Bearer "+b.mint(t))
	checkError(t, resp, body, wantError{status: 429, code: "rate_limited",
		message: "too many requests in flight; retry shortly", header: map[string]string{"Retry-After": "1"}})
	wg.Wait()

	wantMetrics(t, b.metricsText(t), `broker_rate_limited_total{limit="inflight"} 2`)
	// As for the global limit, refusals before anyone is identified write
	// no audit line; the access log has them.
	if n := b.Logs.FilterMessage("credentials refused").Len(); n != 0 {
		t.Errorf("audit refusal lines = %d, want none: %v", n, b.Logs.FilterMessage("credentials refused").All())
	}
	if n := b.Logs.FilterMessage("request").FilterField(zap.String("error_code", "rate_limited")).Len(); n != 2 {
		t.Errorf("rate_limited access lines = %d, want 2", n)
	}
}
