package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stsbroker/broker/internal/oidctest"
	"github.com/stsbroker/broker/internal/ststest"
)

func TestRunUsage(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{name: "no-args", args: nil, wantCode: 2, wantStderr: "Usage:"},
		{name: "help", args: []string{"help"}, wantCode: 0, wantStdout: "broker serve --config FILE"},
		{name: "unknown-command", args: []string{"frobnicate"}, wantCode: 2, wantStderr: `unknown command "frobnicate"`},
		{name: "version", args: []string{"version"}, wantCode: 0, wantStdout: "broker "},
		{name: "version-help", args: []string{"version", "--help"}, wantCode: 0, wantStderr: "Usage: broker version"},
		{name: "version-with-flag", args: []string{"version", "--bogus"}, wantCode: 2, wantStderr: "broker: version takes no arguments or flags"},
		{name: "help-command", args: []string{"help", "serve"}, wantCode: 0, wantStderr: "Usage: broker serve --config FILE"},
		{name: "help-version", args: []string{"help", "version"}, wantCode: 0, wantStderr: "Usage: broker version"},
		{name: "help-help", args: []string{"help", "--help"}, wantCode: 0, wantStdout: "broker serve --config FILE"},
		{name: "h-h", args: []string{"-h", "-h"}, wantCode: 0, wantStdout: "broker serve --config FILE"},
		{name: "help-unknown-command", args: []string{"help", "frobnicate"}, wantCode: 2, wantStderr: `unknown command "frobnicate"`},
		{name: "help-unknown-flag", args: []string{"help", "--bogus"}, wantCode: 2, wantStderr: `broker: unknown flag "--bogus"`},
		{name: "help-flag-unknown-flag", args: []string{"--help", "-x"}, wantCode: 2, wantStderr: `broker: unknown flag "-x"`},
		{name: "help-h", args: []string{"help", "-h"}, wantCode: 0, wantStdout: "broker serve --config FILE"},
		{name: "serve-help", args: []string{"serve", "--help"}, wantCode: 0, wantStderr: "Usage: broker serve --config FILE"},
		{name: "serve-no-config", args: []string{"serve"}, wantCode: 2, wantStderr: "--config FILE is required"},
		{name: "serve-missing-file", args: []string{"serve", "--config", "/nonexistent/broker.yaml"}, wantCode: 1, wantStderr: "/nonexistent/broker.yaml"},
		{name: "dev-help", args: []string{"dev", "--help"}, wantCode: 0, wantStderr: "aws-config"},
		{name: "dev-not-loopback", args: []string{"dev", "--addr", "0.0.0.0:0"}, wantCode: 2,
			wantStderr: `broker dev: --addr "0.0.0.0:0" must be a loopback HOST:PORT such as 127.0.0.1:8080 (dev serves plain http)`},
		{name: "cp-help", args: []string{"credential-process", "--help"}, wantCode: 0, wantStderr: "Exit codes"},
		{name: "cp-no-source", args: []string{"credential-process", "--url", "http://127.0.0.1:1", "--profile", "p"}, wantCode: 2,
			wantStderr: "exactly one of --token-file, --token-env, --github-actions is required"},
		{name: "cp-two-sources", args: []string{"credential-process", "--url", "http://127.0.0.1:1", "--profile", "p", "--token-env", "X", "--github-actions"}, wantCode: 2,
			wantStderr: "exactly one of"},
		{name: "cp-no-profile", args: []string{"credential-process", "--url", "http://127.0.0.1:1", "--token-env", "X"}, wantCode: 2,
			wantStderr: "--profile are required"},
		{name: "cp-bad-flag", args: []string{"credential-process", "--nope"}, wantCode: 2,
			wantStderr: "broker: flag provided but not defined: -nope (see broker credential-process --help)\n"},
		{name: "cp-audience-without-github", args: []string{"credential-process", "--url", "http://127.0.0.1:1", "--profile", "p", "--token-env", "X", "--audience", "a"}, wantCode: 2,
			wantStderr: "broker: --audience goes with --github-actions only (see broker credential-process --help)\n"},
		{name: "cp-zero-timeout-is-the-default", args: []string{"credential-process", "--url", "http://127.0.0.1:1", "--profile", "p", "--token-env", "BROKER_TEST_TOKEN", "--timeout", "0"}, wantCode: 3,
			wantStderr: "broker: cannot reach 127.0.0.1:1"},
		{name: "cp-negative-timeout", args: []string{"credential-process", "--url", "http://127.0.0.1:1", "--profile", "p", "--token-env", "X", "--timeout", "-1s"}, wantCode: 2,
			wantStderr: "broker: --timeout must not be negative (0 is the default, 30s)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("BROKER_URL", "")
			t.Setenv("BROKER_TEST_TOKEN", "a.b.c")
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), tt.args, &stdout, &stderr)
			if code != tt.wantCode {
				t.Errorf("run(%q) = %d, want %d; stderr %q", tt.args, code, tt.wantCode, stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.wantStdout) {
				t.Errorf("stdout = %q, want it to contain %q", stdout.String(), tt.wantStdout)
			}
			if !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr.String(), tt.wantStderr)
			}
			// credential-process errors are one line: the AWS CLI shows them.
			if len(tt.args) > 0 && tt.args[0] == "credential-process" && code != 0 && strings.Count(stderr.String(), "\n") != 1 {
				t.Errorf("stderr = %q, want one line", stderr.String())
			}
		})
	}
}

