package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stsbroker/broker/internal/config"
	"github.com/stsbroker/broker/internal/oidctest"
	"github.com/stsbroker/broker/internal/ststest"
)

// limitsConfig is the seed's profile with the hardening keys set; the %
// verbs are the rate limits, the STS endpoint, max_concurrent_chains,
// call_timeout, the issuer URL and the ExternalId.
const limitsConfig = `
server:
  addr: 127.0.0.1:0
  rate_limit: {per_identity: %g, per_identity_burst: 1, global: %g, global_burst: 1}
aws:
  region: us-east-1
  sts_endpoint: %q
  max_concurrent_chains: %d
  call_timeout: %s
issuers:
  - name: github
    url: %q
    audiences: [sts.amazonaws.com]
profiles:
  prod-deploy:
    issuer: github
    conditions:
      StringLike: {sub: "repo:myorg/*:ref:refs/heads/main"}
    session_name: "gha-{{ .claims.run_id }}"
    chain:
      - role_arn: arn:aws:iam::111111111111:role/github-actions-oidc
      - role_arn: arn:aws:iam::222222222222:role/ci-deploy-role
        external_id: %q
`

type limitsKeys struct {
	perIdentity, global float64
	maxChains           int
	callTimeout         string
}

type limitsBroker struct {
	issuer *oidctest.Server
	sts    *ststest.Server
	url    string
}

// startLimitsBroker builds the broker from config keys k through build, the
// function serve uses, and serves its handler.
func startLimitsBroker(t *testing.T, k limitsKeys) *limitsBroker {
	t.Helper()
	issuer := oidctest.Start(t, oidctest.Options{})
	emu := ststest.Start(t, ststest.Options{})
	if err := emu.LoadSeed(issuer.URL()); err != nil {
		t.Fatalf("LoadSeed() = %v", err)
	}
	yaml := fmt.Sprintf(limitsConfig, k.perIdentity, k.global, emu.URL(), k.maxChains, k.callTimeout, issuer.URL(), ststest.SeedExternalID)
	cfg, err := config.Parse("limits.yaml", []byte(yaml))
	if err != nil {
		t.Fatalf("config.Parse() = %v", err)
	}
	b, err := build(t.Context(), cfg, options{})
	if err != nil {
		t.Fatalf("build() = %v", err)
	}
	hs := httptest.NewServer(b.api.Handler())
	t.Cleanup(func() {
		hs.Close()
		b.close()
	})
	return &limitsBroker{issuer: issuer, sts: emu, url: hs.URL}
}

// get fetches prod-deploy credentials for repo ("" sends no token) and
// returns the status and the error code and message of a refusal.
func (lb *limitsBroker) get(t *testing.T, repo string) (status int, code, message string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, lb.url+"/v1/credentials/prod-deploy", nil)
	if err != nil {
		t.Fatal(err)
	}
	if repo != "" {
		tok, err := lb.issuer.Mint(oidctest.GitHubActionsClaims(repo, "refs/heads/main"))
		if err != nil {
			t.Fatalf("Mint() = %v", err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("GET: %v", err)
		return 0, "", ""
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var e struct{ Error, Message string }
	if resp.StatusCode != http.StatusOK {
		_ = json.Unmarshal(body, &e)
	}
	return resp.StatusCode, e.Error, e.Message
}

func TestWireRateLimits(t *testing.T) {
	tests := []struct {
		name        string
		keys        limitsKeys
		first       string // repo of the first request ("" = no token)
		wantFirst   int
		wantMessage string
	}{
		{name: "per-identity", keys: limitsKeys{perIdentity: 0.001, maxChains: 32, callTimeout: "10s"}, first: "myorg/app", wantFirst: 200,
			wantMessage: "too many requests from this identity; retry in 1000s"},
		{name: "global", keys: limitsKeys{global: 0.001, maxChains: 32, callTimeout: "10s"}, first: "", wantFirst: 401,
			wantMessage: "the broker is at its request limit; retry in 1000s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lb := startLimitsBroker(t, tt.keys)
			if status, _, _ := lb.get(t, tt.first); status != tt.wantFirst {
				t.Fatalf("first request = %d, want %d", status, tt.wantFirst)
			}
			status, code, message := lb.get(t, "myorg/app")
			if status != 429 || code != "rate_limited" || message != tt.wantMessage {
				t.Errorf("second request = %d %s %q, want 429 rate_limited %q", status, code, message, tt.wantMessage)
			}
		})
	}
}

func TestWireCallTimeout(t *testing.T) {
	lb := startLimitsBroker(t, limitsKeys{maxChains: 32, callTimeout: "200ms"})
	lb.sts.InjectFault("AssumeRoleWithWebIdentity", ststest.Fault{Latency: 3 * time.Second})
	start := time.Now()
	status, code, message := lb.get(t, "myorg/app")
	want := "hop 1 (" + ststest.SeedToolingRoleARN + "): no answer from STS before the request deadline"
	if status != 504 || code != "sts_timeout" || message != want {
		t.Errorf("request = %d %s %q, want 504 sts_timeout %q", status, code, message, want)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("answer took %s, want about the 200ms call_timeout", took)
	}
}

func TestWireMaxConcurrentChains(t *testing.T) {
	lb := startLimitsBroker(t, limitsKeys{maxChains: 1, callTimeout: "10s"})
	const latency, n = 300 * time.Millisecond, 3
	lb.sts.InjectFault("AssumeRoleWithWebIdentity", ststest.Fault{Latency: latency})
	start := time.Now()
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if status, code, _ := lb.get(t, fmt.Sprintf("myorg/app%d", i)); status != 200 {
				t.Errorf("identity %d = %d %s, want 200", i, status, code)
			}
		})
	}
	wg.Wait()
	// One chain at a time: the three slow first hops ran one after another.
	if took := time.Since(start); took < n*latency {
		t.Errorf("%d cold identities took %s, want at least %s with max_concurrent_chains 1", n, took, n*latency)
	}
}

