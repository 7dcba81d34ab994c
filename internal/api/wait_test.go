package api

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/stsbroker/broker/internal/auth"
	"github.com/stsbroker/broker/internal/oidctest"
)

// issuerLatency is how slowly the issuer answers in these tests: far longer
// than any request may wait for it.
const issuerLatency = 5 * time.Second

// reloadUnfetched gives b a verifier that has not fetched the issuer's keys
// yet and whose next attempt is due, and makes the issuer slow: the next
// token to verify waits for the issuer's discovery document. This is the
// first request after a start with the issuer down, once the refetch
// interval has passed. (The harness's own verifier fetched the keys when it
// was built, so its requests never wait.)
func reloadUnfetched(t *testing.T, b *testBroker) {
	t.Helper()
	// New makes its one attempt while the issuer is down.
	b.Issuer.SetAvailable(false)
	clk := newLimitClock()
	v := newClockedVerifier(t, b, clk)
	if v.Ready() {
		t.Fatalf("verifier Ready() = true after a start with the issuer down, want false")
	}
	// One attempt per interval: let the interval pass, so that the next
	// request's attempt goes to the issuer instead of failing at once. The
	// background retry runs on real timers (about 30s): not in this test.
	clk.Advance(auth.DefaultJWKSRefetchInterval)
	b.Issuer.SetAvailable(true)
	b.Issuer.SetLatency(issuerLatency)
	if err := b.Server.Reload(v, newProfileSet(t, seedProfiles())); err != nil {
		t.Fatalf("Reload() = %v", err)
	}
}

// newClockedVerifier is a verifier of b's issuer on clk, closed when the
// test ends (Close cancels an attempt a request left waiting on a slow
// issuer); b.Server.Reload swaps it in.
func newClockedVerifier(t *testing.T, b *testBroker, clk *limitClock) *auth.Verifier {
	t.Helper()
	v, err := auth.New(t.Context(), auth.Config{
		Issuers: []auth.IssuerConfig{{Name: "github", URL: b.Issuer.URL(), Audiences: []string{"sts.amazonaws.com"}}},
		Now:     clk.Now,
	})
	if err != nil {
		t.Fatalf("auth.New() = %v", err)
	}
	t.Cleanup(v.Close)
	return v
}

// waitUntil polls cond until it holds, failing t after 5s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited 5s for %s", what)
		}
	}
}

// TestProfilesWaitForIssuerIsBounded: GET /v1/profiles verifies a token, and
// verification may wait for the issuer's keys; that wait ends at the
// request timeout, not when the issuer answers, with a 503 that tells the
// caller to retry.
func TestProfilesWaitForIssuerIsBounded(t *testing.T) {
	const timeout = 250 * time.Millisecond
	b := newTestBroker(t, brokerOpts{requestTimeout: timeout})
	reloadUnfetched(t, b)
	token := b.mint(t)
	asked := b.Issuer.Requests(oidctest.DiscoveryPath)

	start := time.Now()
	resp, body := b.get(t, "/v1/profiles", "Bearer "+token)
	took := time.Since(start)
	checkError(t, resp, body, wantError{status: 503, code: "issuer_unavailable",
		message: "the token issuer's keys cannot be fetched; retry later", header: map[string]string{"Retry-After": "5"}})
	if took < timeout || took > 2*time.Second {
		t.Errorf("answer took %v, want about the %v request timeout (the issuer takes %v)", took, timeout, issuerLatency)
	}
	// The request waited on the issuer: it is no refusal decided without asking.
	if got := b.Issuer.Requests(oidctest.DiscoveryPath) - asked; got != 1 {
		t.Errorf("discovery requests during GET /v1/profiles = %d, want 1", got)
	}
}

// hangUpWhenAsked sends a credentials request with token and hangs up as
// soon as the broker has asked the issuer for path (the broker is then
// waiting on the issuer), then waits for the client to have given up.
func hangUpWhenAsked(t *testing.T, b *testBroker, token, path string) {
	t.Helper()
	asked := b.Issuer.Requests(path)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.URL+"/v1/credentials/prod-deploy", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	errc := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	waitUntil(t, "the broker's request for "+path, func() bool { return b.Issuer.Requests(path) > asked })
	cancel()
	if err := <-errc; err == nil {
		t.Fatalf("request answered, want the client to give up first")
	}
}

