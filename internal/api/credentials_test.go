package api

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/stsbroker/broker/internal/oidctest"
	"github.com/stsbroker/broker/internal/ststest"
)

func TestSeedChainEndToEnd(t *testing.T) {
	b := newTestBroker(t, brokerOpts{})
	claims := oidctest.GitHubActionsClaims("myorg/app", "refs/heads/main")
	token := b.mintClaims(t, claims)

	resp, body := b.get(t, "/v1/credentials/prod-deploy", "Bearer "+token)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d, want 200; body %s", resp.StatusCode, body)
	}
	if got := resp.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", got)
	}
	if got := resp.Header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", got)
	}
	// One write with its length: never chunked, and nothing after the JSON
	// but the newline json.Encoder used to add.
	if resp.ContentLength != int64(len(body)) || len(resp.TransferEncoding) != 0 {
		t.Errorf("Content-Length = %d, Transfer-Encoding = %v, want %d and none", resp.ContentLength, resp.TransferEncoding, len(body))
	}
	if !strings.HasSuffix(string(body), "}\n") {
		t.Errorf("body ends %q, want a JSON object and a newline", body[max(0, len(body)-10):])
	}
	var out map[string]any
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("body is not JSON: %v", err)
	}
	if v, ok := out["Version"].(float64); !ok || v != 1 {
		t.Errorf("Version = %#v, want the number 1", out["Version"])
	}
	akid, _ := out["AccessKeyId"].(string)
	secret, _ := out["SecretAccessKey"].(string)
	session, _ := out["SessionToken"].(string)
	if !regexp.MustCompile(`^ASIA[A-Z0-9]{16}$`).MatchString(akid) || secret == "" || session == "" {
		t.Errorf("credentials = %q/%q/%q, want ASIA key id, secret and session token", akid, secret, session)
	}
	if got := out["AccountId"]; got != ststest.SeedTargetAccount {
		t.Errorf("AccountId = %v, want %s", got, ststest.SeedTargetAccount)
	}
	exp, err := time.Parse(time.RFC3339, out["Expiration"].(string))
	if err != nil || !strings.HasSuffix(out["Expiration"].(string), "Z") {
		t.Errorf("Expiration = %v (%v), want RFC 3339 UTC", out["Expiration"], err)
	}
	if left := time.Until(exp); left < 55*time.Minute || left > 61*time.Minute {
		t.Errorf("Expiration in %v, want about 1h", left)
	}

	wantARN := "arn:aws:sts::222222222222:assumed-role/ci-deploy-role/gha-" + claims["run_id"].(string)
	if got := b.callerARN(t.Context(), t, akid, secret, session); got != wantARN {
		t.Errorf("GetCallerIdentity ARN = %q, want %q", got, wantARN)
	}

	reqs := b.STS.Requests()
	var sawToken, sawExternal bool
	for _, r := range reqs {
		switch {
		case r.Action == "AssumeRoleWithWebIdentity" && r.RoleARN == ststest.SeedToolingRoleARN:
			sawToken = r.TokenSHA256 == sha256Hex(token) && r.ExternalIDSHA256 == ""
		case r.Action == "AssumeRole" && r.RoleARN == ststest.SeedTargetRoleARN:
			sawExternal = r.ExternalIDSHA256 == sha256Hex(ststest.SeedExternalID)
		}
	}
	if !sawToken || !sawExternal {
		t.Errorf("emulator saw caller token on hop 1: %v, ExternalId on hop 2: %v; requests %+v", sawToken, sawExternal, reqs)
	}
	if got := b.STS.Calls("AssumeRoleWithWebIdentity"); got != 1 {
		t.Errorf("AssumeRoleWithWebIdentity calls = %d, want 1", got)
	}
	if got := b.STS.Calls("AssumeRole"); got != 1 {
		t.Errorf("AssumeRole calls = %d, want 1", got)
	}

	// A second request of the same identity is a cache hit: no STS call, and
	// the same credentials.
	resp2, body2 := b.get(t, "/v1/credentials/prod-deploy", "Bearer "+token)
	if resp2.StatusCode != http.StatusOK {
		t.Fatalf("second status = %d; body %s", resp2.StatusCode, body2)
	}
	var out2 map[string]any
	_ = json.Unmarshal(body2, &out2)
	if out2["AccessKeyId"] != akid {
		t.Errorf("second AccessKeyId = %v, want cached %v", out2["AccessKeyId"], akid)
	}
	if got := b.STS.Calls("AssumeRoleWithWebIdentity") + b.STS.Calls("AssumeRole"); got != 2 {
		t.Errorf("STS calls after cache hit = %d, want 2", got)
	}
}