// TestCredentialProcessWaitsOutRateLimit: a job that starts right after
// another of its identity finds the per-identity bucket empty; broker
// credential-process waits the Retry-After the broker gives and gets its
// credentials, instead of failing the AWS CLI command that ran it.
func TestCredentialProcessWaitsOutRateLimit(t *testing.T) {
	lb := startLimitsBroker(t, limitsKeys{perIdentity: 2, maxChains: 32, callTimeout: "10s"})
	tok, err := lb.issuer.Mint(oidctest.GitHubActionsClaims("myorg/app", "refs/heads/main"))
	if err != nil {
		t.Fatalf("Mint() = %v", err)
	}
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(tok), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"credential-process", "--url", lb.url, "--profile", "prod-deploy", "--token-file", tokenFile}
	start := time.Now()
	for i := range 2 {
		var stdout, stderr bytes.Buffer
		if code := run(t.Context(), args, &stdout, &stderr); code != 0 {
			t.Fatalf("credential-process run %d = %d, stderr %q; want 0", i+1, code, stderr.String())
		}
	}
	// The bucket (2/s, burst 1) was empty for the second run: the broker
	// said "retry in 1s", and the client waited before asking again.
	if took := time.Since(start); took < 900*time.Millisecond {
		t.Errorf("two runs took %s, want the second to have waited about a second for the rate limit", took.Round(time.Millisecond))
	}
}

// TestServeSTSEndpointFromEnvironment: without aws.sts_endpoint the AWS SDK
// takes the STS endpoint from AWS_ENDPOINT_URL_STS or the shared config's
// endpoint_url. The broker holds it to sts_endpoint's rule (https unless
// loopback, a regional AWS name in aws.region) and logs where STS calls go.
func TestServeSTSEndpointFromEnvironment(t *testing.T) {
	s := newServedDeps(t)
	yaml := strings.Replace(fmt.Sprintf(stackConfig, s.STS.URL(), s.Issuer.URL()), fmt.Sprintf("  sts_endpoint: %q\n", s.STS.URL()), "", 1)
	if strings.Contains(yaml, "sts_endpoint") {
		t.Fatal("the configuration still sets sts_endpoint")
	}
	path := filepath.Join(s.Dir, "broker.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}

	t.Setenv("AWS_ENDPOINT_URL_STS", "http://sts.example.com")
	var stderr bytes.Buffer
	refused, stop := context.WithTimeout(t.Context(), 5*time.Second) // it must not start serving
	defer stop()
	if code := run(refused, []string{"serve", "--config", path}, io.Discard, &stderr); code != 1 ||
		!strings.Contains(stderr.String(), "the AWS SDK's configuration (AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL or endpoint_url in the shared config) sets an STS endpoint it cannot use (must use https unless the host is loopback)") {
		t.Errorf("serve with a plain-http AWS_ENDPOINT_URL_STS = %d, stderr %q; want 1 naming the variable", code, stderr.String())
	}

	// The same from the shared config file, and an AWS regional endpoint
	// of another region.
	t.Setenv("AWS_ENDPOINT_URL_STS", "")
	shared := filepath.Join(s.Dir, "aws-config")
	if err := os.WriteFile(shared, []byte("[default]\nendpoint_url = https://sts.eu-west-1.amazonaws.com\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_CONFIG_FILE", shared)
	stderr.Reset()
	refused2, stop2 := context.WithTimeout(t.Context(), 5*time.Second)
	defer stop2()
	if code := run(refused2, []string{"serve", "--config", path}, io.Discard, &stderr); code != 1 ||
		!strings.Contains(stderr.String(), "sts.eu-west-1.amazonaws.com is STS in eu-west-1, but aws.region is us-east-1") {
		t.Errorf("serve with endpoint_url of another region in the shared config = %d, stderr %q; want 1 naming the region", code, stderr.String())
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(s.Dir, "none"))

	t.Setenv("AWS_ENDPOINT_URL_STS", s.STS.URL())
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() { s.stopped <- run(ctx, []string{"serve", "--config", path}, io.Discard, s.Stderr) }()
	url := "http://" + waitLogField(t, s.Stderr, "broker listening", "addr")
	if got := waitLogField(t, s.Stderr, "STS endpoint taken from the AWS SDK's configuration, not aws.sts_endpoint", "sts_endpoint"); got != s.STS.URL() {
		t.Errorf("logged sts_endpoint = %q, want %q", got, s.STS.URL())
	}
	if status, _, body, _ := getCredentials(t, http.DefaultClient, url, mintToken(t, s, "refs/heads/main")); status != http.StatusOK {
		t.Errorf("GET credentials = %d %s, want 200 through the environment's endpoint", status, body)
	}
	if n := s.STS.Calls("AssumeRole"); n != 1 {
		t.Errorf("emulator AssumeRole calls = %d, want 1", n)
	}
	cancel()
	if code := <-s.stopped; code != 0 {
		t.Errorf("serve exit = %d, want 0", code)
	}
}
