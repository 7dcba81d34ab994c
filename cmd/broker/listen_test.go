package main

import (
	"bytes"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/stsbroker/broker/internal/ststest"
)

func TestServeNonLoopbackNeedsTLS(t *testing.T) {
	t.Run("refused-without-tls", func(t *testing.T) {
		s := newServedDeps(t)
		path := writeServeConfig(t, s.Dir, s.STS.URL(), s.Issuer.URL(), "server:\n  addr: 0.0.0.0:0\n", "")
		var stderr bytes.Buffer
		code := run(t.Context(), []string{"serve", "--config", path}, &bytes.Buffer{}, &stderr)
		if code != 1 {
			t.Errorf("serve with a non-loopback addr and no TLS = %d, want 1; stderr %q", code, stderr.String())
		}
		want := "server.addr: 0.0.0.0:0 is not a loopback address: configure server.tls, or set server.insecure_plaintext: true"
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr = %q, want it to contain %q", stderr.String(), want)
		}
		if strings.Contains(stderr.String(), "broker listening") {
			t.Errorf("stderr = %q, want no listening line", stderr.String())
		}
	})

	t.Run("insecure-plaintext-starts", func(t *testing.T) {
		// Binds every interface on an ephemeral port for the test's
		// duration; the test itself only talks to 127.0.0.1.
		s := startServed(t, "server:\n  addr: 0.0.0.0:0\n  insecure_plaintext: true\n", "")
		host, port, err := net.SplitHostPort(s.Addr)
		if err != nil {
			t.Fatal(err)
		}
		if host != "::" && host != "0.0.0.0" || s.TLS {
			t.Errorf("broker listening on %q tls=%v, want every interface without TLS", s.Addr, s.TLS)
		}
		if code, body := httpGet(t, "http://127.0.0.1:"+port+"/healthz"); code != http.StatusOK || body != "ok\n" {
			t.Errorf("/healthz = %d %q, want 200 \"ok\\n\"", code, body)
		}
		s.shutdown(t)
	})
}

func TestServeMetricsListener(t *testing.T) {
	// Two ephemeral ports: config accepts the same ":0" spelling for both.
	s := startServed(t, "server:\n  addr: 127.0.0.1:0\n  metrics_addr: 127.0.0.1:0\n", "")
	if s.MetricsAddr == "" || !strings.HasPrefix(s.MetricsAddr, "127.0.0.1:") || strings.HasSuffix(s.MetricsAddr, ":0") || s.MetricsAddr == s.Addr {
		t.Fatalf("broker listening: metrics_addr = %q (addr %q), want the separate metrics listener's bound address", s.MetricsAddr, s.Addr)
	}
	token := mintToken(t, s.stack, "refs/heads/main")
	// One throttled attempt, which the SDK's retry absorbs.
	s.STS.InjectFault("AssumeRole", ststest.Fault{Code: "Throttling", Times: 1})
	if status, _, body, _ := getCredentials(t, http.DefaultClient, s.URL, token); status != http.StatusOK {
		t.Fatalf("GET credentials = %d %s, want 200", status, body)
	}

	t.Run("served-on-metrics-listener", func(t *testing.T) {
		code, body := httpGet(t, "http://"+s.MetricsAddr+"/metrics")
		if code != http.StatusOK {
			t.Fatalf("GET metrics listener /metrics = %d, want 200", code)
		}
		for _, want := range []string{
			`broker_credentials_served_total{cache="miss",profile="prod-deploy"} 1`,
			`broker_sts_calls_total{action="AssumeRole",outcome="ok"} 1`,
			`broker_sts_attempts_total{action="AssumeRole",outcome="Throttling"} 1`,
			`broker_sts_attempts_total{action="AssumeRole",outcome="ok"} 1`,
			`broker_sts_attempts_total{action="AssumeRoleWithWebIdentity",outcome="ok"} 1`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("/metrics lacks %q; got:\n%s", want, body)
			}
		}
		if strings.Contains(body, `broker_sts_calls_total{action="AssumeRole",outcome="Throttling"}`) {
			t.Errorf("/metrics counts the retried call as throttled; it succeeded")
		}
	})

	t.Run("not-on-main-listener", func(t *testing.T) {
		resp, err := http.Get(s.URL + "/metrics")
		if err != nil {
			t.Fatalf("GET %s/metrics: %v", s.URL, err)
		}
		defer resp.Body.Close()
		var body bytes.Buffer
		_, _ = body.ReadFrom(resp.Body)
		const want = `{"error":"not_found","message":"no such path"}` + "\n"
		if resp.StatusCode != http.StatusNotFound || body.String() != want || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("GET main /metrics = %d %q (%s), want 404 %q application/json",
				resp.StatusCode, body.String(), resp.Header.Get("Content-Type"), want)
		}
	})
}