// TestDevUnwritableDir: dev that cannot write its files stops and exits
// 1, naming the problem; it does not keep running without them.
func TestDevUnwritableDir(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"dev", "--addr", "127.0.0.1:0", "--dir", filepath.Join(file, "sub")}, &stdout, &stderr)
	if code != exitFailure || !strings.Contains(stderr.String(), "broker dev: cannot write dev files: mkdir") {
		t.Errorf("dev with an unwritable --dir = %d, stderr %q; want %d, cannot write dev files: mkdir …", code, stderr.String(), exitFailure)
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout = %q, want nothing printed", stdout.String())
	}
}

func TestServeRefusesBadConfig(t *testing.T) {
	const good = `
issuers:
  - name: github
    url: https://token.actions.githubusercontent.com
    audiences: [sts.amazonaws.com]
profiles:
  p:
    issuer: github
    conditions: {StringEquals: {repository_owner: myorg}}
    chain:
      - role_arn: arn:aws:iam::111111111111:role/a
      - role_arn: arn:aws:iam::222222222222:role/b
        external_id: x-123
`
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{name: "unknown-key", yaml: "server:\n  adr: 127.0.0.1:8080\n" + good, want: []string{"broker.yaml", "line 2", "adr"}},
		{name: "chained-hop-over-1h", yaml: strings.Replace(good, "external_id: x-123", "external_id: x-123\n        duration: 2h", 1),
			want: []string{"profiles.p.chain[1].duration", "1h"}},
		{name: "unknown-issuer", yaml: strings.Replace(good, "issuer: github", "issuer: gitlab", 1), want: []string{"profiles.p.issuer", "gitlab"}},
		{name: "bad-role-arn", yaml: strings.Replace(good, "arn:aws:iam::111111111111:role/a", "arn:aws:iam::1111:role/a", 1), want: []string{"profiles.p.chain[0].role_arn"}},
		{name: "unset-env", yaml: strings.Replace(good, "x-123", "${env:BROKER_TEST_UNSET_VAR}", 1), want: []string{"BROKER_TEST_UNSET_VAR"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "broker.yaml")
			if err := os.WriteFile(path, []byte(tt.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			var stderr bytes.Buffer
			if code := run(t.Context(), []string{"serve", "--config", path}, &bytes.Buffer{}, &stderr); code != 1 {
				t.Errorf("serve exit code = %d, want 1; stderr %s", code, stderr.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr = %q, want it to name %q", stderr.String(), w)
				}
			}
		})
	}
}

