package api

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestMaxConnections: beyond MaxConnections open connections, a new one is
// closed at once, before a request is read, and counted; once a connection
// closes, the next is served. broker_connections_open follows.
func TestMaxConnections(t *testing.T) {
	b := newTestBroker(t, brokerOpts{maxConnections: 2})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- b.Server.Run(ctx, Listeners{Main: ln}) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run() = %v", err)
		}
	})
	addr := ln.Addr().String()

	// healthz sends GET /healthz on c and returns the status, or the error
	// of a connection the server closed.
	healthz := func(c net.Conn) (int, error) {
		t.Helper()
		if err := c.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
			t.Fatal(err)
		}
		if _, err := fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: broker\r\n\r\n"); err != nil {
			return 0, err
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	dial := func() net.Conn {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	metric := func(name string) string {
		t.Helper()
		_, body := b.get(t, "/metrics", "")
		for line := range strings.Lines(string(body)) {
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

	first, second := dial(), dial()
	for i, c := range []net.Conn{first, second} {
		if code, err := healthz(c); err != nil || code != http.StatusOK {
			t.Fatalf("connection %d: GET /healthz = %d, %v; want 200", i+1, code, err)
		}
	}
	waitOpen("2")

	third := dial()
	code, err := healthz(third)
	if err == nil {
		t.Fatalf("third connection: GET /healthz = %d, want the connection closed", code)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("third connection: %v, want it closed at once, not left waiting", err)
	}
	if got := metric("broker_connections_refused_total"); got != "1" {
		t.Errorf("broker_connections_refused_total = %q, want 1", got)
	}
	waitOpen("2")

	first.Close()
	waitOpen("1")
	if code, err := healthz(dial()); err != nil || code != http.StatusOK {
		t.Errorf("after one closed: GET /healthz = %d, %v; want 200", code, err)
	}
	if code, err := healthz(second); err != nil || code != http.StatusOK {
		t.Errorf("the kept-alive connection: GET /healthz = %d, %v; want 200", code, err)
	}
}
