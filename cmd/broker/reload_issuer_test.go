package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

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
	base := fmt.Sprintf(ambientConfig, github.URL())
	base = base[:strings.Index(base, "  nightly:")]
	path, cfg, write := configFile(t, base)
	b, err := build(t.Context(), cfg, options{})
	if err != nil {
		t.Fatalf("build() = %v", err)
	}
	t.Cleanup(b.close)
	hs := httptest.NewServer(b.api.Handler())
	t.Cleanup(hs.Close)
	readyz := func() int {
		t.Helper()
		resp, err := http.Get(hs.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := readyz(); got != http.StatusOK {
		t.Fatalf("/readyz before the reload = %d, want 200", got)
	}

	withGitLab := strings.Replace(base, "profiles:", strings.TrimPrefix(fmt.Sprintf(issuerConfig, "gitlab", gitlab.URL()), "\n")+"profiles:", 1) +
		"  gl:\n    issuer: gitlab\n    conditions: {StringEquals: {sub: \"project_path:g/p:ref_type:branch:ref:main\"}}\n    chain: [{role_arn: arn:aws:iam::111111111111:role/gl}]\n"
	write(withGitLab)
	err = b.reload(t.Context(), path)
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