// waitLine is what TestClientClosedWhileWaitingForIssuer checks of a log
// entry.
type waitLine struct {
	Logger, Level, Message string
	Status, Code, Detail   any // as zap's observer holds them: int64, string, nil when absent
}

// TestClientClosedWhileWaitingForIssuer: a client that goes away while its
// credentials request waits for the issuer's keys is no failure of the
// broker's: the audit and access-log lines say 499 client_closed at info
// level, not 503 (or 500) at error level.
func TestClientClosedWhileWaitingForIssuer(t *testing.T) {
	b := newTestBroker(t, brokerOpts{}) // the 15s default request timeout: the client gives up first
	reloadUnfetched(t, b)
	hangUpWhenAsked(t, b, b.mint(t), oidctest.DiscoveryPath)
	// The handler notices the cancellation and logs the request.
	accessLines := func() []waitLine {
		var lines []waitLine
		for _, e := range b.Logs.All() {
			f := e.ContextMap()
			switch {
			case e.LoggerName == "audit":
				lines = append(lines, waitLine{Logger: e.LoggerName, Level: e.Level.String(), Message: e.Message,
					Status: f["status"], Code: f["reason"], Detail: f["detail"]})
			case e.Message == "request" && f["route"] == "/v1/credentials/{profile}":
				lines = append(lines, waitLine{Logger: e.LoggerName, Level: e.Level.String(), Message: e.Message,
					Status: f["status"], Code: f["error_code"]})
			}
		}
		return lines
	}
	waitUntil(t, "the access-log line", func() bool {
		lines := accessLines()
		return len(lines) > 0 && lines[len(lines)-1].Message == "request"
	})
	want := []waitLine{
		{Logger: "audit", Level: "info", Message: "credentials refused", Status: int64(499), Code: "client_closed", Detail: "the client closed the request"},
		{Level: "info", Message: "request", Status: int64(499), Code: "client_closed"},
	}
	if diff := cmp.Diff(want, accessLines()); diff != "" {
		t.Errorf("log lines of the cancelled request mismatch (-want +got):\n%s", diff)
	}
	for _, e := range b.Logs.All() {
		if e.Level >= zapcore.ErrorLevel {
			t.Errorf("log entry at %s: %q %v; want none at error level", e.Level, e.Message, e.ContextMap())
		}
	}
	text := b.metricsText(t)
	wantMetrics(t, text, `broker_http_request_duration_seconds_count{route="/v1/credentials/{profile}",status="499"} 1`)
	if strings.Contains(text, `status="503"`) {
		t.Errorf("metrics count a 503 for the cancelled request")
	}
}

// TestClientClosedWhileRefetchingKeys: the same for a token with a new kid
// (the issuer rotated its keys), whose request waits for the JWKS refetch.
func TestClientClosedWhileRefetchingKeys(t *testing.T) {
	b := newTestBroker(t, brokerOpts{})
	clk := newLimitClock()
	v := newClockedVerifier(t, b, clk)
	if err := b.Server.Reload(v, newProfileSet(t, seedProfiles())); err != nil {
		t.Fatalf("Reload() = %v", err)
	}
	// The new key is the default one: tokens minted now carry its kid.
	if _, err := b.Issuer.AddKey(oidctest.RS256); err != nil {
		t.Fatal(err)
	}
	token := b.mint(t)
	// A refetch is allowed once an interval has passed since the last.
	clk.Advance(auth.DefaultJWKSRefetchInterval)
	b.Issuer.SetLatency(issuerLatency)
	hangUpWhenAsked(t, b, token, oidctest.KeysPath)
	waitUntil(t, "the access-log line", func() bool {
		return b.Logs.FilterMessage("request").FilterField(zap.String("route", "/v1/credentials/{profile}")).Len() > 0
	})
	refused := b.Logs.FilterMessage("credentials refused").All()
	if len(refused) != 1 || refused[0].ContextMap()["status"] != int64(499) || refused[0].ContextMap()["reason"] != "client_closed" {
		t.Errorf("audit lines = %v, want one 499 client_closed", refused)
	}
	for _, e := range b.Logs.All() {
		if e.Level >= zapcore.ErrorLevel {
			t.Errorf("log entry at %s: %q %v; want none at error level", e.Level, e.Message, e.ContextMap())
		}
	}
}
