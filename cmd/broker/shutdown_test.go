package main

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/stsbroker/broker/internal/ststest"
)

func TestServeGracefulShutdown(t *testing.T) {
	s := startServed(t, defaultServer, "")
	token := mintToken(t, s.stack, "refs/heads/main")
	const latency = time.Second
	s.STS.InjectFault("AssumeRole", ststest.Fault{Latency: latency})

	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	done := make(chan fetchResult, 1)
	go func() {
		r := fetchCreds(&http.Client{Transport: tr}, s.URL, token)
		done <- r
	}()

	// Hop 1 recorded means hop 2 (AssumeRole, delayed by latency) is next.
	deadline := time.Now().Add(10 * time.Second)
	for s.STS.Calls("AssumeRoleWithWebIdentity") == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the broker never called AssumeRoleWithWebIdentity; stderr:\n%s", s.Stderr)
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	select {
	case r := <-done:
		t.Fatalf("request finished (%d %s) before shutdown started; the latency did not apply", r.status, r.body)
	default:
	}

	cancelled := time.Now()
	s.stop() // what SIGTERM does through signal.NotifyContext
	s.stop = nil

	// The listener closes at once: new connections are refused while the
	// in-flight request is still running.
	for {
		c, err := net.DialTimeout("tcp", s.Addr, time.Second)
		if err != nil {
			// A dial racing the close of the listening socket is reset.
			if !errors.Is(err, syscall.ECONNREFUSED) && !errors.Is(err, syscall.ECONNRESET) {
				t.Errorf("dial after shutdown began: %v, want connection refused", err)
			}
			break
		}
		c.Close()
		if time.Since(cancelled) > 5*time.Second {
			t.Fatalf("the broker still accepts connections 5s after shutdown began")
		}
		time.Sleep(5 * time.Millisecond)
	}
	select {
	case r := <-done:
		t.Errorf("in-flight request finished (%d) before the listener closed; it was not in flight during shutdown", r.status)
	default:
	}

	var r fetchResult
	select {
	case r = <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("in-flight request did not finish within 10s of shutdown")
	}
	if r.status != http.StatusOK {
		t.Fatalf("in-flight request during shutdown = %d %s, want 200", r.status, r.body)
	}
	if got := callerARN(t, s.STS.URL(), r.creds); got != wantSeedARN() {
		t.Errorf("caller ARN of the credentials served during shutdown = %q, want %q", got, wantSeedARN())
	}

	s.wantExit0(t, 15*time.Second)
	if got := s.STS.CallsByOutcome("AssumeRole", ststest.OutcomeOK); got != 1 {
		t.Errorf("emulator AssumeRole ok calls = %d, want 1", got)
	}
	c, err := net.DialTimeout("tcp", s.Addr, time.Second)
	if err == nil {
		c.Close()
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("dial after serve returned: err = %v, want connection refused", err)
	}
}

// fetchResult is what fetchCreds got: the status (0 when there was no
// answer), the credentials on 200, and the body or the transport error.
type fetchResult struct {
	status int
	creds  processCreds
	body   string
}

// fetchCreds is getCredentials for a goroutine other than the test's: it
// reports failures in its result instead of through t.
func fetchCreds(c *http.Client, baseURL, token string) fetchResult {
	var r fetchResult
	req, err := http.NewRequest(http.MethodGet, baseURL+"/v1/credentials/prod-deploy", nil)
	if err != nil {
		return fetchResult{body: err.Error()}
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.Do(req)
	if err != nil {
		return fetchResult{body: err.Error()}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	r.status, r.body = resp.StatusCode, string(b)
	if err != nil {
		r.body = err.Error()
		return r
	}
	if r.status == http.StatusOK {
		if err := json.Unmarshal(b, &r.creds); err != nil {
			r.body = "credentials are not JSON: " + err.Error()
		}
	}
	return r
}

// A credentials request that takes longer than 10 seconds, within
// server.request_timeout, still finishes when shutdown begins while it runs,
// and serve exits 0 (the grace is the request timeout plus 5 seconds).
func TestServeShutdownWaitsForALongRequest(t *testing.T) {
	if testing.Short() {
		t.Skip("takes 12 seconds")
	}
	s := startServed(t, "server:\n  addr: 127.0.0.1:0\n  request_timeout: 20s\n", "")
	token := mintToken(t, s.stack, "refs/heads/main")
	// Two hops of 6 s each: each call within aws.call_timeout (10 s), the
	// request past the 10 s the grace used to be.
	s.STS.InjectFault("AssumeRoleWithWebIdentity", ststest.Fault{Latency: 6 * time.Second})
	s.STS.InjectFault("AssumeRole", ststest.Fault{Latency: 6 * time.Second})

	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	done := make(chan fetchResult, 1)
	start := time.Now()
	go func() { done <- fetchCreds(&http.Client{Transport: tr}, s.URL, token) }()
	time.Sleep(500 * time.Millisecond)
	s.stop()
	s.stop = nil

	var r fetchResult
	select {
	case r = <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("in-flight request did not finish within 20s of shutdown")
	}
	if r.status != http.StatusOK {
		t.Fatalf("in-flight request of %s during shutdown = %d %s, want 200", time.Since(start).Round(time.Second), r.status, r.body)
	}
	s.wantExit0(t, 10*time.Second)
}
