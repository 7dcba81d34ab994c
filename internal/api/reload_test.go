package api

import (
	"encoding/json"
	"net/http"
	"runtime"
	"testing"
	"weak"

	"github.com/stsbroker/broker/internal/auth"
	"github.com/stsbroker/broker/internal/chain"
	"github.com/stsbroker/broker/internal/oidctest"
	"github.com/stsbroker/broker/internal/ststest"
)

// TestReloadReleasesOldProfiles: the identity of a verified token carries
// the plans prepared for it (Profile.Prepare), and with them its profiles
// and their ExternalIds. A reload that keeps the verifier drops the verified
// tokens, so the replaced profiles become garbage instead of staying for as
// long as the tokens are cached; the token is verified again and still
// served from the credential cache.
func TestReloadReleasesOldProfiles(t *testing.T) {
	b := newTestBroker(t, brokerOpts{})
	token := b.mint(t)
	akid := func() string {
		t.Helper()
		resp, body := b.get(t, "/v1/credentials/prod-deploy", "Bearer "+token)
		var out struct {
			AccessKeyID string `json:"AccessKeyId"`
		}
		if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &out) != nil || out.AccessKeyID == "" {
			t.Fatalf("GET prod-deploy = %d %.200s, want 200 with credentials", resp.StatusCode, body)
		}
		return out.AccessKeyID
	}
	first := akid()
	old, err := b.Server.current.Load().profiles.Get("prod-deploy")
	if err != nil {
		t.Fatalf("Get(prod-deploy) = %v", err)
	}
	oldRef := weak.Make(old)
	old = nil

	if err := b.Server.Reload(b.Verifier, newProfileSet(t, seedProfiles())); err != nil {
		t.Fatalf("Reload() = %v", err)
	}
	runtime.GC()
	runtime.GC()
	if oldRef.Value() != nil {
		t.Errorf("the profile replaced by the reload is still reachable")
	}
	if got := akid(); got != first {
		t.Errorf("AccessKeyId after the reload = %s, want the cached %s (the chain did not change)", got, first)
	}
	if web, ar := b.STS.Calls("AssumeRoleWithWebIdentity"), b.STS.Calls("AssumeRole"); web != 1 || ar != 1 {
		t.Errorf("STS calls = %d AssumeRoleWithWebIdentity, %d AssumeRole; want 1 and 1 (one chain)", web, ar)
	}
}

// TestReloadReleasesProfilesOfInflightRequests: a request that loaded the
// configuration before a reload and verifies its token after it caches a
// new identity; preparing the replaced profile for it must not keep that
// profile alive through the identity.
func TestReloadReleasesProfilesOfInflightRequests(t *testing.T) {
	b := newTestBroker(t, brokerOpts{})
	token := b.mint(t)
	st := b.Server.current.Load() // the running request's view
	if err := b.Server.Reload(b.Verifier, newProfileSet(t, seedProfiles())); err != nil {
		t.Fatalf("Reload() = %v", err)
	}
	id, err := st.verifier.Verify(t.Context(), token) // a miss: cached after the reload
	if err != nil {
		t.Fatalf("Verify() = %v", err)
	}
	old, err := st.profiles.Get("prod-deploy")
	if err != nil {
		t.Fatalf("Get(prod-deploy) = %v", err)
	}
	if _, err := old.Prepare(id, chain.Secret(token)); err != nil {
		t.Fatalf("Prepare() = %v", err)
	}
	oldRef := weak.Make(old)
	old, st = nil, nil
	runtime.GC()
	runtime.GC()
	if oldRef.Value() != nil {
		t.Errorf("the replaced profile is still reachable through the identity cached after the reload")
	}
	if again, err := b.Verifier.Verify(t.Context(), token); err != nil || again != id {
		t.Errorf("Verify() again = %v, %v; want the identity cached after the reload (the test needs it alive)", again == id, err)
	}
}

// TestReloadIssuerNameToAnotherURL: a reload that gives an issuer's name to
// another URL (a cluster migration under the name "k8s", where service
// account subjects repeat) must not let the new issuer's tokens share the
// cached credentials of the old issuer's callers with the same sub: the
// cache key holds the issuer's URL, not its name. STS, which does not trust
// the new issuer here, is asked and refuses.
func TestReloadIssuerNameToAnotherURL(t *testing.T) {
	b := newTestBroker(t, brokerOpts{})
	claims := oidctest.GitHubActionsClaims("myorg/app", "refs/heads/main")
	resp, body := b.get(t, "/v1/credentials/prod-deploy", "Bearer "+b.mintClaims(t, claims))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET prod-deploy = %d %.200s, want 200", resp.StatusCode, body)
	}

	other := oidctest.Start(t, oidctest.Options{})
	v, err := auth.New(t.Context(), auth.Config{
		Issuers: []auth.IssuerConfig{{Name: "github", URL: other.URL(), Audiences: []string{"sts.amazonaws.com"}}},
	})
	if err != nil {
		t.Fatalf("auth.New() = %v", err)
	}
	t.Cleanup(v.Close)
	if err := b.Server.Reload(v, newProfileSet(t, seedProfiles())); err != nil {
		t.Fatalf("Reload() = %v", err)
	}
	tok, err := other.Mint(claims)
	if err != nil {
		t.Fatal(err)
	}
	resp, body = b.get(t, "/v1/credentials/prod-deploy", "Bearer "+tok)
	checkError(t, resp, body, wantError{status: 502, code: "sts_refused",
		message: "hop 1 (" + ststest.SeedToolingRoleARN + "): InvalidIdentityToken"})
	if got := b.STS.Calls("AssumeRoleWithWebIdentity"); got != 2 {
		t.Errorf("AssumeRoleWithWebIdentity calls = %d, want 2: the other issuer's token must reach STS", got)
	}
}