func TestServeAndCredentialProcess(t *testing.T) {
	s := startStack(t)
	if code, body := httpGet(t, s.URL+"/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz = %d %q", code, body)
	}
	if code, body := httpGet(t, s.URL+"/readyz"); code != 200 || body != "ready\n" {
		t.Errorf("/readyz = %d %q", code, body)
	}
	claims := oidctest.GitHubActionsClaims("myorg/app", "refs/heads/main")
	tokenFile := s.writeToken(t, "token", claims)
	denied := s.writeToken(t, "denied", oidctest.GitHubActionsClaims("myorg/app", "refs/heads/feature"))

	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"credential-process", "--url", s.URL, "--profile", "prod-deploy", "--token-file", tokenFile}, &stdout, &stderr)
	if code != 0 || stderr.Len() != 0 {
		t.Fatalf("credential-process = %d, stderr %q", code, stderr.String())
	}
	var out struct {
		Version                                              int
		AccessKeyID                                          string `json:"AccessKeyId"`
		SecretAccessKey, SessionToken, Expiration, AccountID string
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("stdout %q is not JSON: %v", stdout.String(), err)
	}
	if out.Version != 1 || !strings.HasPrefix(out.AccessKeyID, "ASIA") || out.SessionToken == "" || !strings.HasSuffix(out.Expiration, "Z") {
		t.Errorf("credential_process output = %+v", out)
	}

	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr string
	}{
		{name: "denied", args: []string{"--profile", "prod-deploy", "--token-file", denied}, wantCode: 1,
			wantStderr: "broker: 403 insufficient_scope: condition StringLike on sub not met\n"},
		{name: "unknown-profile", args: []string{"--profile", "nope", "--token-file", tokenFile}, wantCode: 1,
			wantStderr: "broker: 404 unknown_profile: unknown profile \"nope\"\n"},
		{name: "missing-token-file", args: []string{"--profile", "prod-deploy", "--token-file", filepath.Join(s.Dir, "absent")}, wantCode: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), append([]string{"credential-process", "--url", s.URL}, tt.args...), &stdout, &stderr)
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d; stderr %q", code, tt.wantCode, stderr.String())
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout = %q, want nothing on failure", stdout.String())
			}
			if tt.wantStderr != "" && stderr.String() != tt.wantStderr {
				t.Errorf("stderr = %q, want %q", stderr.String(), tt.wantStderr)
			}
			if n := strings.Count(stderr.String(), "\n"); n != 1 {
				t.Errorf("stderr has %d lines, want exactly one", n)
			}
		})
	}

	// The broker's JSON logs on stderr carry no secret.
	log := s.Stderr.String()
	tok, _ := os.ReadFile(tokenFile)
	for _, secret := range []string{out.SecretAccessKey, out.SessionToken, ststest.SeedExternalID, string(tok)} {
		if strings.Contains(log, secret) {
			t.Errorf("serve logs contain a secret (%.10s…)", secret)
		}
	}
	if !regexp.MustCompile(`"msg":"credentials issued".*"access_key_id":"` + out.AccessKeyID + `"`).MatchString(log) {
		t.Errorf("serve logs lack the audit line of the issuance")
	}
}

func TestCredentialProcessBrokerDown(t *testing.T) {
	t.Setenv("BROKER_TEST_TOKEN", "a.b.c")
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"credential-process", "--url", "http://127.0.0.1:1", "--profile", "p", "--token-env", "BROKER_TEST_TOKEN"}, &stdout, &stderr)
	if code != 3 {
		t.Errorf("exit code = %d, want 3 (transient); stderr %q", code, stderr.String())
	}
	if !strings.HasPrefix(stderr.String(), "broker: cannot reach 127.0.0.1:1") {
		t.Errorf("stderr = %q, want it to say the broker cannot be reached", stderr.String())
	}
}
