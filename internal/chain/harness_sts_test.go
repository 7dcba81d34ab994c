package chain

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/stsbroker/broker/internal/oidctest"
	"github.com/stsbroker/broker/internal/ststest"
)

// clock is the one test clock shared by the cache, the emulator, the issuer
// and the request signer, so that expiry, token validity and SigV4 dates all
// agree when a test moves time forward.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// clockSigner is the SDK's SigV4 signer signing at the test clock's time
// instead of the wall clock's.
type clockSigner struct {
	signer *v4.Signer
	now    func() time.Time
}

func (s clockSigner) SignHTTP(ctx context.Context, creds aws.Credentials, r *http.Request, payloadHash, service, region string, _ time.Time, optFns ...func(*v4.SignerOptions)) error {
	return s.signer.SignHTTP(ctx, creds, r, payloadHash, service, region, s.now(), optFns...)
}

// harness is a real STS client talking to the emulator, with an issuer for
// web identity tokens, all on one test clock.
type harness struct {
	t      testing.TB
	clock  *clock
	idp    *oidctest.Server
	sts    *ststest.Server
	client *sts.Client
	logs   *observer.ObservedLogs
	log    *zap.Logger

	mu       sync.Mutex
	observed []string // "action outcome" from the Observe hook
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	clk := &clock{now: time.Now().UTC().Truncate(time.Second)}
	idp := oidctest.Start(t, oidctest.Options{Now: clk.Now})
	emu := ststest.Start(t, ststest.Options{Now: clk.Now})
	if err := emu.LoadSeed(idp.URL()); err != nil {
		t.Fatalf("LoadSeed() error = %v", err)
	}
	client := sts.NewFromConfig(aws.Config{Region: "us-east-1", Retryer: newRetryer(3, 5*time.Millisecond)}, func(o *sts.Options) {
		o.BaseEndpoint = aws.String(emu.URL())
		o.HTTPSignerV4 = clockSigner{signer: v4.NewSigner(), now: clk.Now}
	})
	core, logs := observer.New(zap.DebugLevel)
	return &harness{t: t, clock: clk, idp: idp, sts: emu, client: client, logs: logs, log: zap.New(core)}
}

func (h *harness) runner(ambient aws.CredentialsProvider) *Runner {
	return NewRunner(RunnerConfig{STS: h.client, Ambient: ambient, Now: h.clock.Now, Observe: func(action, outcome string, _ time.Duration) {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.observed = append(h.observed, action+" "+outcome)
	}})
}

func (h *harness) cache(cfg CacheConfig) *Cache {
	h.t.Helper()
	if cfg.Runner == nil {
		cfg.Runner = h.runner(nil)
	}
	cfg.Now = h.clock.Now
	cfg.Log = h.log
	c, err := NewCache(cfg)
	if err != nil {
		h.t.Fatalf("NewCache() error = %v", err)
	}
	h.t.Cleanup(c.Close)
	return c
}

// token mints a GitHub Actions token for repo on main, which the seed's
// tooling role trusts for repositories of myorg.
func (h *harness) token(repo string) Secret {
	h.t.Helper()
	tok, err := h.idp.Mint(oidctest.GitHubActionsClaims(repo, "refs/heads/main"))
	if err != nil {
		h.t.Fatalf("Mint() error = %v", err)
	}
	return Secret(tok)
}

// seedPlan is the seed chain for repo: web identity into the tooling role,
// then AssumeRole with the ExternalId into the target role.
func (h *harness) seedPlan(repo string) Plan {
	return Plan{
		Profile:          "deploy",
		Source:           WebIdentity,
		WebIdentityToken: h.token(repo),
		Identity:         h.idp.URL() + " repo:" + repo + ":ref:refs/heads/main",
		Hops: []Hop{
			{RoleARN: ststest.SeedToolingRoleARN, SessionName: "gha", Duration: time.Hour},
			{RoleARN: ststest.SeedTargetRoleARN, SessionName: "deploy", ExternalID: Secret(ststest.SeedExternalID), Duration: time.Hour},
		},
	}
}

// accessKey registers a long-term key for principalARN and returns it as a
// credentials provider (the broker's ambient credentials).
func (h *harness) accessKey(principalARN string) aws.CredentialsProvider {
	h.t.Helper()
	id, secret, err := h.sts.AddAccessKey(principalARN)
	if err != nil {
		h.t.Fatalf("AddAccessKey() error = %v", err)
	}
	return credentials.NewStaticCredentialsProvider(id, secret, "")
}

func (h *harness) calls() (webIdentity, assumeRole int) {
	return h.sts.Calls(actionWebIdentity), h.sts.Calls(actionAssumeRole)
}

func (h *harness) wantCalls(webIdentity, assumeRole int) {
	h.t.Helper()
	if w, a := h.calls(); w != webIdentity || a != assumeRole {
		h.t.Errorf("STS calls = %d AssumeRoleWithWebIdentity + %d AssumeRole, want %d + %d", w, a, webIdentity, assumeRole)
	}
}

// waitRefreshes waits for background refreshes started so far. Call it only
// while no Get runs.
func waitRefreshes(c *Cache) { c.wg.Wait() }

// mustGet is c.Get(p) for a request that must succeed.
func mustGet(t *testing.T, c *Cache, p Plan) Credentials {
	t.Helper()
	creds, _, err := c.Get(t.Context(), p)
	if err != nil {
		t.Fatalf("Get() error = %v", err)
	}
	return creds
}

// signerEntry returns the cached signer of p's first n hops.
func signerEntry(c *Cache, p Plan, n int) (Credentials, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries.peek(p.signerKey(n))
	if !ok {
		return Credentials{}, false
	}
	return e.credentials(), true
}

// wantFailedRefresh checks that p's entry, inside refresh_before, is served
// (refresh) while its background refresh fails, and then served as stale.
// check runs after the failed refresh, before the stale request.
func wantFailedRefresh(t *testing.T, c *Cache, p Plan, first Credentials, check func()) {
	t.Helper()
	got, outcome, err := c.Get(t.Context(), p)
	if err != nil || outcome != Refresh || got.AccessKeyID != first.AccessKeyID {
		t.Fatalf("Get() = %s, %s, %v, want %s, refresh, nil", got.AccessKeyID, outcome, err, first.AccessKeyID)
	}
	waitRefreshes(c)
	check()
	got, outcome, err = c.Get(t.Context(), p)
	if err != nil || outcome != Stale || got.AccessKeyID != first.AccessKeyID {
		t.Errorf("Get() after the failed refresh = %s, %s, %v, want %s, stale, nil", got.AccessKeyID, outcome, err, first.AccessKeyID)
	}
	waitRefreshes(c)
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// waitFor polls cond every 5 ms for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited 5s for %s", what)
		}
	}
}
