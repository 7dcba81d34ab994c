package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/stsbroker/broker/internal/auth"
	"github.com/stsbroker/broker/internal/chain"
	"github.com/stsbroker/broker/internal/oidctest"
	"github.com/stsbroker/broker/internal/profile"
	"github.com/stsbroker/broker/internal/ststest"
)

// testBroker is the package's one harness: a real OIDC issuer, a real STS
// emulator loaded with the seed scenario, and the broker's real parts behind
// an httptest server.
type testBroker struct {
	Issuer *oidctest.Server
	STS    *ststest.Server
	URL    string
	Logs   *observer.ObservedLogs
	// Server and Verifier are the broker's, for reload tests.
	Server   *Server
	Verifier *auth.Verifier
	// Ambient is the base key the broker's own (ambient) credentials use.
	AmbientKeyID, AmbientSecret string
}

type brokerOpts struct {
	profiles       []profile.Config // default: seedProfiles
	requestTimeout time.Duration
	// now is the server's and the cache's clock (default time.Now).
	now func() time.Time
	// Rate limits as in Config; zero rates leave them disabled.
	ratePerIdentity      float64
	ratePerIdentityBurst int
	rateGlobal           float64
	rateGlobalBurst      int
	// maxInflight and maxConnections as in Config (defaults 1024, 4096).
	maxInflight    int
	maxConnections int
	// maxConcurrentChains and maxWaitingFills as in chain.CacheConfig.
	maxConcurrentChains int
	maxWaitingFills     int
	// issuerDown starts the broker while the issuer is unavailable.
	issuerDown bool
	// ambient replaces the broker's own credentials (default: a base key
	// the emulator knows).
	ambient aws.CredentialsProvider
}

const (
	baseUserARN     = "arn:aws:iam::111111111111:user/broker"
	baseRoleARN     = "arn:aws:iam::111111111111:role/broker-base"
	midRoleARN      = "arn:aws:iam::333333333333:role/hop-two"
	lastRoleARN     = "arn:aws:iam::444444444444:role/hop-three"
	ambientExternal = "ambient-ext-1234"
)

func newTestBroker(t *testing.T, o brokerOpts) *testBroker {
	t.Helper()
	issuer := oidctest.Start(t, oidctest.Options{})
	emu := ststest.Start(t, ststest.Options{})
	if err := emu.LoadSeed(issuer.URL()); err != nil {
		t.Fatalf("LoadSeed() = %v", err)
	}
	addAmbientRoles(t, emu)
	akid, secret, err := emu.AddAccessKey(baseUserARN)
	if err != nil {
		t.Fatalf("AddAccessKey() = %v", err)
	}

	core, logs := observer.New(zapcore.DebugLevel)
	log := zap.New(core)

	if o.issuerDown {
		issuer.SetAvailable(false)
	}
	verifier, err := auth.New(t.Context(), auth.Config{
		Issuers: []auth.IssuerConfig{{Name: "github", URL: issuer.URL(), Audiences: []string{"sts.amazonaws.com"}}},
		Log:     log,
	})
	if err != nil {
		t.Fatalf("auth.New() = %v", err)
	}
	t.Cleanup(verifier.Close)
	pcs := o.profiles
	if pcs == nil {
		pcs = seedProfiles()
	}
	set := newProfileSet(t, pcs)
	metrics := NewMetrics()
	client := sts.New(sts.Options{Region: "us-east-1", BaseEndpoint: aws.String(emu.URL())})
	ambient := o.ambient
	if ambient == nil {
		ambient = credentials.NewStaticCredentialsProvider(akid, secret, "")
	}
	runner := chain.NewRunner(chain.RunnerConfig{
		STS:     client,
		Ambient: ambient,
		Observe: metrics.ObserveSTS,
	})
	cache, err := chain.NewCache(chain.CacheConfig{Runner: runner, Log: log, Now: o.now,
		MaxConcurrentChains: o.maxConcurrentChains, MaxWaitingFills: o.maxWaitingFills})
	if err != nil {
		t.Fatalf("NewCache() = %v", err)
	}
	t.Cleanup(cache.Close)
	srv, err := New(Config{
		Verifier: verifier, Profiles: set, Cache: cache, Metrics: metrics, Log: log,
		RequestTimeout: o.requestTimeout, MetricsOnMain: true, Now: o.now, MaxInflight: o.maxInflight, MaxConnections: o.maxConnections,
		RatePerIdentity: o.ratePerIdentity, RatePerIdentityBurst: o.ratePerIdentityBurst,
		RateGlobal: o.rateGlobal, RateGlobalBurst: o.rateGlobalBurst,
	})
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return &testBroker{Issuer: issuer, STS: emu, URL: hs.URL, Logs: logs, Server: srv, Verifier: verifier, AmbientKeyID: akid, AmbientSecret: secret}
}

