package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/stsbroker/broker/internal/auth"
	"github.com/stsbroker/broker/internal/oidctest"
)

// issuerConfig is one entry of issuers:; the verbs are its name and URL.
const issuerConfig = `
  - name: %s
    url: %q
    audiences: [sts.amazonaws.com]
`

// A reload that adds an issuer whose keys cannot be fetched is refused
// while the running broker is ready: swapping it in would take the broker
// out of rotation for every tenant. /readyz stays ready and the running
// profiles stay; once the issuer is back, the same file reloads.
func TestReloadRefusesIssuerThatIsDown(t *testing.T) {
	github := oidctest.Start(t, oidctest.Options{})
	gitlab := oidctest.Start(t, oidctest.Options{})
	gitlab.SetAvailable(false)
	base := webOnly(github.URL())
	b, url, path, write := serveReloadable(t, base, options{})
	readyz := func() int {
		t.Helper()
		code, _ := getBody(t, url+"/readyz", "")
		return code
	}
	if got := readyz(); got != http.StatusOK {
		t.Fatalf("/readyz before the reload = %d, want 200", got)
	}

	withGitLab := withIssuer(base, "gitlab", gitlab.URL())
	write(withGitLab)
	err := b.reload(t.Context(), path)
	if err == nil || !strings.Contains(err.Error(), "the keys of issuer gitlab cannot be fetched now") {
		t.Fatalf("reload() with gitlab down = %v, want a refusal naming gitlab", err)
	}
	if got := readyz(); got != http.StatusOK {
		t.Errorf("/readyz after the refused reload = %d, want 200", got)
	}
	if _, ok := b.cfg.Profiles["gl"]; ok {
		t.Errorf("the refused reload's profile gl is running")
	}

	gitlab.SetAvailable(true)
	if err := b.reload(t.Context(), path); err != nil {
		t.Fatalf("reload() with gitlab back = %v", err)
	}
	if _, ok := b.cfg.Profiles["gl"]; !ok {
		t.Errorf("profile gl is not running after the reload")
	}
	if got := readyz(); got != http.StatusOK {
		t.Errorf("/readyz after the reload = %d, want 200", got)
	}
}

