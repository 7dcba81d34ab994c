package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stsbroker/broker/internal/oidctest"
	"github.com/stsbroker/broker/internal/ststest"
)

// brokerBin is the broker binary built once by TestMain, for tests that need
// a real executable: credential_process lines run by the AWS CLIs, and
// `broker dev` started as a process.
var brokerBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "broker-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	brokerBin = filepath.Join(dir, "broker")
	build := exec.Command("go", "build", "-o", brokerBin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build broker:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// syncBuffer is a bytes.Buffer safe for a writer goroutine and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// stack is a running `broker serve` (through run) in front of a real OIDC
// issuer and the STS emulator loaded with the seed scenario.
type stack struct {
	Issuer  *oidctest.Server
	STS     *ststest.Server
	URL     string // broker base URL
	Stderr  *syncBuffer
	Dir     string
	stop    context.CancelFunc
	stopped chan int
}

// stackConfig is a serve configuration of the seed's pattern; %s are the
// STS endpoint and the issuer URL.
const stackConfig = `
server:
  addr: 127.0.0.1:0
aws:
  region: us-east-1
  sts_endpoint: %q
issuers:
  - name: github
    url: %q
    audiences: [sts.amazonaws.com]
profiles:
  prod-deploy:
    issuer: github
    conditions:
      StringEquals: {aud: sts.amazonaws.com, repository_owner: myorg}
      StringLike: {sub: "repo:myorg/*:ref:refs/heads/main"}
    session_name: "gha-{{ .claims.run_id }}"
    chain:
      - role_arn: arn:aws:iam::111111111111:role/github-actions-oidc
        duration: 1h
      - role_arn: arn:aws:iam::222222222222:role/ci-deploy-role
        external_id: ${env:PROD_EXTERNAL_ID}
        duration: 1h
`

func startStack(t *testing.T) *stack {
	t.Helper()
	s := &stack{
		Issuer:  oidctest.Start(t, oidctest.Options{}),
		STS:     ststest.Start(t, ststest.Options{}),
		Stderr:  &syncBuffer{},
		Dir:     t.TempDir(),
		stopped: make(chan int, 1),
	}
	if err := s.STS.LoadSeed(s.Issuer.URL()); err != nil {
		t.Fatalf("LoadSeed() = %v", err)
	}
	t.Setenv("PROD_EXTERNAL_ID", ststest.SeedExternalID)
	path := filepath.Join(s.Dir, "broker.yaml")
	if err := os.WriteFile(path, fmt.Appendf(nil, stackConfig, s.STS.URL(), s.Issuer.URL()), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.stop = cancel
	go func() { s.stopped <- run(ctx, []string{"serve", "--config", path}, io.Discard, s.Stderr) }()
	t.Cleanup(func() { s.shutdown(t) })

	deadline := time.Now().Add(10 * time.Second)
	for s.URL == "" {
		if time.Now().After(deadline) {
			t.Fatalf("broker did not start; stderr:\n%s", s.Stderr)
		}
		for _, line := range strings.Split(s.Stderr.String(), "\n") {
			var e struct{ Msg, Addr string }
			if json.Unmarshal([]byte(line), &e) == nil && e.Msg == "broker listening" {
				s.URL = "http://" + e.Addr
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	return s
}

// shutdown stops the broker like SIGTERM does and checks it exits 0.
func (s *stack) shutdown(t *testing.T) {
	t.Helper()
	if s.stop == nil {
		return
	}
	s.stop()
	s.stop = nil
	s.wantExit0(t, 15*time.Second)
}

// wantExit0 checks that broker serve, stopped, returns 0 within d.
func (s *stack) wantExit0(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case code := <-s.stopped:
		if code != 0 {
			t.Errorf("broker serve exit code = %d after shutdown, want 0; stderr:\n%s", code, s.Stderr)
		}
	case <-time.After(d):
		t.Errorf("broker serve did not stop within %s of cancellation", d)
	}
}

// writeToken mints a token for claims into a file without a trailing newline.
func (s *stack) writeToken(t *testing.T, name string, claims map[string]any) string {
	t.Helper()
	tok, err := s.Issuer.Mint(claims)
	if err != nil {
		t.Fatalf("Mint() = %v", err)
	}
	path := filepath.Join(s.Dir, name)
	if err := os.WriteFile(path, []byte(tok), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	return getBody(t, url, "")
}