// newProfileSet builds the profiles of pcs.
func newProfileSet(t testing.TB, pcs []profile.Config) *profile.Set {
	t.Helper()
	var ps []*profile.Profile
	for _, pc := range pcs {
		p, err := profile.New(pc)
		if err != nil {
			t.Fatalf("profile.New(%s) = %v", pc.Name, err)
		}
		ps = append(ps, p)
	}
	set, err := profile.NewSet(ps...)
	if err != nil {
		t.Fatalf("NewSet() = %v", err)
	}
	return set
}

// addAmbientRoles adds a three-hop chain that starts from the broker's own
// base key: broker-base (trusted from its account, tags and source identity
// allowed) → hop-two (tags allowed) → hop-three (ExternalId required).
func addAmbientRoles(t *testing.T, emu *ststest.Server) {
	t.Helper()
	roles := []ststest.Role{
		{ARN: baseRoleARN, TrustPolicy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":["sts:AssumeRole","sts:TagSession","sts:SetSourceIdentity"]}]}`},
		{ARN: midRoleARN, TrustPolicy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + baseRoleARN + `"},"Action":["sts:AssumeRole","sts:TagSession","sts:SetSourceIdentity"]}]}`},
		{ARN: lastRoleARN, TrustPolicy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + midRoleARN + `"},"Action":["sts:AssumeRole","sts:TagSession","sts:SetSourceIdentity"],"Condition":{"StringEquals":{"sts:ExternalId":"` + ambientExternal + `"}}}]}`},
	}
	for _, r := range roles {
		if err := emu.AddRole(r); err != nil {
			t.Fatalf("AddRole(%s) = %v", r.ARN, err)
		}
	}
}

func seedConditions() auth.Conditions {
	return auth.Conditions{
		StringEquals: map[string][]string{"aud": {"sts.amazonaws.com"}, "repository_owner": {"myorg"}},
		StringLike:   map[string][]string{"sub": {"repo:myorg/*:ref:refs/heads/main"}},
	}
}

// seedProfiles are the seed's profile and variations of it.
func seedProfiles() []profile.Config {
	hop1 := profile.HopConfig{RoleARN: ststest.SeedToolingRoleARN, Duration: time.Hour}
	hop2 := profile.HopConfig{RoleARN: ststest.SeedTargetRoleARN, ExternalID: chain.Secret(ststest.SeedExternalID), Duration: time.Hour}
	wrongExt := hop2
	wrongExt.ExternalID = "not-the-external-id"
	return []profile.Config{
		{Name: "prod-deploy", Issuer: "github", Conditions: seedConditions(),
			SessionName: "gha-{{ .claims.run_id }}", Chain: []profile.HopConfig{hop1, hop2}},
		{Name: "wrong-external-id", Issuer: "github", Conditions: seedConditions(),
			SessionName: "gha-{{ .claims.run_id }}", Chain: []profile.HopConfig{hop1, wrongExt}},
		{Name: "needs-missing-claim", Issuer: "github", Conditions: seedConditions(),
			SessionName: "gha-{{ .claims.no_such_claim }}", Chain: []profile.HopConfig{hop1, hop2}},
		{Name: "ambient-three", Issuer: "github", Source: chain.Ambient, Conditions: seedConditions(),
			SessionName: "amb-{{ .claims.run_id }}", SourceIdentity: "{{ .claims.actor }}",
			Chain: []profile.HopConfig{
				{RoleARN: baseRoleARN, Duration: time.Hour},
				{RoleARN: midRoleARN, Duration: time.Hour, SessionTags: map[string]string{"repo": "{{ .claims.repository }}"}},
				{RoleARN: lastRoleARN, Duration: time.Hour, ExternalID: ambientExternal},
			}},
		{Name: "gitlab-only", Issuer: "gitlab", Conditions: seedConditions(),
			Chain: []profile.HopConfig{hop1, hop2}},
	}
}

// mint returns a valid token of the seed identity (repo myorg/app on main).
func (b *testBroker) mint(t *testing.T) string {
	t.Helper()
	return b.mintClaims(t, oidctest.GitHubActionsClaims("myorg/app", "refs/heads/main"))
}

func (b *testBroker) mintClaims(t *testing.T, claims map[string]any) string {
	t.Helper()
	tok, err := b.Issuer.Mint(claims)
	if err != nil {
		t.Fatalf("Mint() = %v", err)
	}
	return tok
}

// get sends GET path with the Authorization header value authz ("" for none).
func (b *testBroker) get(t *testing.T, path, authz string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, b.URL+path, nil)
	if err != nil {
		t.Fatalf("NewRequest() = %v", err)
	}
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return resp, body
}

// callerARN asks the emulator who the credentials are, through the real SDK.
func (b *testBroker) callerARN(ctx context.Context, t *testing.T, akid, secret, token string) string {
	t.Helper()
	client := sts.New(sts.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(b.STS.URL()),
		Credentials: credentials.NewStaticCredentialsProvider(akid, secret, token),
	})
	out, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity() = %v", err)
	}
	return aws.ToString(out.Arn)
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
