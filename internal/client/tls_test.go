package client

import (
	"encoding/pem"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// startTLSBroker starts a fake broker over TLS with httptest's self-signed
// certificate (valid for 127.0.0.1) and writes that certificate to a PEM file.
func startTLSBroker(t *testing.T, a answer) (b *fakeBroker, caFile string) {
	t.Helper()
	b = &fakeBroker{}
	b.srv = httptest.NewUnstartedServer(b.handler(a))
	b.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the failing handshake is expected
	b.srv.StartTLS()
	t.Cleanup(b.srv.Close)
	b.host = strings.TrimPrefix(b.srv.URL, "https://")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: b.srv.Certificate().Raw})
	return b, writeFile(t, t.TempDir(), "ca.pem", string(pemBytes))
}

func TestRunTLS(t *testing.T) {
	tests := []struct {
		name       string
		withCA     bool
		wantExit   int
		wantStdout string
		wantStderr string // "{host}" is replaced by the broker's host:port
		wantCalls  int
	}{
		{name: "private-ca-trusted", withCA: true, wantExit: ExitOK, wantStdout: okStdout, wantCalls: 1},
		{
			name: "system-roots-reject", withCA: false, wantExit: ExitTransient,
			wantStderr: "broker: cannot reach {host}: tls: failed to verify certificate: x509: certificate signed by unknown authority\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, caFile := startTLSBroker(t, answer{status: 200, body: okBody})
			cfg := Config{
				URL: b.srv.URL, Profile: "prod-deploy", Timeout: 5 * time.Second,
				Source: EnvSource{Var: "T", Getenv: func(string) string { return callerJWT }},
			}
			if tt.withCA {
				cfg.CAFile = caFile
			}

			exit, stdout, stderr := runClient(t, cfg)

			if exit != tt.wantExit {
				t.Errorf("Run() = %d, want %d", exit, tt.wantExit)
			}
			if stdout != tt.wantStdout {
				t.Errorf("stdout = %q, want %q", stdout, tt.wantStdout)
			}
			if want := strings.ReplaceAll(tt.wantStderr, "{host}", b.host); stderr != want {
				t.Errorf("stderr = %q, want %q", stderr, want)
			}
			if got := len(b.requests()); got != tt.wantCalls {
				t.Errorf("broker got %d requests, want %d", got, tt.wantCalls)
			}
			checkNoLeak(t, callerJWT, stdout, stderr)
		})
	}
}

func TestRunDoesNotFollowRedirectsWithBuiltClient(t *testing.T) {
	target := startBroker(t, answer{status: 200, body: okBody})
	b := startBroker(t, answer{status: 307, header: map[string]string{"Location": target.srv.URL + "/v1/credentials/prod-deploy"}})
	exit, stdout, stderr := runClient(t, Config{
		URL: b.srv.URL, Profile: "prod-deploy",
		Source: EnvSource{Var: "T", Getenv: func(string) string { return callerJWT }},
	})
	if exit != ExitRefused || stdout != "" || stderr != "broker: 307: unexpected answer\n" {
		t.Errorf("Run() = %d, stdout %q, stderr %q; want 1, empty, %q", exit, stdout, stderr, "broker: 307: unexpected answer\n")
	}
	if got := len(target.requests()); got != 0 {
		t.Errorf("redirect target got %d requests, want 0", got)
	}
}
