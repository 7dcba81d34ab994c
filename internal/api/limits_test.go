package api

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"golang.org/x/time/rate"

	"github.com/stsbroker/broker/internal/oidctest"
	"github.com/stsbroker/broker/internal/ststest"
)

// limitClock is a settable clock for the server and the cache, so that rate
// limits and degraded times need no sleeps.
type limitClock struct {
	mu  sync.Mutex
	now time.Time
}

func newLimitClock() *limitClock { return &limitClock{now: time.Now().UTC().Truncate(time.Second)} }

func (c *limitClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *limitClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func (b *testBroker) metricsText(t *testing.T) string {
	t.Helper()
	_, body := b.get(t, "/metrics", "")
	return string(body)
}

func wantMetrics(t *testing.T, text string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(text, w+"\n") {
			t.Errorf("metrics lack %q", w)
		}
	}
}

func wantRateLimited(retryAfter, message string) wantError {
	return wantError{status: 429, code: "rate_limited", message: message, header: map[string]string{"Retry-After": retryAfter}}
}

func TestRateLimitPerIdentity(t *testing.T) {
	clk := newLimitClock()
	b := newTestBroker(t, brokerOpts{now: clk.Now, ratePerIdentity: 0.1, ratePerIdentityBurst: 2})
	claimsA := oidctest.GitHubActionsClaims("myorg/app", "refs/heads/main")
	a := "Bearer " + b.mintClaims(t, claimsA)
	other := "Bearer " + b.mintClaims(t, oidctest.GitHubActionsClaims("myorg/other", "refs/heads/main"))

	for i := range 2 {
		if resp, body := b.get(t, "/v1/credentials/prod-deploy", a); resp.StatusCode != 200 {
			t.Fatalf("request %d = %d %s, want 200 within the burst", i+1, resp.StatusCode, body)
		}
	}
	resp, body := b.get(t, "/v1/credentials/prod-deploy", a)
	checkError(t, resp, body, wantRateLimited("10", "too many requests from this identity; retry in 10s"))
	// The bucket is per identity: another caller is not affected …
	if resp, body := b.get(t, "/v1/credentials/prod-deploy", other); resp.StatusCode != 200 {
		t.Errorf("another identity = %d %s, want 200", resp.StatusCode, body)
	}
	// … and every /v1 route draws from the same bucket.
	resp, body = b.get(t, "/v1/profiles", a)
	checkError(t, resp, body, wantRateLimited("10", "too many requests from this identity; retry in 10s"))

	clk.Advance(4 * time.Second)
	resp, body = b.get(t, "/v1/container/prod-deploy", a)
	checkError(t, resp, body, wantRateLimited("6", "too many requests from this identity; retry in 6s"))
	clk.Advance(6 * time.Second)
	if resp, body := b.get(t, "/v1/credentials/prod-deploy", a); resp.StatusCode != 200 {
		t.Errorf("after the wait = %d %s, want 200", resp.StatusCode, body)
	}

	wantMetrics(t, b.metricsText(t),
		`broker_rate_limited_total{limit="identity"} 3`,
		`broker_rate_limited_total{limit="global"} 0`,
		`broker_rate_limited_total{limit="inflight"} 0`,
	)
	var refused []map[string]any
	for _, e := range b.Logs.FilterMessage("credentials refused").All() {
		if f := e.ContextMap(); f["reason"] == "rate_limited" {
			refused = append(refused, f)
		}
	}
	if len(refused) != 3 {
		t.Fatalf("rate_limited audit lines = %d, want 3", len(refused))
	}
	for _, f := range refused {
		if f["issuer"] != "github" || f["sub"] != claimsA["sub"] || f["status"] != int64(429) ||
			!strings.HasPrefix(f["detail"].(string), "too many requests from this identity") {
			t.Errorf("audit refusal = %v, want issuer github, sub %v, status 429, the identity limit", f, claimsA["sub"])
		}
	}
}