// A reload that changes the issuers is applied while the running broker is
// not ready (an issuer was down at start-up), even though an issuer is
// still down: refusing it would keep a broker that serves nobody from
// taking a fix. /readyz keeps naming the issuer that is down, and only it;
// the new issuer and its profile serve at once. The issuer that comes back
// is then taken up by the new verifier.
//
// The new verifier's background retry cannot be shortened from here
// (buildVerifier, whose settings Reconfigure keeps, leaves IssuerRetryMin
// at its default, one
// JWKSRefetchInterval: 30s of real time), so the test brings the broker to
// ready with a request, as a token for the issuer would, once the injected
// clock has passed the one attempt per JWKSRefetchInterval that the reload
// used.
func TestReloadAppliedWhileNotReady(t *testing.T) {
	clock := &testClock{}
	clock.set(time.Now())
	github := oidctest.Start(t, oidctest.Options{Now: clock.now})
	gitlab := oidctest.Start(t, oidctest.Options{Now: clock.now})
	github.SetAvailable(false)
	base := webOnly(github.URL())
	core, logs := observer.New(zap.WarnLevel)
	b, url, path, write := serveReloadable(t, base, options{Now: clock.now, Log: zap.New(core)})
	get := func(path, token string) (int, string) { t.Helper(); return getBody(t, url+path, token) }
	mint := func(is *oidctest.Server, sub string) string { t.Helper(); return mintSub(t, is, sub) }
	if code, body := get("/readyz", ""); code != http.StatusServiceUnavailable || !strings.Contains(body, "github") {
		t.Fatalf("/readyz with github down at start-up = %d %q, want 503 naming github", code, body)
	}

	withGitLab := withIssuer(base, "gitlab", gitlab.URL())
	write(withGitLab)
	if err := b.reload(t.Context(), path); err != nil {
		t.Fatalf("reload() adding gitlab while github is down and the broker not ready = %v, want it applied", err)
	}
	if _, ok := b.cfg.Profiles["gl"]; !ok {
		t.Errorf("profile gl is not running after the reload")
	}
	warned := logs.FilterMessage("issuers' keys cannot be fetched yet; not ready until they can").All()
	if len(warned) != 1 || fmt.Sprint(warned[0].ContextMap()["issuers"]) != "[github]" {
		t.Errorf("reload applied with github down logged %v, want one warning naming [github]", warned)
	}
	code, body := get("/readyz", "")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "github") {
		t.Errorf("/readyz after the reload, github still down = %d %q, want 503 naming github", code, body)
	}
	if strings.Contains(body, "gitlab") {
		t.Errorf("/readyz after the reload = %q, names gitlab, which is up", body)
	}
	if code, body := get("/v1/profiles", mint(gitlab, glSub)); code != http.StatusOK || !strings.Contains(body, `"gl"`) {
		t.Errorf("GET /v1/profiles with a gitlab token after the reload = %d %q, want 200 listing gl", code, body)
	}

	// The reload's verifier tried github once, at the reload: within the
	// interval, a token for github neither reaches it nor makes the broker
	// ready, even though github is back.
	github.SetAvailable(true)
	tried := github.Requests(oidctest.DiscoveryPath)
	token := mint(github, "repo:myorg/app:ref:refs/heads/main")
	if code, body := get("/v1/profiles", token); code != http.StatusServiceUnavailable || !strings.Contains(body, "issuer_unavailable") {
		t.Errorf("GET /v1/profiles with a github token within the interval = %d %q, want 503 issuer_unavailable", code, body)
	}
	if got := github.Requests(oidctest.DiscoveryPath); got != tried {
		t.Errorf("github discovery requests = %d after a token within the interval, want still %d", got, tried)
	}

	clock.add(auth.DefaultJWKSRefetchInterval)
	token = mint(github, "repo:myorg/app:ref:refs/heads/main")
	if code, body := get("/v1/profiles", token); code != http.StatusOK || !strings.Contains(body, `"web"`) {
		t.Errorf("GET /v1/profiles with a github token after the interval = %d %q, want 200 listing web", code, body)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, body := get("/readyz", "")
		if code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz = %d %q 5s after github came back and a token for it arrived, want 200", code, body)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A reload that adds an issuer does not ask the unchanged ones again: with
// github down at that moment, the reload adding gitlab is applied, github's
// tokens keep verifying with the keys fetched at start-up, and the broker
// stays ready. Before, every issuer was refetched and the reload was
// refused naming github.
func TestReloadKeepsUnchangedIssuers(t *testing.T) {
	github := oidctest.Start(t, oidctest.Options{})
	gitlab := oidctest.Start(t, oidctest.Options{})
	base := webOnly(github.URL())
	b, url, path, write := serveReloadable(t, base, options{})

	github.SetAvailable(false)
	asked := github.Requests(oidctest.DiscoveryPath) + github.Requests(oidctest.KeysPath)
	write(withIssuer(base, "gitlab", gitlab.URL()))
	if err := b.reload(t.Context(), path); err != nil {
		t.Fatalf("reload() adding gitlab while github is down = %v, want it applied", err)
	}
	if got := github.Requests(oidctest.DiscoveryPath) + github.Requests(oidctest.KeysPath); got != asked {
		t.Errorf("github requests after the reload = %d, want still %d: it did not change", got, asked)
	}
	if code, body := getBody(t, url+"/readyz", ""); code != http.StatusOK {
		t.Errorf("/readyz after the reload = %d %q, want 200", code, body)
	}
	if code, body := getBody(t, url+"/v1/profiles", mintSub(t, github, "repo:myorg/app:ref:refs/heads/main")); code != http.StatusOK || !strings.Contains(body, `"web"`) {
		t.Errorf("GET /v1/profiles with a github token = %d %q, want 200 listing web", code, body)
	}
	if code, body := getBody(t, url+"/v1/profiles", mintSub(t, gitlab, glSub)); code != http.StatusOK || !strings.Contains(body, `"gl"`) {
		t.Errorf("GET /v1/profiles with a gitlab token = %d %q, want 200 listing gl", code, body)
	}
}

// A reload while the broker is not ready is still refused when it would
// stop an issuer that works: github serves, gitlab was down at start-up,
// and the new file changes github (another audience), or renames it, while
// github cannot be reached. Applying it would replace github's working
// keys with none.
func TestReloadRefusedWhenItStopsAWorkingIssuer(t *testing.T) {
	github := oidctest.Start(t, oidctest.Options{})
	gitlab := oidctest.Start(t, oidctest.Options{})
	gitlab.SetAvailable(false)
	base := withIssuer(webOnly(github.URL()), "gitlab", gitlab.URL())
	b, url, path, write := serveReloadable(t, base, options{})
	if code, body := getBody(t, url+"/readyz", ""); code != http.StatusServiceUnavailable || !strings.Contains(body, "gitlab") {
		t.Fatalf("/readyz with gitlab down = %d %q, want 503 naming gitlab", code, body)
	}

	github.SetAvailable(false)
	write(strings.Replace(base, "audiences: [sts.amazonaws.com]", "audiences: [sts.amazonaws.com, other]", 1))
	err := b.reload(t.Context(), path)
	if err == nil || !strings.Contains(err.Error(), "the keys of issuer github cannot be fetched now") || strings.Contains(err.Error(), "gitlab") {
		t.Fatalf("reload() changing github while it is down = %v, want a refusal naming github only", err)
	}
	// Renamed, the same issuer (its URL) is no new one.
	write(strings.NewReplacer("name: github", "name: gh", "issuer: github", "issuer: gh").Replace(base))
	err = b.reload(t.Context(), path)
	if err == nil || !strings.Contains(err.Error(), "the keys of issuer gh cannot be fetched now") {
		t.Fatalf("reload() renaming github to gh while it is down = %v, want a refusal naming gh", err)
	}
	github.SetAvailable(true)
	if code, body := getBody(t, url+"/v1/profiles", mintSub(t, github, "repo:myorg/app:ref:refs/heads/main")); code != http.StatusOK || !strings.Contains(body, `"web"`) {
		t.Errorf("GET /v1/profiles with a github token after the refused reload = %d %q, want 200 listing web", code, body)
	}
}

// webOnly is ambientConfig for github at url without its ambient profile.
func webOnly(url string) string {
	cfg := fmt.Sprintf(ambientConfig, url)
	return cfg[:strings.Index(cfg, "  nightly:")]
}

// serveReloadable builds a broker on yaml, written to a file it reloads,
// and serves it; it returns the broker, its URL, the file's path and a
// function that rewrites the file.
func serveReloadable(t *testing.T, yaml string, o options) (b *broker, url, path string, write func(string)) {
	t.Helper()
	path, cfg, write := configFile(t, yaml)
	b, err := build(t.Context(), cfg, o)
	if err != nil {
		t.Fatalf("build() = %v", err)
	}
	t.Cleanup(b.close)
	hs := httptest.NewServer(b.api.Handler())
	t.Cleanup(hs.Close)
	return b, hs.URL, path, write
}

// glSub is the sub the gl profile of withIssuer admits.
const glSub = "project_path:g/p:ref_type:branch:ref:main"

// withIssuer adds the issuer name at url to cfg, and a profile gl for it.
func withIssuer(cfg, name, url string) string {
	return strings.Replace(cfg, "profiles:", strings.TrimPrefix(fmt.Sprintf(issuerConfig, name, url), "\n")+"profiles:", 1) +
		"  gl:\n    issuer: " + name + "\n    conditions: {StringEquals: {sub: \"" + glSub + "\"}}\n    chain: [{role_arn: arn:aws:iam::111111111111:role/gl}]\n"
}

// getBody GETs url with token as Bearer (none if empty) and returns the
// status and body.
func getBody(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", url, err)
	}
	return resp.StatusCode, string(body)
}

// mintSub mints a token of is for sub.
func mintSub(t *testing.T, is *oidctest.Server, sub string) string {
	t.Helper()
	tok, err := is.Mint(map[string]any{"sub": sub})
	if err != nil {
		t.Fatalf("Mint() = %v", err)
	}
	return tok
}

// testClock is a clock that tests move by hand; it is safe for concurrent
// use.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
