package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/stsbroker/broker/internal/oidctest"
	"github.com/stsbroker/broker/internal/ststest"
)

// brokerConfig is cmd/broker's devConfig with a session name that differs per
// repository, a cache large enough for every identity (final and hop-1
// entries) and the rate limits off (the defaults, 10/s per identity and 2000/s
// in all, would answer most benchmark requests 429); %s are the broker
// address, the STS and the issuer URLs.
const brokerConfig = `
server:
  addr: %q
  rate_limit: {per_identity: 0, global: 0}
aws:
  region: us-east-1
  sts_endpoint: %q
issuers:
  - name: dev
    url: %q
    audiences: [sts.amazonaws.com]
cache:
  max_entries: %d
profiles:
  prod-deploy:
    issuer: dev
    conditions:
      StringEquals: {aud: sts.amazonaws.com, repository_owner: myorg}
      StringLike: {sub: "repo:myorg/*:ref:refs/heads/main"}
    session_name: "gha-{{ .claims.repository }}-{{ .claims.run_id }}"
    chain:
      - role_arn: arn:aws:iam::111111111111:role/github-actions-oidc
        duration: 1h
      - role_arn: arn:aws:iam::222222222222:role/ci-deploy-role
        external_id: myorg-prod-deploy
        duration: 1h
`

const maxIdentities = 1_000_000

// endpoints is what serve prints: everything run.sh needs.
type endpoints struct {
	Issuer       string `json:"issuer"`
	STS          string `json:"sts"`
	STSShards    int    `json:"sts_shards"`
	BrokerURL    string `json:"broker_url"`
	BrokerConfig string `json:"broker_config"`
	Tokens       string `json:"tokens"`
	FloorURL     string `json:"floor_url"`
	NoCacheURL   string `json:"nocache_url"`
	StatsURL     string `json:"stats_url"`
}

func runServe(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	dir := fs.String("dir", "", "`DIR` to write tokens.txt and broker.yaml into (required)")
	n := fs.Int("identities", 1000, "number of distinct identities to mint tokens for")
	alg := fs.String("alg", oidctest.RS256, "token signing algorithm: RS256 (as GitHub) or ES256 (faster to mint)")
	ttl := fs.Duration("ttl", 2*time.Hour, "token lifetime")
	latency := fs.Duration("sts-latency", 0, "latency injected into every STS call")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" || *n < 1 || *n > maxIdentities {
		return fmt.Errorf("serve: need -dir and 1 ≤ -identities ≤ %d", maxIdentities)
	}

	issuer, err := oidctest.NewServer(oidctest.Options{})
	if err != nil {
		return err
	}
	defer issuer.Close()
	// Each identity leaves two sessions in an emulator.
	emus := make([]*ststest.Server, 1+2**n/sessionsPerShard)
	urls := make([]string, len(emus))
	for i := range emus {
		emu, err := ststest.NewServer(ststest.Options{})
		if err != nil {
			return err
		}
		defer emu.Close()
		if err := emu.LoadSeed(issuer.URL()); err != nil {
			return err
		}
		if *latency > 0 {
			emu.InjectFault("", ststest.Fault{Latency: *latency})
		}
		emus[i], urls[i] = emu, emu.URL()
	}

	ep := endpoints{Issuer: issuer.URL(), STS: urls[0], STSShards: len(emus),
		Tokens: filepath.Join(*dir, "tokens.txt"), BrokerConfig: filepath.Join(*dir, "broker.yaml")}
	if err := mintTokens(issuer, oidctest.MintOptions{Alg: *alg, TTL: *ttl}, *n, ep.Tokens); err != nil {
		return err
	}
	if len(emus) > 1 {
		proxy, err := newShardProxy(urls)
		if err != nil {
			return err
		}
		if ep.STS, err = serveOn(proxy); err != nil {
			return err
		}
	}
	nc, err := newNoCache(ctx, issuer.URL(), ep.STS)
	if err != nil {
		return err
	}
	const path = "/v1/credentials/prod-deploy"
	for _, s := range []struct {
		url  *string
		h    http.Handler
		path string
	}{
		{&ep.FloorURL, floorHandler(), path},
		{&ep.NoCacheURL, nc, path},
		{&ep.StatsURL, statsHandler(emus), "/stats"},
	} {
		if *s.url, err = serveOn(s.h); err != nil {
			return err
		}
		*s.url += s.path
	}

	brokerAddr, err := freeAddr()
	if err != nil {
		return err
	}
	ep.BrokerURL = "http://" + brokerAddr
	cfg := fmt.Sprintf(brokerConfig, brokerAddr, ep.STS, issuer.URL(), 3**n)
	if err := os.WriteFile(ep.BrokerConfig, []byte(cfg), 0o600); err != nil {
		return err
	}
	if err := json.NewEncoder(os.Stdout).Encode(ep); err != nil {
		return err
	}
	<-ctx.Done()
	return nil
}

// mintTokens writes n tokens of distinct repositories myorg/app-NNNNNN, one a
// line, minting on every core.
func mintTokens(issuer *oidctest.Server, o oidctest.MintOptions, n int, path string) error {
	tokens := make([]string, n)
	errs := make([]error, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for w := range errs {
		wg.Go(func() {
			for i := w; i < n; i += len(errs) {
				claims := oidctest.GitHubActionsClaims(fmt.Sprintf("myorg/app-%06d", i), "refs/heads/main")
				tokens[i], errs[w] = issuer.MintWith(o, claims)
				if errs[w] != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(strings.Join(tokens, "\n")+"\n"), 0o600)
}

// serveOn serves h on a free loopback port until the process ends and
// returns its base URL.
func serveOn(h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = hs.Serve(ln) }() // ends with the process
	return "http://" + ln.Addr().String(), nil
}

// freeAddr returns a loopback address with a port free a moment ago.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// statsHandler serves the emulators' call counters as JSON.
func statsHandler(emus []*ststest.Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		calls := map[string]int{}
		for _, emu := range emus {
			for _, action := range []string{"AssumeRoleWithWebIdentity", "AssumeRole"} {
				calls[action] += emu.Calls(action)
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(calls)
	})
}
