package api

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestMaxConnections: beyond three quarters of MaxConnections open
// connections, idle kept-alive connections are closed, so connections
// cannot be held idle while new callers, health probes included, are
// still served. At MaxConnections a new connection is closed at once and
// counted. broker_connections_open follows.
func TestMaxConnections(t *testing.T) {
	b := newTestBroker(t, brokerOpts{maxConnections: 4})
	ln := listenLocal(t)
	b.run(t, Listeners{Main: ln})
	addr := ln.Addr().String()

	dial := func() net.Conn {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	// healthz sends GET /healthz on c and returns the status and whether
	// the server closed the connection after it (net/http does not always
	// say "Connection: close" when keep-alives are off: this reads on for
	// 200ms), or the error of a connection the server closed.
	healthz := func(c net.Conn) (int, bool, error) {
		t.Helper()
		if err := c.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
			t.Fatal(err)
		}
		if _, err := fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: broker\r\n\r\n"); err != nil {
			return 0, false, err
		}
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return 0, false, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err := c.SetReadDeadline(time.Now().Add(200 * time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		_, err = br.ReadByte()
		var ne net.Error
		closed := err != nil && !(errors.As(err, &ne) && ne.Timeout())
		return resp.StatusCode, closed, nil
	}
	metric := func(name string) string {
		t.Helper()
		for line := range strings.Lines(b.metricsText(t)) {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+" "); ok {
				return v
			}
		}
		return ""
	}
	waitOpen := func(want string) {
		t.Helper()
		waitUntil(t, "broker_connections_open "+want, func() bool { return metric("broker_connections_open") == want })
	}

	// Up to three quarters, connections stay open after their request.
	var kept []net.Conn
	for i := range 3 {
		c := dial()
		if code, closed, err := healthz(c); err != nil || code != http.StatusOK || closed {
			t.Fatalf("connection %d: GET /healthz = %d (closed %v), %v; want 200, kept alive", i+1, code, closed, err)
		}
		kept = append(kept, c)
	}
	waitOpen("3")
	// The fourth is beyond: the idle ones are closed, it is served.
	fourth := dial()
	if code, _, err := healthz(fourth); err != nil || code != http.StatusOK {
		t.Fatalf("fourth connection: GET /healthz = %d, %v; want 200", code, err)
	}
	waitOpen("1")
	if _, _, err := healthz(kept[0]); err == nil {
		t.Errorf("an idle connection still answers after the fourth arrived, want it closed")
	}
	fourth.Close()
	waitOpen("0")

	// Four connections that send nothing (held until the header timeout):
	// a fifth is closed at once, without an answer, and counted.
	var silent []net.Conn
	for range 4 {
		silent = append(silent, dial())
	}
	waitOpen("4")
	_, _, err := healthz(dial())
	if err == nil {
		t.Fatalf("fifth connection answered, want it closed")
	}
	if ne := net.Error(nil); errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("fifth connection: %v, want it closed at once, not left waiting", err)
	}
	if got := metric("broker_connections_refused_total"); got != "1" {
		t.Errorf("broker_connections_refused_total = %q, want 1", got)
	}
	// One closes: the next caller is served.
	silent[0].Close()
	waitOpen("3")
	if code, _, err := healthz(dial()); err != nil || code != http.StatusOK {
		t.Errorf("after one closed: GET /healthz = %d, %v; want 200", code, err)
	}
}