func TestFormatsAndContainer(t *testing.T) {
	b := newTestBroker(t, brokerOpts{})
	token := b.mint(t)

	resp, body := b.get(t, "/v1/credentials/prod-deploy?format=env", "Bearer "+token)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("env status = %d; body %s", resp.StatusCode, body)
	}
	if got := resp.Header.Get("Content-Type"); got != "text/plain; charset=utf-8" {
		t.Errorf("env Content-Type = %q", got)
	}
	lines := strings.Split(strings.TrimSuffix(string(body), "\n"), "\n")
	var names []string
	for _, l := range lines {
		m := regexp.MustCompile(`^export (AWS_[A-Z_]+)='[^']+'$`).FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("env line %q is not a single-quoted export", l)
		}
		names = append(names, m[1])
	}
	want := []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_CREDENTIAL_EXPIRATION", "AWS_ACCOUNT_ID"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("env names (-want +got):\n%s", diff)
	}

	for _, authz := range []string{token, "Bearer " + token} {
		resp, body := b.get(t, "/v1/container/prod-deploy", authz)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("container status = %d; body %s", resp.StatusCode, body)
		}
		var out map[string]string
		if err := json.Unmarshal(body, &out); err != nil {
			t.Fatalf("container body: %v", err)
		}
		for _, k := range []string{"AccessKeyId", "SecretAccessKey", "Token", "Expiration"} {
			if out[k] == "" {
				t.Errorf("container %s is empty; botocore requires it", k)
			}
		}
		if out["RoleArn"] != ststest.SeedTargetRoleARN || out["AccountId"] != ststest.SeedTargetAccount {
			t.Errorf("container RoleArn/AccountId = %q/%q", out["RoleArn"], out["AccountId"])
		}
		if got := resp.Header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("container Cache-Control = %q, want no-store", got)
		}
	}
}

func TestProfilesEndpoint(t *testing.T) {
	b := newTestBroker(t, brokerOpts{})
	resp, body := b.get(t, "/v1/profiles", "Bearer "+b.mint(t))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d; body %s", resp.StatusCode, body)
	}
	var out struct{ Profiles []string }
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("body: %v", err)
	}
	want := []string{"ambient-three", "needs-missing-claim", "prod-deploy", "wrong-external-id"}
	if diff := cmp.Diff(want, out.Profiles); diff != "" {
		t.Errorf("profiles (-want +got):\n%s", diff)
	}

	// A token whose sub is not on main may use none of them.
	other := b.mintClaims(t, oidctest.GitHubActionsClaims("myorg/app", "refs/heads/feature"))
	_, body = b.get(t, "/v1/profiles", "Bearer "+other)
	if got := strings.TrimSpace(string(body)); got != `{"profiles":[]}` {
		t.Errorf("profiles for feature branch = %s, want none", got)
	}
	resp, _ = b.get(t, "/v1/profiles", "")
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("profiles without token: status %d, want 401", resp.StatusCode)
	}
}

func TestAmbientThreeHopChain(t *testing.T) {
	b := newTestBroker(t, brokerOpts{})
	claims := oidctest.GitHubActionsClaims("myorg/app", "refs/heads/main")
	resp, body := b.get(t, "/v1/credentials/ambient-three", "Bearer "+b.mintClaims(t, claims))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d; body %s", resp.StatusCode, body)
	}
	var out map[string]any
	_ = json.Unmarshal(body, &out)
	wantARN := "arn:aws:sts::444444444444:assumed-role/hop-three/amb-" + claims["run_id"].(string)
	if got := b.callerARN(t.Context(), t, out["AccessKeyId"].(string), out["SecretAccessKey"].(string), out["SessionToken"].(string)); got != wantARN {
		t.Errorf("caller ARN = %q, want %q", got, wantARN)
	}
	if got := b.STS.Calls("AssumeRoleWithWebIdentity"); got != 0 {
		t.Errorf("ambient chain made %d AssumeRoleWithWebIdentity calls, want 0", got)
	}
	var hops []ststest.Request
	for _, r := range b.STS.Requests() {
		if r.Action == "AssumeRole" {
			hops = append(hops, r)
		}
	}
	if len(hops) != 3 {
		t.Fatalf("AssumeRole calls = %d, want 3", len(hops))
	}
	if hops[0].AccessKeyID != b.AmbientKeyID || hops[0].RoleARN != baseRoleARN {
		t.Errorf("hop 1 signed with %q for %q, want the broker's base key for %s", hops[0].AccessKeyID, hops[0].RoleARN, baseRoleARN)
	}
	if hops[0].SourceIdentity != claims["actor"] {
		t.Errorf("hop 1 SourceIdentity = %q, want %v", hops[0].SourceIdentity, claims["actor"])
	}
	if diff := cmp.Diff(map[string]string{"repo": "myorg/app"}, hops[1].Tags); diff != "" {
		t.Errorf("hop 2 tags (-want +got):\n%s", diff)
	}
	if hops[2].ExternalIDSHA256 != sha256Hex(ambientExternal) {
		t.Errorf("hop 3 ExternalId fingerprint = %q, want that of the configured one", hops[2].ExternalIDSHA256)
	}
}
