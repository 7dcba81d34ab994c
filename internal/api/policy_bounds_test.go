package api

import (
	"net/http"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/stsbroker/broker/internal/oidctest"
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
			resp, body := b.get(t, "/v1/credentials/prod-deploy", "Bearer "+b.mintClaims(t, claims))
			checkError(t, resp, body, wantError{status: http.StatusForbidden, code: "insufficient_scope",
				message: tt.wantMsg,
				header:  map[string]string{"WWW-Authenticate": `Bearer error="insufficient_scope"`}})
			if strings.Contains(string(body), tt.workflow) {
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
			last := logged[len(logged)-1].ContextMap()
			if got, _ := last["error"].(string); !strings.HasPrefix(got, tt.wantLog) || strings.Contains(got, tt.workflow) {
				t.Errorf("access log error = %q, want it to start with %q and not quote the claim", got, tt.wantLog)
			}
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
