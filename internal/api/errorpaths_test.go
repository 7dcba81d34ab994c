package api

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

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
		{name: "post", method: http.MethodPost, path: "/v1/credentials/prod-deploy",
			want: wantError{status: 405, code: "method_not_allowed", message: "method not allowed"}},
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