func TestRateLimitGlobal(t *testing.T) {
	clk := newLimitClock()
	b := newTestBroker(t, brokerOpts{now: clk.Now, rateGlobal: 0.5, rateGlobalBurst: 2})
	token := "Bearer " + b.mint(t)

	if resp, _ := b.get(t, "/v1/credentials/prod-deploy", ""); resp.StatusCode != 401 {
		t.Fatalf("no token = %d, want 401", resp.StatusCode)
	}
	if resp, body := b.get(t, "/v1/credentials/prod-deploy", token); resp.StatusCode != 200 {
		t.Fatalf("valid token = %d %s, want 200", resp.StatusCode, body)
	}
	// Beyond the bucket the answer is 429 before the token is looked at:
	// no WWW-Authenticate for a missing token, no verification for a good one.
	resp, body := b.get(t, "/v1/credentials/prod-deploy", "")
	checkError(t, resp, body, wantRateLimited("2", "the broker is at its request limit; retry in 2s"))
	if h := resp.Header.Get("WWW-Authenticate"); h != "" {
		t.Errorf("WWW-Authenticate = %q, want none: the token was not looked at", h)
	}
	clk.Advance(time.Second)
	resp, body = b.get(t, "/v1/profiles", token)
	checkError(t, resp, body, wantRateLimited("1", "the broker is at its request limit; retry in 1s"))
	// Health endpoints are not limited.
	for _, path := range []string{"/healthz", "/readyz"} {
		if resp, _ := b.get(t, path, ""); resp.StatusCode != 200 {
			t.Errorf("GET %s = %d, want 200", path, resp.StatusCode)
		}
	}
	clk.Advance(time.Second)
	if resp, body := b.get(t, "/v1/credentials/prod-deploy", token); resp.StatusCode != 200 {
		t.Errorf("after the wait = %d %s, want 200", resp.StatusCode, body)
	}

	wantMetrics(t, b.metricsText(t),
		`broker_rate_limited_total{limit="global"} 2`,
		`broker_rate_limited_total{limit="identity"} 0`,
		`broker_token_verifications_total{result="ok"} 2`,
		`broker_http_request_duration_seconds_count{route="/v1/credentials/{profile}",status="429"} 1`,
		`broker_http_request_duration_seconds_count{route="/v1/profiles",status="429"} 1`,
	)
	// Refusals before anyone is identified write no audit line: beyond
	// the limit, a flood would otherwise be one audit write per request.
	if n := b.Logs.FilterMessage("credentials refused").FilterField(zap.String("reason", "rate_limited")).Len(); n != 0 {
		t.Errorf("rate_limited audit lines = %d, want none", n)
	}
	if n := b.Logs.FilterMessage("request").FilterField(zap.String("error_code", "rate_limited")).Len(); n != 2 {
		t.Errorf("rate_limited access lines = %d, want 2", n)
	}
}

// get returns key's bucket as a request's take would find it.
func (l *identityLimiters) get(key identityKey, now time.Time) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.bucketLocked(key, now)
}

func TestIdentityLimitersEvictLeastRecentlyUsed(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newIdentityLimiters(1, 1, 2)
	a := l.get(identityKey{"github", "a"}, now)
	if _, ok := take(a, now); !ok {
		t.Fatalf("take(a) = refused, want the first token")
	}
	b := l.get(identityKey{"github", "b"}, now)
	_, _ = take(b, now)
	l.get(identityKey{"github", "a"}, now) // a is now the most recently used
	l.get(identityKey{"github", "c"}, now) // evicts b
	if n := l.len(); n != 2 {
		t.Errorf("len() = %d, want 2", n)
	}
	if got := l.get(identityKey{"github", "a"}, now); got != a {
		t.Errorf("get(a) returned a new bucket, want the kept one")
	}
	if wait, ok := take(l.get(identityKey{"github", "a"}, now), now); ok || wait != 1 {
		t.Errorf("take(a) = %d, %v, want 1, false: a's bucket kept its state", wait, ok)
	}
	if got := l.get(identityKey{"github", "b"}, now); got == b {
		t.Errorf("get(b) returned the evicted bucket, want a new one")
	}
	if n := l.len(); n != 2 {
		t.Errorf("len() after re-adding b = %d, want 2", n)
	}
	// The key is issuer and sub: the same sub of another issuer is another
	// identity.
	if got := l.get(identityKey{"gitlab", "a"}, now); got == a {
		t.Errorf("get(gitlab, a) returned github's bucket for a, want its own")
	}
}

