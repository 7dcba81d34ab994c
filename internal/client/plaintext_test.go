package client

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"
)

// A plain-HTTP --url is refused unless its host is loopback or
// --insecure-plaintext is given, as the server refuses a plain-HTTP
// listener off loopback unless server.insecure_plaintext is set. Every
// request is dialled to the fake broker, whatever the URL's host, so that
// the rows test the check and not the network.
func TestRunPlaintextURL(t *testing.T) {
	b := startBroker(t, answer{status: 200, body: okBody})
	_, port, err := net.SplitHostPort(b.host)
	if err != nil {
		t.Fatalf("SplitHostPort(%q) error = %v", b.host, err)
	}
	toBroker := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, b.host)
		},
	}}
	t.Cleanup(toBroker.CloseIdleConnections)
	refused := func(host string) string {
		return "broker: --url http://" + host + ":" + port + " would send the token in clear to a host that is not loopback: use https://, or --insecure-plaintext if the broker is reachable only on a trusted network\n"
	}
	tests := []struct {
		name       string
		host       string
		insecure   bool
		wantStderr string // "" means success
	}{
		{name: "loopback-ipv4", host: "127.0.0.1"},
		{name: "loopback-ipv4-range", host: "127.5.6.7"},
		{name: "loopback-ipv6", host: "[::1]"},
		{name: "loopback-ipv4-mapped", host: "[::ffff:127.0.0.1]"},
		{name: "localhost", host: "localhost"},
		// net/http would send it through an HTTP_PROXY from the
		// environment: only "localhost" itself is never proxied.
		{name: "localhost-upper-case", host: "LocalHost", wantStderr: refused("LocalHost")},
		{name: "name", host: "broker.internal", wantStderr: refused("broker.internal")},
		{name: "private-ip", host: "10.0.0.5", wantStderr: refused("10.0.0.5")},
		{name: "unspecified", host: "0.0.0.0", wantStderr: refused("0.0.0.0")},
		{name: "ipv6-not-loopback", host: "[fd00::1]", wantStderr: refused("[fd00::1]")},
		{name: "name-that-looks-loopback", host: "127.0.0.1.nip.io", wantStderr: refused("127.0.0.1.nip.io")},
		{name: "localhost-subdomain", host: "localhost.example.com", wantStderr: refused("localhost.example.com")},
		{name: "insecure-plaintext-name", host: "broker.internal", insecure: true},
		{name: "insecure-plaintext-ip", host: "10.0.0.5", insecure: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(b.requests())
			exit, stdout, stderr := runClient(t, Config{
				URL: "http://" + tt.host + ":" + port, Profile: "prod-deploy", InsecurePlaintext: tt.insecure,
				Source:     EnvSource{Var: "T", Getenv: func(string) string { return callerJWT }},
				HTTPClient: toBroker, Timeout: 5 * time.Second,
			})
			sent := len(b.requests()) - before
			if tt.wantStderr == "" {
				if exit != ExitOK || stdout != okStdout || stderr != "" {
					t.Errorf("Run() = %d, stdout %q, stderr %q; want 0, the credentials, empty", exit, stdout, stderr)
				}
				if sent != 1 {
					t.Errorf("broker got %d requests, want 1", sent)
				}
				return
			}
			if exit != ExitUsage || stdout != "" || stderr != tt.wantStderr {
				t.Errorf("Run() = %d, stdout %q, stderr %q; want %d, empty, %q", exit, stdout, stderr, ExitUsage, tt.wantStderr)
			}
			if sent != 0 {
				t.Errorf("broker got %d requests, want 0: the token must not be sent", sent)
			}
			checkNoLeak(t, callerJWT, stdout, stderr)
		})
	}
}
