package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/stsbroker/broker/internal/auth"
	"github.com/stsbroker/broker/internal/chain"
	"github.com/stsbroker/broker/internal/profile"
	"github.com/stsbroker/broker/internal/ststest"
)

// processOutput is the credential_process JSON the broker answers.
type processOutput struct {
	Version         int    `json:"Version"`
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	SessionToken    string `json:"SessionToken"`
	Expiration      string `json:"Expiration"`
}

// floorHandler answers a fixed body of the size of the broker's answer (the
// emulator's session tokens are 373 characters): the cost of Go's HTTP server
// and nothing else.
func floorHandler() http.Handler {
	body, _ := json.Marshal(processOutput{
		Version:         1,
		AccessKeyID:     "ASIA" + strings.Repeat("A", 16),
		SecretAccessKey: strings.Repeat("s", 40),
		SessionToken:    "IQoJb3JpZ2luX2VjE" + strings.Repeat("t", 356),
		Expiration:      "2030-01-01T00:00:00Z",
	})
	body = append(body, '\n')
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(body)
	})
}

// noCache is the broker without its credentials cache: it verifies the
// caller's token and prepares the profile as the broker does (a remembered
// token is a hash and a lookup; authorizing and rendering happen once per
// token), and runs the whole chain on every request: what a per-job action
// costs in STS calls.
type noCache struct {
	verifier *auth.Verifier
	profile  *profile.Profile
	runner   *chain.Runner
}

func newNoCache(ctx context.Context, issuerURL, stsURL string) (*noCache, error) {
	v, err := auth.New(ctx, auth.Config{Issuers: []auth.IssuerConfig{
		{Name: "dev", URL: issuerURL, Audiences: []string{"sts.amazonaws.com"}},
	}})
	if err != nil {
		return nil, err
	}
	p, err := profile.New(profile.Config{
		Name:   "prod-deploy",
		Issuer: "dev",
		Conditions: auth.Conditions{
			StringEquals: map[string][]string{"aud": {"sts.amazonaws.com"}, "repository_owner": {"myorg"}},
			StringLike:   map[string][]string{"sub": {"repo:myorg/*:ref:refs/heads/main"}},
		},
		SessionName: "gha-{{ .claims.repository }}-{{ .claims.run_id }}",
		Chain: []profile.HopConfig{
			{RoleARN: ststest.SeedToolingRoleARN, Duration: time.Hour},
			{RoleARN: ststest.SeedTargetRoleARN, ExternalID: ststest.SeedExternalID, Duration: time.Hour},
		},
	})
	if err != nil {
		return nil, err
	}
	client, ambient, err := chain.NewClient(ctx, chain.ClientConfig{Region: "us-east-1", Endpoint: stsURL})
	if err != nil {
		return nil, err
	}
	return &noCache{verifier: v, profile: p, runner: chain.NewRunner(chain.RunnerConfig{STS: client, Ambient: ambient})}, nil
}

func (n *noCache) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 15*time.Second)
	defer cancel()
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		http.Error(w, "no bearer token", http.StatusUnauthorized)
		return
	}
	id, err := n.verifier.Verify(ctx, token)
	if err != nil {
		http.Error(w, "invalid token", http.StatusUnauthorized)
		return
	}
	// Authorize and render as the broker does (once per verified token):
	// what this handler leaves out is only the credentials cache.
	keyed, err := n.profile.Prepare(id, chain.Secret(token))
	if err != nil {
		http.Error(w, "not authorized", http.StatusForbidden)
		return
	}
	c, err := n.runner.Run(ctx, keyed.Plan())
	if err != nil {
		http.Error(w, "sts failed", http.StatusBadGateway)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(processOutput{
		Version: 1, AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey.Reveal(),
		SessionToken: c.SessionToken.Reveal(), Expiration: c.Expiration.UTC().Format(time.RFC3339),
	})
}
