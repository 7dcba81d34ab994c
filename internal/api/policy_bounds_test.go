package api

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/stsbroker/broker/internal/oidctest"
	"github.com/stsbroker/broker/internal/ststest"
)

// TestPolicyOverSTSLimitsRefused: STS refuses a session policy over 2048
// characters, or with a character outside tab, newline, carriage return
// and U+0020 to U+00FF, on every call. A claim that makes the rendered
// policy so (a long or non-Latin-1 workflow name) is the caller's 403
// insufficient_scope naming the policy, decided before any STS call; the
// access log says why, and neither quotes the claim. A claim that fits
// gets credentials through the same profile, with the policy the emulator
// accepts.
func TestPolicyOverSTSLimitsRefused(t *testing.T) {
	pcs := seedProfiles()
	pcs[0].Chain[1].Policy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::artifacts/{{ .claims.workflow }}/*"}]}`
	b := newTestBroker(t, brokerOpts{profiles: pcs[:1]})

	for _, tt := range []struct {
		name     string
		workflow string
		wantMsg  string
		wantLog  string // in the access log's error
	}{
		{
			name:     "too-long",
			workflow: "wf-" + strings.Repeat("w", 2100),
			wantMsg:  "the token's claims make chain[1].policy longer than the 2048 characters STS accepts",
			wantLog:  "profile: render chain[1].policy: the claims make the rendered policy longer than the 2048 characters STS accepts",
		},
		{
			name:     "character-above-latin-1",
			workflow: "wf-build→deploy",
			wantMsg:  "the token's claims put characters STS refuses (above U+00FF) into chain[1].policy",
			wantLog:  "profile: render chain[1].policy: the claims put characters into the rendered policy that STS refuses",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			claims := oidctest.GitHubActionsClaims("myorg/app", "refs/heads/main")
			claims["workflow"] = tt.workflow
			wantPolicyRefused(t, b, claims, tt.wantMsg, tt.wantLog)
		})
	}

	// The control: a workflow within the limits reaches STS, whose
	// emulator checks the policy as STS does.
	claims := oidctest.GitHubActionsClaims("myorg/app", "refs/heads/main")
	claims["workflow"] = "deploy-café"
	resp, body := b.get(t, "/v1/credentials/prod-deploy", "Bearer "+b.mintClaims(t, claims))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d, want 200; body %s", resp.StatusCode, body)
	}
	if n := b.STS.Calls("AssumeRole"); n != 1 {
		t.Errorf("AssumeRole calls = %d, want 1", n)
	}
}

// TestPolicyWithPolicyARNsOverSTSLimitRefused: STS counts a hop's managed
// policy ARNs and its inline policy against one limit: "The plaintext that
// you use for both inline and managed session policies can't exceed 2,048
// characters". A claim that makes the rendered policy fit on its own but
// not with the ARNs is the caller's 403 saying the ARNs counted, before any
// STS call; a claim that leaves room for them gets credentials, and the
// emulator, which checks the sum as STS does, gets both.
func TestPolicyWithPolicyARNsOverSTSLimitRefused(t *testing.T) {
	const tmpl = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::artifacts/{{ .claims.workflow }}/*"}]}`
	arns := []string{"arn:aws:iam::222222222222:policy/ci/deploy-artifacts", "arn:aws:iam::aws:policy/ReadOnlyAccess"}
	pcs := seedProfiles()
	pcs[0].Chain[1].Policy = tmpl
	pcs[0].Chain[1].PolicyARNs = arns
	b := newTestBroker(t, brokerOpts{profiles: pcs[:1]})
	skeleton := len(strings.Replace(tmpl, "{{ .claims.workflow }}", "", 1))
	room := 2048 - skeleton - len(arns[0]) - len(arns[1]) // for the workflow

	// The rendered policy is 2048 characters: within STS's limit alone,
	// over it with the ARNs.
	claims := oidctest.GitHubActionsClaims("myorg/app", "refs/heads/main")
	claims["workflow"] = strings.Repeat("w", 2048-skeleton)
	wantPolicyRefused(t, b, claims,
		"the token's claims make chain[1].policy, together with its policy_arns, longer than the 2048 characters STS accepts",
		"profile: render chain[1].policy: the claims make the rendered policy, together with the hop's policy_arns, longer than the 2048 characters STS accepts for both")

	// The control: at the limit with the ARNs, the call reaches STS.
	claims["workflow"] = strings.Repeat("w", room)
	resp, body := b.get(t, "/v1/credentials/prod-deploy", "Bearer "+b.mintClaims(t, claims))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d, want 200; body %s", resp.StatusCode, body)
	}
	var got []ststest.Request
	for _, r := range b.STS.Requests() {
		if r.Action == "AssumeRole" {
			got = append(got, r)
		}
	}
	if len(got) != 1 || len(got[0].Policy) != 2048-len(arns[0])-len(arns[1]) || !slices.Equal(got[0].PolicyARNs, arns) {
		t.Errorf("AssumeRole requests = %d, want 1 with a policy of %d characters and the ARNs %v", len(got), 2048-len(arns[0])-len(arns[1]), arns)
	}
}

// wantPolicyRefused requests prod-deploy with a token of claims and checks
// the refusal of a rendered policy over STS's limits: 403
// insufficient_scope with wantMsg, no STS call so far, and an access-log
// error starting with wantLog; neither the body nor the log quotes the
// workflow claim.
func wantPolicyRefused(t *testing.T, b *testBroker, claims map[string]any, wantMsg, wantLog string) {
	t.Helper()
	workflow, _ := claims["workflow"].(string)
	resp, body := b.get(t, "/v1/credentials/prod-deploy", "Bearer "+b.mintClaims(t, claims))
	checkError(t, resp, body, wantError{status: http.StatusForbidden, code: "insufficient_scope", message: wantMsg,
		header: map[string]string{"WWW-Authenticate": `Bearer error="insufficient_scope"`}})
	if strings.Contains(string(body), workflow) {
		t.Errorf("body %s quotes the claim", body)
	}
	for _, op := range []string{"AssumeRoleWithWebIdentity", "AssumeRole"} {
		if n := b.STS.Calls(op); n != 0 {
			t.Errorf("%s calls = %d, want 0", op, n)
		}
	}
	logged := b.Logs.FilterMessage("request").FilterField(zap.String("error_code", "insufficient_scope")).All()
	if len(logged) == 0 {
		t.Fatalf("no access log line for the refusal")
	}
	if got, _ := logged[len(logged)-1].ContextMap()["error"].(string); !strings.HasPrefix(got, wantLog) || strings.Contains(got, workflow) {
		t.Errorf("access log error = %q, want it to start with %q and not quote the claim", got, wantLog)
	}
}
