package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestCredentialProcessFlagChecks: the checks of the client's flags reach
// the command line, each a usage error on one line. None of these rows
// touches the network: the token source (an unset variable) fails first
// when the flags pass.
func TestCredentialProcessFlagChecks(t *testing.T) {
	plaintext := "broker: --url http://broker.example:8080 would send the token in clear to a host that is not loopback: use https://, or --insecure-plaintext if the broker is reachable only on a trusted network\n"
	flagsPass := "broker: token env: BROKER_TEST_UNSET is not set or empty\n"
	badProfile := "broker: --profile must be 1 to 64 of A-Z a-z 0-9 _ . - and not only dots\n"
	tests := []struct {
		name       string
		args       []string
		wantStderr string
	}{
		{name: "http-not-loopback", args: []string{"--url", "http://broker.example:8080", "--profile", "p"}, wantStderr: plaintext},
		{name: "http-not-loopback-insecure-plaintext", args: []string{"--url", "http://broker.example:8080", "--insecure-plaintext", "--profile", "p"}, wantStderr: flagsPass},
		{name: "http-loopback", args: []string{"--url", "http://127.0.0.1:1", "--profile", "p"}, wantStderr: flagsPass},
		{name: "http-localhost", args: []string{"--url", "http://localhost:1", "--profile", "p"}, wantStderr: flagsPass},
		{name: "https", args: []string{"--url", "https://broker.example:8443", "--profile", "p"}, wantStderr: flagsPass},
		{name: "profile-dot-dot", args: []string{"--url", "http://127.0.0.1:1", "--profile", ".."}, wantStderr: badProfile},
		{name: "profile-non-ascii", args: []string{"--url", "http://127.0.0.1:1", "--profile", "é"}, wantStderr: badProfile},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("BROKER_URL", "")
			t.Setenv("BROKER_TEST_UNSET", "")
			var stdout, stderr bytes.Buffer
			args := append([]string{"credential-process"}, tt.args...)
			code := run(t.Context(), append(args, "--token-env", "BROKER_TEST_UNSET"), &stdout, &stderr)
			if code != 2 || stdout.Len() != 0 || stderr.String() != tt.wantStderr {
				t.Errorf("run(%q) = %d, stdout %q, stderr %q; want 2, empty, %q", args, code, stdout.String(), stderr.String(), tt.wantStderr)
			}
		})
	}
}

// TestCredentialProcessGitHubPlaintext: --insecure-plaintext reaches the
// GitHub Actions source too. Without it a plain-http runtime URL off
// loopback is a usage error before any request; with it the request is
// made (and fails: nothing listens there).
func TestCredentialProcessGitHubPlaintext(t *testing.T) {
	t.Setenv("BROKER_URL", "")
	t.Setenv("ACTIONS_ID_TOKEN_REQUEST_URL", "http://192.0.2.1:9/_apis/token")
	t.Setenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "request-token")
	args := []string{"credential-process", "--url", "http://127.0.0.1:1", "--profile", "p", "--github-actions", "--timeout", "1s"}
	var stdout, stderr bytes.Buffer
	if code := run(t.Context(), args, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), "ACTIONS_ID_TOKEN_REQUEST_URL is plain http") {
		t.Errorf("run(%q) = %d, stderr %q; want 2 naming the plain-http runtime URL", args, code, stderr.String())
	}
	stderr.Reset()
	if code := run(t.Context(), append(args, "--insecure-plaintext"), &stdout, &stderr); code != 3 || !strings.Contains(stderr.String(), "github actions: ") {
		t.Errorf("run(%q --insecure-plaintext) = %d, stderr %q; want 3, the runtime unreachable", args, code, stderr.String())
	}
}