// TestMaxConnectionsUnderTLS: with TLS the cap applies to TCP connections
// before their handshake. At the cap a TLS client's handshake fails at once
// (the connection is closed, nothing is logged) and is counted; once a
// connection closes, a TLS client is served again.
func TestMaxConnectionsUnderTLS(t *testing.T) {
	b := newTestBroker(t, brokerOpts{maxConnections: 2})
	// httptest's certificate for 127.0.0.1, and a client that trusts it.
	certSrv := httptest.NewUnstartedServer(http.NotFoundHandler())
	certSrv.StartTLS()
	serverTLS := certSrv.TLS.Clone()
	clientTLS := certSrv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	certSrv.Close()

	ln := listenLocal(t)
	b.run(t, Listeners{Main: ln, TLS: serverTLS})
	addr := ln.Addr().String()
	healthz := func() (int, error) {
		t.Helper()
		c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: clientTLS, DisableKeepAlives: true}}
		resp, err := c.Get("https://" + addr + "/healthz")
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	openMetric := func() string {
		for line := range strings.Lines(b.metricsText(t)) {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "broker_connections_open "); ok {
				return v
			}
		}
		return ""
	}

	if code, err := healthz(); err != nil || code != http.StatusOK {
		t.Fatalf("below the cap: GET /healthz over TLS = %d, %v; want 200", code, err)
	}
	// Its connection is closed (no keep-alive) before the cap is filled.
	waitUntil(t, "broker_connections_open 0", func() bool { return openMetric() == "0" })
	// Two TCP connections that never start a handshake fill the cap.
	var silent []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		silent = append(silent, c)
	}
	waitUntil(t, "broker_connections_open 2", func() bool { return openMetric() == "2" })

	start := time.Now()
	if code, err := healthz(); err == nil {
		t.Fatalf("at the cap: GET /healthz over TLS = %d, want the connection closed", code)
	} else if ne := net.Error(nil); errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("at the cap: %v, want the connection closed at once, not left waiting", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("refusal took %v, want it at once", d)
	}
	wantMetrics(t, b.metricsText(t), "broker_connections_refused_total 1")
	if n := b.Logs.FilterMessageSnippet("TLS").Len(); n != 0 {
		t.Errorf("%d log lines about TLS for a refused connection, want none: %v", n, b.Logs.FilterMessageSnippet("TLS").All())
	}

	silent[0].Close()
	waitUntil(t, "broker_connections_open 1", func() bool { return openMetric() == "1" })
	if code, err := healthz(); err != nil || code != http.StatusOK {
		t.Errorf("after one closed: GET /healthz over TLS = %d, %v; want 200", code, err)
	}
}

// TestMetricsListenerBounded: a separate metrics listener has its own bound
// (maxMetricsConns): connections held open there cannot pile up without
// limit and use the file descriptors the main listener needs.
func TestMetricsListenerBounded(t *testing.T) {
	b := newTestBroker(t, brokerOpts{})
	metrics := listenLocal(t)
	b.run(t, Listeners{Main: listenLocal(t), Metrics: metrics})
	addr := metrics.Addr().String()
	scrape := func() error {
		c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := c.Get("http://" + addr + "/metrics")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}
	if err := scrape(); err != nil {
		t.Fatalf("scrape below the bound: %v", err)
	}
	waitUntil(t, "the scrape's connection closed", func() bool { return b.Server.metricsConns.Load() == 0 })
	var silent []net.Conn
	for range maxMetricsConns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		silent = append(silent, c)
	}
	waitUntil(t, "the metrics listener full", func() bool { return b.Server.metricsConns.Load() == maxMetricsConns })
	if err := scrape(); err == nil {
		t.Fatalf("scrape at the bound succeeded, want the connection closed")
	}
	silent[0].Close()
	waitUntil(t, "one metrics connection closed", func() bool { return b.Server.metricsConns.Load() == maxMetricsConns-1 })
	if err := scrape(); err != nil {
		t.Errorf("scrape after one closed: %v", err)
	}
	// The main listener's count is its own.
	if n := b.Server.conns.Load(); n != 0 {
		t.Errorf("main listener connections = %d, want 0", n)
	}
}

// listenLocal listens on a free port of 127.0.0.1.
func listenLocal(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// run serves b on ls until the test ends, then checks Run returned nil.
func (b *testBroker) run(t *testing.T, ls Listeners) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- b.Server.Run(ctx, ls) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run() = %v", err)
		}
	})
}
