package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/stsbroker/broker/internal/oidctest"
	"github.com/stsbroker/broker/internal/ststest"
)

func TestServeAuditSink(t *testing.T) {
	sink := filepath.Join(t.TempDir(), "audit.log")
	s := startServed(t, defaultServer, fmt.Sprintf("audit:\n  sink: %q\n", sink))
	claims := oidctest.GitHubActionsClaims("myorg/app", "refs/heads/main")
	token := mintToken(t, s.stack, "refs/heads/main")
	denied := mintToken(t, s.stack, "refs/heads/feature")

	status, creds, body, issuedID := getCredentials(t, http.DefaultClient, s.URL, token)
	if status != http.StatusOK {
		t.Fatalf("GET credentials = %d %s, want 200", status, body)
	}
	status, _, body, refusedID := getCredentials(t, http.DefaultClient, s.URL, denied)
	if status != http.StatusForbidden {
		t.Fatalf("GET credentials with a feature-branch token = %d %s, want 403", status, body)
	}
	// Stop the broker so the sink is flushed and closed before reading it.
	s.shutdown(t)

	fi, err := os.Stat(sink)
	if err != nil {
		t.Fatalf("audit sink: %v", err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Errorf("audit sink mode = %o, want 600", mode)
	}
	raw, err := os.ReadFile(sink)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("audit sink has %d lines, want 2:\n%s", len(lines), raw)
	}
	var got []map[string]any
	for _, l := range lines {
		var e map[string]any
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("audit line %q is not JSON: %v", l, err)
		}
		got = append(got, e)
	}

	// Fields whose values vary are checked for shape, then replaced.
	for i, e := range got {
		ts, _ := e["ts"].(string)
		if _, err := time.Parse(time.RFC3339Nano, ts); err != nil || !strings.HasSuffix(ts, "Z") {
			t.Errorf("audit line %d: ts = %q, want an RFC 3339 time in UTC (%v)", i, ts, err)
		}
		remote, _ := e["remote"].(string)
		if !strings.HasPrefix(remote, "127.0.0.1:") {
			t.Errorf("audit line %d: remote = %q, want 127.0.0.1:port", i, remote)
		}
		e["ts"], e["remote"] = "TS", "REMOTE"
	}
	if exp, _ := got[0]["expiration"].(string); exp == "" {
		t.Errorf("issued line: expiration missing")
	} else if parsed, err := time.Parse(time.RFC3339, exp); err != nil || parsed.Format(time.RFC3339) != creds.Expiration {
		t.Errorf("issued line: expiration = %q, want the served %q", exp, creds.Expiration)
	}
	got[0]["expiration"] = "EXP"
	if arn, _ := got[0]["assumed_role_arn"].(string); arn != "" {
		got[0]["assumed_role_arn"] = "ARN"
	}

	session := "gha-" + claims["run_id"].(string)
	want := []map[string]any{
		{
			"level": "info", "ts": "TS", "logger": "audit", "msg": "credentials issued",
			"remote": "REMOTE", "request_id": issuedID,
			"issuer": "github", "sub": claims["sub"], "profile": "prod-deploy",
			"role_arns":     []any{ststest.SeedToolingRoleARN, ststest.SeedTargetRoleARN},
			"session_name":  session,
			"access_key_id": creds.AccessKeyID, "assumed_role_arn": "ARN", "expiration": "EXP", "cache": "miss",
		},
		{
			"level": "info", "ts": "TS", "logger": "audit", "msg": "credentials refused",
			"remote": "REMOTE", "request_id": refusedID,
			"issuer": "github", "sub": "repo:myorg/app:ref:refs/heads/feature", "profile": "prod-deploy",
			"status": float64(403), "reason": "insufficient_scope", "detail": "condition StringLike on sub not met",
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("audit sink lines (-want +got):\n%s", diff)
	}
	if issuedID == "" || refusedID == "" {
		t.Errorf("X-Request-Id = %q, %q, want both set", issuedID, refusedID)
	}

	for _, secret := range []string{creds.SecretAccessKey, creds.SessionToken, ststest.SeedExternalID, token, denied} {
		if secret == "" {
			t.Fatalf("a secret to look for is empty")
		}
		if strings.Contains(string(raw), secret) {
			t.Errorf("audit sink contains a secret (%.10s…)", secret)
		}
	}

	// The audit events went to the sink only, not to the operational log.
	for _, l := range strings.Split(s.Stderr.String(), "\n") {
		if strings.Contains(l, `"logger":"audit"`) || strings.Contains(l, "credentials issued") || strings.Contains(l, "credentials refused") {
			t.Errorf("stderr carries an audit line: %s", l)
		}
	}
}

// TestServeAuditWriteFailure: an audit sink that refuses a line (here a
// full disk) does not fail the request, but the loss is counted in
// broker_audit_write_errors_total and reported on the operational log as
// JSON (not as zap's plain-text note), for an alert to catch.
func TestServeAuditWriteFailure(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full here")
	}
	s := startServed(t, defaultServer, "audit:\n  sink: /dev/full\n")
	token := mintToken(t, s.stack, "refs/heads/main")
	if status, _, body, _ := getCredentials(t, http.DefaultClient, s.URL, token); status != http.StatusOK {
		t.Fatalf("GET credentials = %d %s, want 200", status, body)
	}
	resp, err := http.Get(s.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(metrics), "\nbroker_audit_write_errors_total 1\n") {
		t.Errorf("metrics lack broker_audit_write_errors_total 1")
	}
	var reported bool
	for _, l := range strings.Split(strings.TrimSpace(s.Stderr.String()), "\n") {
		var e map[string]any
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Errorf("stderr line is not JSON: %q", l)
			continue
		}
		if e["msg"] == "audit line not written; the request was answered without its audit record" &&
			strings.Contains(fmt.Sprint(e["error"]), "no space left on device") {
			reported = true
		}
	}
	if !reported {
		t.Errorf("no operational log line about the lost audit line; stderr:\n%s", s.Stderr)
	}
}