// TestIdentityLimitersTake: one identity's burst is its own, whatever other
// identities do, and a bucket dropped because it was full gives exactly
// what it would have given.
func TestIdentityLimitersTake(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newIdentityLimiters(1, 1, 1000)
	a, b, c := identityKey{"github", "a"}, identityKey{"github", "b"}, identityKey{"github", "c"}
	if _, ok := l.take(a, t0); !ok {
		t.Fatalf("take(a) = refused, want its one token")
	}
	if _, ok := l.take(b, t0); !ok {
		t.Fatalf("take(b) = refused, want its own token")
	}
	if wait, ok := l.take(a, t0); ok || wait != 1 {
		t.Errorf("take(a) again = %d, %v, want 1, false", wait, ok)
	}
	// A second later both are full again; c's insertion drops them.
	t1 := t0.Add(time.Second)
	if _, ok := l.take(c, t1); !ok || l.len() != 1 {
		t.Fatalf("take(c) = %v with %d buckets, want a token and only c's bucket", ok, l.len())
	}
	if _, ok := l.take(a, t1); !ok {
		t.Errorf("take(a) after its full bucket was dropped = refused, want a token")
	}
	if wait, ok := l.take(a, t1); ok || wait != 1 {
		t.Errorf("take(a) again = %d, %v, want 1, false: the new bucket counts", wait, ok)
	}
}

// TestIdentityLimitersDropFullBuckets: a new identity's bucket drops the
// least recently used buckets that are full again (they are the same as new
// ones), at most pruneScan of them, and never one that is still refilling.
func TestIdentityLimitersDropFullBuckets(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newIdentityLimiters(10, 50, 1000) // the defaults: full again 5 s after a burst
	id := func(i int) identityKey { return identityKey{"github", fmt.Sprint("caller-", i)} }
	for i := range pruneScan + 2 {
		if _, ok := take(l.get(id(i), t0), t0); !ok {
			t.Fatalf("take(caller-%d) refused", i)
		}
	}
	// caller-5 empties its bucket 4.9 s later: it is still refilling 0.2 s
	// after that, when the others (one token taken at t0) are full.
	drained := t0.Add(4900 * time.Millisecond)
	for range 50 {
		take(l.get(id(pruneScan+1), drained), drained)
	}
	later := drained.Add(200 * time.Millisecond)
	l.get(id(100), later)
	// The pruneScan oldest (0..3) were full and dropped; caller-4 is full
	// too but beyond the scan; caller-5 is not full; caller-100 is new.
	if got, want := l.len(), 3; got != want {
		t.Errorf("len() = %d, want %d (caller-4, caller-5, caller-100)", got, want)
	}
	if got := l.get(id(pruneScan+1), later).TokensAt(later); got >= 50 {
		t.Errorf("caller-5's bucket holds %.1f tokens, want its drained bucket kept (< 50)", got)
	}
	// The next new identity drops caller-4 and caller-100 (full: nothing
	// was taken from the new bucket) and stops at caller-5.
	l.get(id(101), later)
	if got, want := l.len(), 2; got != want {
		t.Errorf("len() after another identity = %d, want %d (caller-5, caller-101)", got, want)
	}
}

func TestReadyzDegraded(t *testing.T) {
	clk := newLimitClock()
	b := newTestBroker(t, brokerOpts{now: clk.Now})
	cached := "Bearer " + b.mint(t)
	if resp, body := b.get(t, "/v1/credentials/prod-deploy", cached); resp.StatusCode != 200 {
		t.Fatalf("first request = %d %s, want 200", resp.StatusCode, body)
	}
	wantReadyz := func(want string) {
		t.Helper()
		resp, body := b.get(t, "/readyz", "")
		if resp.StatusCode != 200 || string(body) != want {
			t.Errorf("/readyz = %d %q, want 200 %q", resp.StatusCode, body, want)
		}
	}
	wantReadyz("ready\n")

	b.STS.InjectFault("", ststest.Fault{Status: 503})
	failedAt := clk.Now()
	resp, _ := b.get(t, "/v1/credentials/prod-deploy", "Bearer "+b.mintClaims(t, oidctest.GitHubActionsClaims("myorg/new", "refs/heads/main")))
	if resp.StatusCode != 503 {
		t.Fatalf("new identity while STS fails = %d, want 503", resp.StatusCode)
	}
	clk.Advance(time.Minute)
	wantReadyz("ready (degraded: STS failing since " + failedAt.Format(time.RFC3339) + "; serving cached credentials)\n")
	if resp, body := b.get(t, "/v1/credentials/prod-deploy", cached); resp.StatusCode != 200 {
		t.Errorf("cached identity while STS fails = %d %s, want 200", resp.StatusCode, body)
	}

	b.STS.ClearFaults()
	if resp, body := b.get(t, "/v1/credentials/prod-deploy", "Bearer "+b.mintClaims(t, oidctest.GitHubActionsClaims("myorg/third", "refs/heads/main"))); resp.StatusCode != 200 {
		t.Fatalf("new identity after STS recovered = %d %s, want 200", resp.StatusCode, body)
	}
	wantReadyz("ready\n")
}
