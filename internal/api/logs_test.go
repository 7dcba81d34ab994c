package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stsbroker/broker/internal/oidctest"
	"github.com/stsbroker/broker/internal/ststest"
)

// TestLogsHoldNoSecrets drives successful and failing requests through every
// endpoint, then searches every captured log entry (message and all fields)
// for the secret access keys, session tokens, ExternalIds and JWTs involved.
func TestLogsHoldNoSecrets(t *testing.T) {
	b := newTestBroker(t, brokerOpts{})
	var secrets []string
	remember := func(body []byte) {
		var out map[string]any
		if json.Unmarshal(body, &out) != nil {
			return
		}
		for _, k := range []string{"SecretAccessKey", "SessionToken", "Token"} {
			if s, _ := out[k].(string); s != "" {
				secrets = append(secrets, s)
			}
		}
	}
	token := b.mint(t)
	secrets = append(secrets, token, strings.Split(token, ".")[2], ststest.SeedExternalID, ambientExternal, b.AmbientSecret)
	for _, path := range []string{"/v1/credentials/prod-deploy", "/v1/credentials/prod-deploy?format=env", "/v1/container/prod-deploy", "/v1/credentials/ambient-three", "/v1/credentials/wrong-external-id", "/v1/profiles", "/v1/credentials/nope"} {
		resp, body := b.get(t, path, "Bearer "+token)
		if resp.StatusCode == http.StatusOK {
			remember(body)
		}
	}
	for _, kind := range []oidctest.Broken{oidctest.Expired, oidctest.WrongAudience, oidctest.TamperedSignature, oidctest.AlgNone, oidctest.UnknownKID} {
		bad, err := b.Issuer.MintBroken(kind, oidctest.GitHubActionsClaims("myorg/app", "refs/heads/main"))
		if err != nil {
			t.Fatalf("MintBroken() = %v", err)
		}
		secrets = append(secrets, bad)
		b.get(t, "/v1/credentials/prod-deploy", "Bearer "+bad)
		b.get(t, "/v1/container/prod-deploy", bad)
	}
	b.STS.InjectFault("", ststest.Fault{Status: http.StatusInternalServerError})
	fresh := b.mintClaims(t, oidctest.GitHubActionsClaims("myorg/other", "refs/heads/main"))
	secrets = append(secrets, fresh)
	b.get(t, "/v1/credentials/prod-deploy", "Bearer "+fresh)

	if len(secrets) < 12 {
		t.Fatalf("collected %d secrets, want credentials from the successful requests too", len(secrets))
	}
	entries := b.Logs.All()
	if len(entries) < 20 {
		t.Fatalf("captured %d log entries, want the access and audit lines of every request", len(entries))
	}
	var audits int
	for _, e := range entries {
		line := e.Message + " " + fmt.Sprint(e.ContextMap())
		for _, s := range secrets {
			if strings.Contains(line, s) {
				t.Errorf("log entry %q contains a secret (%.12s…)", e.Message, s)
			}
		}
		if e.LoggerName == "audit" {
			audits++
		}
	}
	if audits < 10 {
		t.Errorf("audit entries = %d, want one per issuance and refusal", audits)
	}
}

func TestAuditIssued(t *testing.T) {
	b := newTestBroker(t, brokerOpts{})
	claims := oidctest.GitHubActionsClaims("myorg/app", "refs/heads/main")
	_, body := b.get(t, "/v1/credentials/prod-deploy", "Bearer "+b.mintClaims(t, claims))
	var out map[string]any
	_ = json.Unmarshal(body, &out)
	issued := b.Logs.FilterMessage("credentials issued").All()
	if len(issued) != 1 {
		t.Fatalf("issued audit entries = %d, want 1", len(issued))
	}
	f := issued[0].ContextMap()
	for k, want := range map[string]any{
		"profile":       "prod-deploy",
		"issuer":        "github",
		"sub":           claims["sub"],
		"session_name":  "gha-" + claims["run_id"].(string),
		"access_key_id": out["AccessKeyId"],
		"cache":         "miss",
	} {
		if f[k] != want {
			t.Errorf("audit %s = %v, want %v", k, f[k], want)
		}
	}
	if got := fmt.Sprint(f["role_arns"]); got != fmt.Sprint([]any{ststest.SeedToolingRoleARN, ststest.SeedTargetRoleARN}) {
		t.Errorf("audit role_arns = %s", got)
	}
}

func TestMetrics(t *testing.T) {
	b := newTestBroker(t, brokerOpts{})
	token := b.mint(t)
	b.get(t, "/v1/credentials/prod-deploy", "Bearer "+token)
	b.get(t, "/v1/credentials/prod-deploy", "Bearer "+token)
	expired, _ := b.Issuer.MintBroken(oidctest.Expired, oidctest.GitHubActionsClaims("myorg/app", "refs/heads/main"))
	b.get(t, "/v1/credentials/prod-deploy", "Bearer "+expired)
	// Refused before verification, counted all the same.
	b.get(t, "/v1/credentials/prod-deploy", "")
	b.get(t, "/v1/credentials/prod-deploy", "Basic dXNlcjpwYXNz")
	_, body := b.get(t, "/metrics", "")
	text := string(body)
	for _, want := range []string{
		`broker_credentials_served_total{cache="miss",profile="prod-deploy"} 1`,
		`broker_credentials_served_total{cache="hit",profile="prod-deploy"} 1`,
		`broker_sts_calls_total{action="AssumeRoleWithWebIdentity",outcome="ok"} 1`,
		`broker_sts_calls_total{action="AssumeRole",outcome="ok"} 1`,
		`broker_token_verifications_total{result="expired"} 1`,
		`broker_token_verifications_total{result="missing"} 1`,
		`broker_token_verifications_total{result="malformed"} 1`,
		`broker_token_verifications_total{result="ok"} 2`,
		`broker_cache_entries 2`,
		`broker_http_request_duration_seconds_count{route="/v1/credentials/{profile}",status="200"} 2`,
		`broker_http_request_duration_seconds_count{route="/v1/credentials/{profile}",status="401"} 3`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	// Sizing the cache needs the live heap, not resident memory.
	if !strings.Contains(text, "\ngo_gc_heap_live_bytes ") {
		t.Errorf("metrics lack go_gc_heap_live_bytes")
	}
	if strings.Contains(text, token) || strings.Contains(text, "myorg/app") {
		t.Errorf("metrics contain a token or a subject")
	}
}
