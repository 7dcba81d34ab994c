package chain

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/processcreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/stsbroker/broker/internal/oidctest"
	"github.com/stsbroker/broker/internal/ststest"
)

func TestRunSeedChain(t *testing.T) {
	h := newHarness(t)
	p := h.seedPlan("myorg/app")
	got, err := h.runner(nil).Run(t.Context(), p)
	if err != nil {
		t.Fatalf("Run() error = %v", err)
	}
	if got.AccountID != "222222222222" || got.RoleARN != ststest.SeedTargetRoleARN ||
		!strings.HasPrefix(got.AssumedRoleARN, "arn:aws:sts::222222222222:assumed-role/") || !strings.HasSuffix(got.AssumedRoleARN, "/deploy") {
		t.Errorf("Run() = account %q role %q assumed %q, want 222222222222, %q, arn:aws:sts::222222222222:assumed-role/…/deploy",
			got.AccountID, got.RoleARN, got.AssumedRoleARN, ststest.SeedTargetRoleARN)
	}
	if !got.Valid() || !strings.HasPrefix(got.AccessKeyID, "ASIA") {
		t.Errorf("Run() = key %q valid %v, want a complete ASIA… set", got.AccessKeyID, got.Valid())
	}
	if want := h.clock.Now().Add(time.Hour); !got.Expiration.Equal(want) {
		t.Errorf("Run() expiration = %v, want %v", got.Expiration, want)
	}

	reqs := h.sts.Requests()
	if len(reqs) != 2 {
		t.Fatalf("emulator saw %d requests, want 2", len(reqs))
	}
	type call struct{ Action, RoleARN, Session, ExternalID, Token, Outcome string }
	gotCalls := []call{}
	for _, r := range reqs {
		gotCalls = append(gotCalls, call{r.Action, r.RoleARN, r.RoleSessionName, r.ExternalIDSHA256, r.TokenSHA256, r.Outcome})
	}
	wantCalls := []call{
		{actionWebIdentity, ststest.SeedToolingRoleARN, "gha", "", sha256Hex(p.WebIdentityToken.Reveal()), "ok"},
		{actionAssumeRole, ststest.SeedTargetRoleARN, "deploy", sha256Hex(ststest.SeedExternalID), "", "ok"},
	}
	if diff := cmp.Diff(wantCalls, gotCalls); diff != "" {
		t.Errorf("emulator requests (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"AssumeRoleWithWebIdentity ok", "AssumeRole ok"}, h.observed); diff != "" {
		t.Errorf("Observe calls (-want +got):\n%s", diff)
	}
}

func TestRunRefusals(t *testing.T) {
	h := newHarness(t)
	tests := []struct {
		name     string
		change   func(p *Plan)
		wantHop  int
		wantCode string
	}{
		{name: "wrong-external-id", change: func(p *Plan) { p.Hops[1].ExternalID = "not-the-external-id" }, wantHop: 2, wantCode: "AccessDenied"},
		{name: "untrusted-repository", change: func(p *Plan) { p.WebIdentityToken = h.token("otherorg/app") }, wantHop: 1, wantCode: "AccessDenied"},
		{name: "chained-duration-over-an-hour", change: func(p *Plan) { p.Hops[1].Duration = 2 * time.Hour }, wantHop: 2, wantCode: "ValidationError"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := h.seedPlan("myorg/app")
			tt.change(&p)
			got, err := h.runner(nil).Run(t.Context(), p)
			var he *HopError
			if !errors.As(err, &he) {
				t.Fatalf("Run() error = %v, want *HopError", err)
			}
			if he.Hop != tt.wantHop || he.Code != tt.wantCode || he.Kind != Refused || he.RoleARN != p.Hops[tt.wantHop-1].RoleARN {
				t.Errorf("Run() error = hop %d code %q kind %d role %q, want hop %d code %q kind Refused role %q",
					he.Hop, he.Code, he.Kind, he.RoleARN, tt.wantHop, tt.wantCode, p.Hops[tt.wantHop-1].RoleARN)
			}
			if got != (Credentials{}) {
				t.Errorf("Run() = %+v, want zero credentials with the error", got)
			}
		})
	}
}

// The outcome reported to Observe (a metrics label) is a bounded set: an
// error code STS does not send, from an sts_endpoint that is not STS, is
// "other", while the HopError keeps the code for the message.
func TestRunUnknownCodeIsOther(t *testing.T) {
	h := newHarness(t)
	h.sts.InjectFault(actionWebIdentity, ststest.Fault{Code: "MadeUp_1234", Status: 400})
	_, err := h.runner(nil).RunHop(t.Context(), h.seedPlan("myorg/app"), 0, nil)
	var he *HopError
	if !errors.As(err, &he) || he.Code != "MadeUp_1234" {
		t.Fatalf("RunHop() error = %v, want a HopError with code MadeUp_1234", err)
	}
	if diff := cmp.Diff([]string{actionWebIdentity + " other"}, h.observed); diff != "" {
		t.Errorf("observed (-want +got):\n%s", diff)
	}
}

func TestRunAmbientChainWithTags(t *testing.T) {
	h := newHarness(t)
	const broker = "arn:aws:iam::333333333333:user/broker"
	roles := []string{"arn:aws:iam::111111111111:role/hop-a", "arn:aws:iam::222222222222:role/hop-b", "arn:aws:iam::444444444444:role/hop-c"}
	trusted := broker
	for _, arn := range roles {
		policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + trusted +
			`"},"Action":["sts:AssumeRole","sts:TagSession","sts:SetSourceIdentity"]}]}`
		if err := h.sts.AddRole(ststest.Role{ARN: arn, TrustPolicy: policy}); err != nil {
			t.Fatalf("AddRole(%s) error = %v", arn, err)
		}
		trusted = arn
	}
	p := Plan{Profile: "ambient", Source: Ambient, Identity: "x", Hops: []Hop{
		{RoleARN: roles[0], SessionName: "sa", Tags: []Tag{{Key: "repo", Value: "myorg/app"}, {Key: "env", Value: "prod"}}, TransitiveTagKeys: []string{"repo"}, SourceIdentity: "alice"},
		{RoleARN: roles[1], SessionName: "sb", ExternalID: "ext-b", Duration: 15 * time.Minute},
		{RoleARN: roles[2], SessionName: "sc", Tags: []Tag{{Key: "step", Value: "3"}}},
	}}
	got, err := h.runner(h.accessKey(broker)).Run(t.Context(), p)
	if err != nil {
		t.Fatalf("Run() error = %v", err)
	}
	if got.AccountID != "444444444444" || got.AssumedRoleARN != "arn:aws:sts::444444444444:assumed-role/hop-c/sc" || got.SourceIdentity != "alice" {
		t.Errorf("Run() = account %q assumed %q source identity %q, want 444444444444, arn:aws:sts::444444444444:assumed-role/hop-c/sc, alice",
			got.AccountID, got.AssumedRoleARN, got.SourceIdentity)
	}
	type call struct {
		Action, RoleARN, Caller, SourceIdentity, ExternalID string
		Duration                                            int
		Tags                                                map[string]string
		Transitive                                          []string
	}
	// The emulator records the session's source identity, which persists
	// through the chain once hop 1 set it.
	var gotCalls []call
	for _, r := range h.sts.Requests() {
		gotCalls = append(gotCalls, call{r.Action, r.RoleARN, r.CallerARN, r.SourceIdentity, r.ExternalIDSHA256, r.DurationSeconds, r.Tags, r.TransitiveTagKeys})
	}
	wantCalls := []call{
		{Action: actionAssumeRole, RoleARN: roles[0], Caller: broker, SourceIdentity: "alice", Tags: map[string]string{"repo": "myorg/app", "env": "prod"}, Transitive: []string{"repo"}},
		{Action: actionAssumeRole, RoleARN: roles[1], Caller: "arn:aws:sts::111111111111:assumed-role/hop-a/sa", SourceIdentity: "alice", ExternalID: sha256Hex("ext-b"), Duration: 900},
		{Action: actionAssumeRole, RoleARN: roles[2], Caller: "arn:aws:sts::222222222222:assumed-role/hop-b/sb", SourceIdentity: "alice", Tags: map[string]string{"step": "3"}},
	}
	if diff := cmp.Diff(wantCalls, gotCalls, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("emulator requests (-want +got):\n%s", diff)
	}
}

// An ambient hop without credentials of the broker's own fails before any
// STS call, with an error that says so (the SDK's would read like STS being
// down), and it does not count as STS failing; a provider still looking when
// the call timeout passes is a timeout.
func TestRunAmbientWithoutCredentials(t *testing.T) {
	h := newHarness(t)
	p := Plan{Profile: "ambient", Source: Ambient, Identity: "x", Hops: []Hop{{RoleARN: ststest.SeedToolingRoleARN, SessionName: "sa"}}}
	none := aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{}, errors.New("no EC2 IMDS role found")
	})
	c := h.cache(CacheConfig{Runner: h.runner(none)})
	_, _, err := c.Get(t.Context(), p)
	var ae *AmbientError
	if !errors.As(err, &ae) || ae.RoleARN != ststest.SeedToolingRoleARN {
		t.Fatalf("Get() error = %v, want an *AmbientError for %s", err, ststest.SeedToolingRoleARN)
	}
	if want := "chain: hop 1 (" + ststest.SeedToolingRoleARN + "): no AWS credentials of the broker's own to sign it: no EC2 IMDS role found"; err.Error() != want {
		t.Errorf("Get() error = %q, want %q", err, want)
	}
	if n := len(h.sts.Requests()); n != 0 || len(h.observed) != 0 {
		t.Errorf("STS requests = %d, observed %q, want none", n, h.observed)
	}
	if degraded, _ := c.Degraded(); degraded {
		t.Errorf("Degraded() = true after missing ambient credentials, want false: STS was not called")
	}

	slow := aws.CredentialsProviderFunc(func(ctx context.Context) (aws.Credentials, error) {
		<-ctx.Done()
		return aws.Credentials{}, ctx.Err()
	})
	r := NewRunner(RunnerConfig{STS: h.client, Ambient: slow, CallTimeout: 50 * time.Millisecond})
	_, err = r.RunHop(t.Context(), p, 0, nil)
	var he *HopError
	if !errors.As(err, &he) || he.Kind != Timeout {
		t.Fatalf("RunHop() with a provider past the call timeout: error = %v, want a Timeout *HopError", err)
	}
}

// The SDK quotes a credential_process's output that does not parse; it may
// hold a secret, and the reason goes to logs, so it is left out.
func TestCheckAmbientHidesProcessOutput(t *testing.T) {
	const secret = "wJalrXUtnFEMI/K7MDENG/partial-secret"
	broken := aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{}, &processcreds.ProviderError{
			Err: fmt.Errorf("parse failed of process output: {\"SecretAccessKey\":\"%s\", error: %w", secret, errors.New("unexpected end of JSON input")),
		}
	})
	err := CheckAmbient(t.Context(), broken)
	if err == nil || strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), "credential_process") {
		t.Errorf("CheckAmbient() = %v, want a reason naming credential_process without its output", err)
	}
	// The same through the SDK's own provider and a real process, so that
	// a change in the SDK's wording shows here.
	script := filepath.Join(t.TempDir(), "creds.sh")
	out := `{"Version": 1, "AccessKeyId": "AKIAEXAMPLE", "SecretAccessKey": "` + secret // cut short
	if err := os.WriteFile(script, []byte("#!/bin/sh\nprintf '%s' '"+out+"'\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	err = CheckAmbient(t.Context(), processcreds.NewProvider(script))
	if err == nil || strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), "credential_process") {
		t.Errorf("CheckAmbient(real credential_process) = %v, want a reason naming credential_process without its output", err)
	}
	other := aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{}, &processcreds.ProviderError{Err: errors.New("credential process timed out")}
	})
	if err := CheckAmbient(t.Context(), other); err == nil || !strings.Contains(err.Error(), "credential process timed out") {
		t.Errorf("CheckAmbient() = %v, want the SDK's reason when it quotes no output", err)
	}
}

// The entry count (broker_cache_entries) follows expiry while nothing is
// stored: reading it drops expired entries, once a minute as a store does.
func TestCacheLenDropsExpiredWhileIdle(t *testing.T) {
	h := newHarness(t)
	c := h.cache(CacheConfig{})
	for _, repo := range []string{"myorg/a", "myorg/b", "myorg/c"} {
		if _, _, err := c.Get(t.Context(), h.seedPlan(repo)); err != nil {
			t.Fatalf("Get(%s) error = %v", repo, err)
		}
	}
	if n := c.Len(); n != 6 {
		t.Fatalf("Len() = %d after three two-hop fills, want 6", n)
	}
	h.clock.Advance(3 * time.Hour)
	if n := c.Len(); n != 0 {
		t.Errorf("Len() = %d three hours later with no request, want 0: every entry expired", n)
	}
}

func TestCacheSingleFlight(t *testing.T) {
	h := newHarness(t)
	h.sts.InjectFault(actionWebIdentity, ststest.Fault{Latency: 50 * time.Millisecond, Times: 1})
	c := h.cache(CacheConfig{})
	p := h.seedPlan("myorg/app")
	const n = 1000
	keys := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			creds, _, err := c.Get(t.Context(), p)
			keys[i], errs[i] = creds.AccessKeyID, err
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || keys[i] != keys[0] || keys[0] == "" {
			t.Fatalf("Get() #%d = %q, %v, want %q, nil", i, keys[i], errs[i], keys[0])
		}
	}
	h.wantCalls(1, 1)
	if got := c.Len(); got != 2 {
		t.Errorf("Len() = %d, want 2 (final and hop-1 entries)", got)
	}
}

// TestCacheSingleFlightAfterFill: a request that missed just before another
// request's fill stored its answer, and reaches the flight just after that
// fill ended, is served the stored answer (a hit), not a second chain.
func TestCacheSingleFlightAfterFill(t *testing.T) {
	h := newHarness(t)
	c := h.cache(CacheConfig{})
	p := h.seedPlan("myorg/app")
	missed, release := make(chan struct{}), make(chan struct{})
	var first atomic.Bool
	c.beforeFlight = func() {
		if first.CompareAndSwap(false, true) {
			close(missed)
			<-release
		}
	}
	type result struct {
		creds   Credentials
		outcome Outcome
		err     error
	}
	late := make(chan result)
	go func() {
		creds, outcome, err := c.Get(t.Context(), p)
		late <- result{creds, outcome, err}
	}()
	<-missed // the late request has looked up the cache and found nothing
	filled, outcome, err := c.Get(t.Context(), p)
	if err != nil || outcome != Miss {
		t.Fatalf("Get() = %s, %v, want miss, nil", outcome, err)
	}
	close(release)
	got := <-late
	if got.err != nil || got.outcome != Hit || got.creds.AccessKeyID != filled.AccessKeyID {
		t.Errorf("late Get() = %s, %s, %v, want %s, hit, nil", got.creds.AccessKeyID, got.outcome, got.err, filled.AccessKeyID)
	}
	h.wantCalls(1, 1)
}

func TestCacheIdentitiesNeverShare(t *testing.T) {
	h := newHarness(t)
	c := h.cache(CacheConfig{})
	app, web := h.seedPlan("myorg/app"), h.seedPlan("myorg/web")
	a, _, err := c.Get(t.Context(), app)
	if err != nil {
		t.Fatalf("Get(app) error = %v", err)
	}
	w, outcome, err := c.Get(t.Context(), web)
	if err != nil || outcome != Miss {
		t.Fatalf("Get(web) = %s, %v, want miss, nil", outcome, err)
	}
	if a.AccessKeyID == w.AccessKeyID {
		t.Errorf("Get() gave both identities access key %s, want different credentials", a.AccessKeyID)
	}
	// A second token of the same identity shares the entry.
	again := app
	again.WebIdentityToken = h.token("myorg/app")
	if got, outcome, err := c.Get(t.Context(), again); err != nil || outcome != Hit || got.AccessKeyID != a.AccessKeyID {
		t.Errorf("Get(app, new token) = %s, %s, %v, want %s, hit, nil", got.AccessKeyID, outcome, err, a.AccessKeyID)
	}
	h.wantCalls(2, 2)
}

func TestCacheRefreshAhead(t *testing.T) {
	h := newHarness(t)
	c := h.cache(CacheConfig{})
	p := h.seedPlan("myorg/app")
	first, outcome, err := c.Get(t.Context(), p)
	if err != nil || outcome != Miss {
		t.Fatalf("Get() = %s, %v, want miss, nil", outcome, err)
	}
	h.clock.Advance(35 * time.Minute) // 25m left: inside refresh_before (30m), above min_remaining (20m)

	var wg sync.WaitGroup
	outcomes := make([]Outcome, 50)
	keys := make([]string, 50)
	for i := range 50 {
		wg.Go(func() {
			creds, o, err := c.Get(t.Context(), p)
			if err != nil {
				t.Errorf("Get() error = %v", err)
			}
			outcomes[i], keys[i] = o, creds.AccessKeyID
		})
	}
	wg.Wait()
	for i := range 50 {
		// Each request is answered from the cache at once: either the old
		// entry (refresh) or, once the refresh finished, the new one (hit).
		if outcomes[i] != Refresh && outcomes[i] != Hit {
			t.Errorf("Get() #%d outcome = %s, want refresh or hit", i, outcomes[i])
		}
		if outcomes[i] == Refresh && keys[i] != first.AccessKeyID {
			t.Errorf("Get() #%d = %s with outcome refresh, want the cached %s", i, keys[i], first.AccessKeyID)
		}
	}
	waitRefreshes(c)
	// Exactly one refresh ran, and it reused the hop-1 credentials (25m
	// left) instead of a new AssumeRoleWithWebIdentity.
	h.wantCalls(1, 2)

	got, outcome, err := c.Get(t.Context(), p)
	if err != nil || outcome != Hit || got.AccessKeyID == first.AccessKeyID {
		t.Errorf("Get() after refresh = %s, %s, %v, want new credentials, hit, nil", got.AccessKeyID, outcome, err)
	}
	if want := h.clock.Now().Add(time.Hour); !got.Expiration.Equal(want) {
		t.Errorf("refreshed expiration = %v, want %v", got.Expiration, want)
	}
}

func TestCacheNeverServesBelowMinRemaining(t *testing.T) {
	tests := []struct {
		name            string
		advance         time.Duration
		wantWebIdentity int // total after the second Get
	}{
		{name: "hop-1-reused", advance: 45 * time.Minute, wantWebIdentity: 1},
		{name: "hop-1-expired", advance: 59*time.Minute + 30*time.Second, wantWebIdentity: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			c := h.cache(CacheConfig{})
			p := h.seedPlan("myorg/app")
			first, _, err := c.Get(t.Context(), p)
			if err != nil {
				t.Fatalf("Get() error = %v", err)
			}
			h.clock.Advance(tt.advance)
			p.WebIdentityToken = h.token("myorg/app") // the caller's new token
			got, outcome, err := c.Get(t.Context(), p)
			if err != nil || outcome != Miss || got.AccessKeyID == first.AccessKeyID {
				t.Fatalf("Get() = %s, %s, %v, want new credentials, miss, nil", got.AccessKeyID, outcome, err)
			}
			if left := got.Expiration.Sub(h.clock.Now()); left < 20*time.Minute {
				t.Errorf("Get() served credentials with %s left, want ≥ 20m", left)
			}
			h.wantCalls(tt.wantWebIdentity, 2)
		})
	}
}

func TestCacheServesWhileSTSDown(t *testing.T) {
	h := newHarness(t)
	c := h.cache(CacheConfig{})
	p := h.seedPlan("myorg/app")
	first := mustGet(t, c, p)
	h.sts.InjectFault("", ststest.Fault{Status: 503})
	h.clock.Advance(35 * time.Minute)
	wantFailedRefresh(t, c, p, first, func() {
		if n := h.sts.CallsByOutcome(actionAssumeRole, "ServiceUnavailable"); n != 3 {
			t.Errorf("AssumeRole answered ServiceUnavailable %d times, want 3 (SDK attempts)", n)
		}
	})

	// Below min_remaining nothing is served: the error, never zero values.
	h.clock.Advance(10 * time.Minute)
	p.WebIdentityToken = h.token("myorg/app")
	got, outcome, err := c.Get(t.Context(), p)
	var he *HopError
	if !errors.As(err, &he) || he.Kind != Unavailable || he.Code != "ServiceUnavailable" || he.Hop != 2 {
		t.Fatalf("Get() below min_remaining error = %v, want hop 2 ServiceUnavailable Unavailable", err)
	}
	if got != (Credentials{}) || outcome != Miss {
		t.Errorf("Get() = %+v, %s, want zero credentials, miss", got, outcome)
	}

	// The failure was not cached: once STS is back the next request fills.
	h.sts.ClearFaults()
	got, outcome, err = c.Get(t.Context(), p)
	if err != nil || outcome != Miss || !got.Valid() {
		t.Errorf("Get() after recovery = %v, %s, %v, want valid, miss, nil", got.Valid(), outcome, err)
	}
	// One: the stale request came within the retry delay and started none.
	failures := h.logs.FilterMessage("background refresh failed").All()
	if len(failures) != 1 {
		t.Fatalf("logged %d refresh failures, want 1", len(failures))
	}
	ctxMap := failures[0].ContextMap()
	delete(ctxMap, "error")
	wantFields := map[string]any{"profile": "deploy", "hop": int64(2), "role_arn": ststest.SeedTargetRoleARN, "code": "ServiceUnavailable"}
	if diff := cmp.Diff(wantFields, ctxMap); diff != "" {
		t.Errorf("refresh failure fields (-want +got):\n%s", diff)
	}
	assertNoSecrets(t, h, p, first, got)
}

func assertNoSecrets(t *testing.T, h *harness, p Plan, creds ...Credentials) {
	t.Helper()
	secrets := []string{p.WebIdentityToken.Reveal(), ststest.SeedExternalID}
	for _, c := range creds {
		secrets = append(secrets, c.SecretAccessKey.Reveal(), c.SessionToken.Reveal())
	}
	for _, e := range h.logs.All() {
		text := e.Message
		for k, v := range e.ContextMap() {
			text += fmt.Sprintf(" %s=%v", k, v)
		}
		for _, s := range secrets {
			if s != "" && strings.Contains(text, s) {
				t.Errorf("log entry %q contains a secret", e.Message)
			}
		}
	}
}

func TestCacheAccessDeniedEvicts(t *testing.T) {
	h := newHarness(t)
	c := h.cache(CacheConfig{})
	p := h.seedPlan("myorg/app")
	first := mustGet(t, c, p)
	h.sts.InjectFault(actionAssumeRole, ststest.Fault{Code: "AccessDenied", Times: 1})
	h.clock.Advance(35 * time.Minute)
	if got, outcome, err := c.Get(t.Context(), p); err != nil || outcome != Refresh || got.AccessKeyID != first.AccessKeyID {
		t.Fatalf("Get() = %s, %s, %v, want %s, refresh, nil", got.AccessKeyID, outcome, err, first.AccessKeyID)
	}
	waitRefreshes(c)
	if n := c.Len(); n != 0 {
		t.Fatalf("Len() after AccessDenied = %d, want 0 (final and hop-1 entries evicted)", n)
	}
	p.WebIdentityToken = h.token("myorg/app")
	got, outcome, err := c.Get(t.Context(), p)
	if err != nil || outcome != Miss || got.AccessKeyID == first.AccessKeyID {
		t.Errorf("Get() after eviction = %s, %s, %v, want new credentials, miss, nil", got.AccessKeyID, outcome, err)
	}
	h.wantCalls(2, 3) // the new fill could not reuse the evicted hop 1
}

func TestCacheFirstCallerCancels(t *testing.T) {
	h := newHarness(t)
	h.sts.InjectFault(actionWebIdentity, ststest.Fault{Latency: 300 * time.Millisecond, Times: 1})
	c := h.cache(CacheConfig{})
	p := h.seedPlan("myorg/app")

	gone, cancel := context.WithCancel(t.Context())
	cancel()
	if _, _, err := c.Get(gone, p); !errors.Is(err, context.Canceled) {
		t.Fatalf("Get(cancelled ctx) error = %v, want %v", err, context.Canceled)
	}
	got, _, err := c.Get(t.Context(), p)
	if err != nil || !got.Valid() {
		t.Fatalf("Get() = %v, %v, want valid credentials from the shared fill", got.Valid(), err)
	}
	h.wantCalls(1, 1)
	if n := h.sts.CallsByOutcome(actionWebIdentity, "ok"); n != 1 {
		t.Errorf("AssumeRoleWithWebIdentity ok = %d, want 1 (the fill was not cancelled)", n)
	}
}

func TestCacheCloseWaits(t *testing.T) {
	h := newHarness(t)
	c := h.cache(CacheConfig{})
	p := h.seedPlan("myorg/app")
	if _, _, err := c.Get(t.Context(), p); err != nil {
		t.Fatalf("Get() error = %v", err)
	}
	h.sts.InjectFault(actionAssumeRole, ststest.Fault{Latency: time.Minute})
	h.clock.Advance(35 * time.Minute)
	if _, outcome, err := c.Get(t.Context(), p); err != nil || outcome != Refresh {
		t.Fatalf("Get() = %s, %v, want refresh, nil", outcome, err)
	}
	start := time.Now()
	c.Close()
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("Close() took %s, want the refresh cancelled", took)
	}
	c.mu.Lock()
	running := len(c.refreshing)
	c.mu.Unlock()
	if running != 0 {
		t.Errorf("after Close() %d refreshes still running, want 0", running)
	}
	if _, _, err := c.Get(t.Context(), p); !errors.Is(err, ErrClosed) {
		t.Errorf("Get() after Close() error = %v, want %v", err, ErrClosed)
	}
}

func TestCacheEvictsAtMaxEntries(t *testing.T) {
	h := newHarness(t)
	c := h.cache(CacheConfig{MaxEntries: 4})
	repos := []string{"myorg/a", "myorg/b", "myorg/c"}
	plans := make([]Plan, len(repos))
	for i, r := range repos {
		plans[i] = h.seedPlan(r)
		if _, _, err := c.Get(t.Context(), plans[i]); err != nil {
			t.Fatalf("Get(%s) error = %v", r, err)
		}
		if got, want := c.Len(), min(2*(i+1), 4); got != want {
			t.Errorf("Len() after %s = %d, want %d", r, got, want)
		}
	}
	// a's two entries were the least recently used: a fills again.
	if _, outcome, err := c.Get(t.Context(), plans[0]); err != nil || outcome != Miss {
		t.Errorf("Get(a) = %s, %v, want miss, nil", outcome, err)
	}
	if _, outcome, err := c.Get(t.Context(), plans[2]); err != nil || outcome != Hit {
		t.Errorf("Get(c) = %s, %v, want hit, nil", outcome, err)
	}
	h.wantCalls(4, 4)
}

func TestNewClient(t *testing.T) {
	emu := ststest.Start(t, ststest.Options{})
	const broker = "arn:aws:iam::333333333333:user/broker"
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + broker + `"},"Action":"sts:AssumeRole"}]}`
	if err := emu.AddRole(ststest.Role{ARN: "arn:aws:iam::111111111111:role/ambient", TrustPolicy: policy}); err != nil {
		t.Fatalf("AddRole() error = %v", err)
	}
	id, secret, err := emu.AddAccessKey(broker)
	if err != nil {
		t.Fatalf("AddAccessKey() error = %v", err)
	}
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", dir+"/config")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", dir+"/credentials")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_ENDPOINT_URL", "")
	t.Setenv("AWS_ENDPOINT_URL_STS", "")
	t.Setenv("AWS_MAX_ATTEMPTS", "")
	t.Setenv("AWS_ACCESS_KEY_ID", id)
	t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
	t.Setenv("AWS_SESSION_TOKEN", "")

	if _, _, err := NewClient(t.Context(), ClientConfig{}); err == nil || err.Error() != "chain: no sts region configured" {
		t.Errorf("NewClient(no region) error = %v, want %q", err, "chain: no sts region configured")
	}

	var mu sync.Mutex
	var attempts, calls []string
	client, ambient, err := NewClient(t.Context(), ClientConfig{Region: "us-east-1", Endpoint: emu.URL(), MaxAttempts: 2, MaxBackoff: time.Millisecond,
		ObserveAttempt: func(action, outcome string) {
			mu.Lock()
			defer mu.Unlock()
			attempts = append(attempts, action+" "+outcome)
		}})
	if err != nil {
		t.Fatalf("NewClient() error = %v", err)
	}
	r := NewRunner(RunnerConfig{STS: client, Ambient: ambient, Observe: func(action, outcome string, _ time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, action+" "+outcome)
	}})
	p := Plan{Source: Ambient, Hops: []Hop{{RoleARN: "arn:aws:iam::111111111111:role/ambient", SessionName: "ss"}}}

	emu.InjectFault(actionAssumeRole, ststest.Fault{Status: 503, Times: 1})
	got, err := r.Run(t.Context(), p)
	if err != nil || got.AssumedRoleARN != "arn:aws:sts::111111111111:assumed-role/ambient/ss" {
		t.Fatalf("Run() = %q, %v, want the ambient role after one retry", got.AssumedRoleARN, err)
	}
	emu.InjectFault(actionAssumeRole, ststest.Fault{Code: "Throttling"})
	_, err = r.Run(t.Context(), p)
	var he *HopError
	if !errors.As(err, &he) || he.Kind != Unavailable || he.Code != "Throttling" {
		t.Fatalf("Run() while throttled error = %v, want Throttling Unavailable", err)
	}
	if got, want := emu.CallsByOutcome(actionAssumeRole, "Throttling"), 2; got != want {
		t.Errorf("throttled attempts = %d, want MaxAttempts %d", got, want)
	}
	emu.ClearFaults()
	emu.Close()
	_, err = r.Run(t.Context(), p)
	if !errors.As(err, &he) || he.Kind != Unavailable || he.Code != "" {
		t.Errorf("Run() against a closed STS error = %v, want Unavailable with no code", err)
	}
	// Each call once, after its retries; each attempt on its own.
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff([]string{"AssumeRole ok", "AssumeRole Throttling", "AssumeRole error"}, calls); diff != "" {
		t.Errorf("calls observed (-want +got):\n%s", diff)
	}
	wantAttempts := []string{"AssumeRole ServiceUnavailable", "AssumeRole ok", "AssumeRole Throttling", "AssumeRole Throttling", "AssumeRole error", "AssumeRole error"}
	if diff := cmp.Diff(wantAttempts, attempts); diff != "" {
		t.Errorf("attempts observed (-want +got):\n%s", diff)
	}
}

func TestRunTimeout(t *testing.T) {
	h := newHarness(t)
	h.sts.InjectFault(actionWebIdentity, ststest.Fault{Latency: time.Minute})
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	_, err := h.runner(nil).Run(ctx, h.seedPlan("myorg/app"))
	var he *HopError
	if !errors.As(err, &he) || he.Kind != Timeout || he.Hop != 1 || he.Action != actionWebIdentity {
		t.Errorf("Run() error = %v, want hop 1 AssumeRoleWithWebIdentity Timeout", err)
	}
}

func BenchmarkCacheHit(b *testing.B) {
	h := newHarness(b)
	c := h.cache(CacheConfig{})
	p := h.seedPlan("myorg/app")
	if _, _, err := c.Get(b.Context(), p); err != nil {
		b.Fatalf("Get() error = %v", err)
	}
	before := h.sts.Calls(actionWebIdentity) + h.sts.Calls(actionAssumeRole)
	for b.Loop() {
		if _, _, err := c.Get(b.Context(), p); err != nil {
			b.Fatalf("Get() error = %v", err)
		}
	}
	stsCalls := h.sts.Calls(actionWebIdentity) + h.sts.Calls(actionAssumeRole) - before
	b.ReportMetric(float64(stsCalls)/float64(b.N), "sts-calls/op")
}

func TestCacheBoundsRefreshes(t *testing.T) {
	h := newHarness(t)
	c := h.cache(CacheConfig{MaxRefreshes: 1})
	a, b := h.seedPlan("myorg/a"), h.seedPlan("myorg/b")
	for _, p := range []Plan{a, b} {
		if _, _, err := c.Get(t.Context(), p); err != nil {
			t.Fatalf("Get() error = %v", err)
		}
	}
	h.sts.InjectFault(actionAssumeRole, ststest.Fault{Latency: 200 * time.Millisecond, Times: 1})
	h.clock.Advance(35 * time.Minute)
	for _, p := range []Plan{a, b} {
		if _, outcome, err := c.Get(t.Context(), p); err != nil || outcome != Refresh {
			t.Fatalf("Get() = %s, %v, want refresh, nil", outcome, err)
		}
	}
	waitRefreshes(c)
	h.wantCalls(2, 3) // b's refresh was skipped: the bound was taken by a's
	if _, outcome, err := c.Get(t.Context(), b); err != nil || outcome != Refresh {
		t.Fatalf("Get(b) = %s, %v, want refresh, nil", outcome, err)
	}
	waitRefreshes(c)
	h.wantCalls(2, 4) // the next request retried it
}

func TestCacheRestartsWhenPrefixRejected(t *testing.T) {
	h := newHarness(t)
	c := h.cache(CacheConfig{})
	p := h.seedPlan("myorg/app")
	if _, _, err := c.Get(t.Context(), p); err != nil {
		t.Fatalf("Get() error = %v", err)
	}
	h.clock.Advance(45 * time.Minute)
	p.WebIdentityToken = h.token("myorg/app")
	h.sts.InjectFault(actionAssumeRole, ststest.Fault{Code: "ExpiredToken", Times: 1})
	got, outcome, err := c.Get(t.Context(), p)
	if err != nil || outcome != Miss || !got.Valid() {
		t.Fatalf("Get() = %v, %s, %v, want valid, miss, nil", got.Valid(), outcome, err)
	}
	h.wantCalls(2, 3) // hop 2 with cached hop 1 refused, then the whole chain
}

// TestCacheRestartNeedsLiveToken: a request whose token is past exp gets
// past the early check when hop 1 is cached; if STS then rejects the
// cached hop-1 credentials, starting over would send the expired token to
// STS: it fails with ErrTokenExpired instead, and the rejected signer is
// dropped, so the next live token runs the whole chain.
func TestCacheRestartNeedsLiveToken(t *testing.T) {
	h := newHarness(t)
	c := h.cache(CacheConfig{})
	p := h.seedPlan("myorg/app")
	mustGet(t, c, p)
	h.clock.Advance(45 * time.Minute) // the answer is below min remaining, hop 1 still signs
	p.TokenExpiry = h.clock.Now().Add(-time.Second)
	h.sts.InjectFault(actionAssumeRole, ststest.Fault{Code: "InvalidClientTokenId", Times: 1})
	if _, _, err := c.Get(t.Context(), p); !errors.Is(err, ErrTokenExpired) {
		t.Fatalf("Get() error = %v, want %v", err, ErrTokenExpired)
	}
	h.wantCalls(1, 2) // no second AssumeRoleWithWebIdentity with the expired token
	// The rejected signer is gone: a live token runs the whole chain.
	p.WebIdentityToken, p.TokenExpiry = h.token("myorg/app"), h.clock.Now().Add(5*time.Minute)
	if got, outcome, err := c.Get(t.Context(), p); err != nil || outcome != Miss || !got.Valid() {
		t.Fatalf("Get(live token) = %v, %s, %v, want valid, miss, nil", got.Valid(), outcome, err)
	}
	h.wantCalls(2, 3)
}

// TestCacheRestartKeepsServedAnswer: when a background refresh finds its
// cached hop-1 signer rejected and the restart from hop 1 fails too, the
// answer being refreshed is still above min_remaining and still served
// (stale), not dropped with the signer.
func TestCacheRestartKeepsServedAnswer(t *testing.T) {
	h := newHarness(t)
	c := h.cache(CacheConfig{})
	p := h.seedPlan("myorg/app")
	first := mustGet(t, c, p)
	h.clock.Advance(35 * time.Minute)
	h.sts.InjectFault(actionAssumeRole, ststest.Fault{Code: "ExpiredToken", Times: 1})
	h.sts.InjectFault(actionWebIdentity, ststest.Fault{Status: 503})
	wantFailedRefresh(t, c, p, first, func() {
		h.wantCalls(1+3, 1+1) // the fill; then hop 2 refused, hop 1 three SDK attempts
		if _, ok := signerEntry(c, p, 1); ok {
			t.Errorf("the rejected hop-1 signer is still cached, want it dropped")
		}
	})
}

// TestCacheExpiredCallerTokenKeepsEntry: a refresh that runs
// AssumeRoleWithWebIdentity with a caller's token STS finds expired
// (ExpiredTokenException) fails for that token only: the shared entry is
// still served (stale), and the next token refreshes it.
func TestCacheExpiredCallerTokenKeepsEntry(t *testing.T) {
	h := newHarness(t)
	c := h.cache(CacheConfig{})
	p := h.seedPlan("myorg/app")
	p.Hops = p.Hops[:1] // one hop: every refresh needs the caller's token
	first := mustGet(t, c, p)
	h.clock.Advance(35 * time.Minute)
	h.sts.InjectFault(actionWebIdentity, ststest.Fault{Code: "ExpiredTokenException", Times: 1})
	wantFailedRefresh(t, c, p, first, func() {
		if n := h.sts.CallsByOutcome(actionWebIdentity, "ExpiredTokenException"); n != 1 {
			t.Errorf("AssumeRoleWithWebIdentity answered ExpiredTokenException %d times, want 1", n)
		}
	})
	// A new token's request starts a refresh at once (the failure was
	// the old token's, not STS's), and it works. (The stale request above
	// refreshed with the old token, by now expired for real: refused.)
	p.WebIdentityToken = h.token("myorg/app")
	if got, outcome, err := c.Get(t.Context(), p); err != nil || outcome != Stale || got.AccessKeyID != first.AccessKeyID {
		t.Fatalf("Get(new token) = %s, %s, %v, want %s, stale, nil", got.AccessKeyID, outcome, err, first.AccessKeyID)
	}
	waitRefreshes(c)
	got, outcome, err := c.Get(t.Context(), p)
	if err != nil || outcome != Hit || got.AccessKeyID == first.AccessKeyID {
		t.Errorf("Get() after a good refresh = %s, %s, %v, want new credentials, hit, nil", got.AccessKeyID, outcome, err)
	}
	h.wantCalls(4, 0)
}

// A request whose token is past its exp (the verifier allows some skew)
// is served from the refresh window but starts no refresh: STS would
// refuse the token. The next request with a live token refreshes.
func TestCacheNoRefreshWithExpiredToken(t *testing.T) {
	h := newHarness(t)
	c := h.cache(CacheConfig{})
	p := h.seedPlan("myorg/app")
	p.Hops = p.Hops[:1] // one hop: every refresh needs the caller's token
	first := mustGet(t, c, p)
	h.clock.Advance(35 * time.Minute)
	late := p
	late.TokenExpiry = h.clock.Now().Add(-time.Second)
	for range 3 {
		if got, outcome, err := c.Get(t.Context(), late); err != nil || outcome != Refresh || got.AccessKeyID != first.AccessKeyID {
			t.Fatalf("Get(expired token) = %s, %s, %v, want %s, refresh, nil", got.AccessKeyID, outcome, err, first.AccessKeyID)
		}
	}
	waitRefreshes(c)
	h.wantCalls(1, 0)
	live := p
	live.WebIdentityToken = h.token("myorg/app")
	live.TokenExpiry = h.clock.Now().Add(5 * time.Minute)
	if _, outcome, err := c.Get(t.Context(), live); err != nil || outcome != Refresh {
		t.Fatalf("Get(live token) = %s, %v, want refresh, nil", outcome, err)
	}
	waitRefreshes(c)
	h.wantCalls(2, 0)
}

// TestCacheFailedRefreshBacksOff: after a failed background refresh the
// entry is served (stale) but no request starts another refresh for
// refreshRetryDelay (plus jitter, at most half as much again): a failing
// or throttled STS is not asked again by every request.
func TestCacheFailedRefreshBacksOff(t *testing.T) {
	h := newHarness(t)
	c := h.cache(CacheConfig{})
	p := h.seedPlan("myorg/app")
	first := mustGet(t, c, p)
	h.clock.Advance(35 * time.Minute)
	h.sts.InjectFault(actionAssumeRole, ststest.Fault{Status: 503})
	wantFailedRefresh(t, c, p, first, func() {})
	refreshes := func() int { return h.sts.CallsByOutcome(actionAssumeRole, "ServiceUnavailable") }
	after := refreshes() // 3 SDK attempts of one refresh
	for range 3 {
		h.clock.Advance(refreshRetryDelay / 4) // within the delay
		if got, outcome, err := c.Get(t.Context(), p); err != nil || outcome != Stale || got.AccessKeyID != first.AccessKeyID {
			t.Fatalf("Get() = %s, %s, %v, want %s, stale, nil", got.AccessKeyID, outcome, err, first.AccessKeyID)
		}
		waitRefreshes(c)
	}
	if got := refreshes(); got != after {
		t.Errorf("AssumeRole attempts within the retry delay = %d, want none", got-after)
	}
	// Past the delay and its jitter, the next request refreshes again.
	h.clock.Advance(refreshRetryDelay*3/4 + 2*time.Second)
	if _, outcome, err := c.Get(t.Context(), p); err != nil || outcome != Stale {
		t.Fatalf("Get() after the delay = %s, %v, want stale, nil", outcome, err)
	}
	waitRefreshes(c)
	if got := refreshes(); got != after+3 {
		t.Errorf("AssumeRole attempts after the retry delay = %d, want 3 (one refresh)", got-after)
	}
	// And once STS is back, a refresh after the next delay succeeds.
	h.sts.ClearFaults()
	h.clock.Advance(refreshRetryDelay*3/2 + 2*time.Second)
	mustGet(t, c, p)
	waitRefreshes(c)
	if got, outcome, err := c.Get(t.Context(), p); err != nil || outcome != Hit || got.AccessKeyID == first.AccessKeyID {
		t.Errorf("Get() after recovery = %s, %s, %v, want new credentials, hit, nil", got.AccessKeyID, outcome, err)
	}
}

// TestCacheSignerEntryIsNeverAnAnswer: a hop-1 entry keeps only what signs
// hop 2, under a key no plan has. The plan cut to its first hop (as after a
// reload that shortens a profile's chain) is a miss that runs hop 1 again
// and gets complete credentials, account and assumed-role ARN included.
func TestCacheSignerEntryIsNeverAnAnswer(t *testing.T) {
	h := newHarness(t)
	c := h.cache(CacheConfig{})
	long := h.seedPlan("myorg/app")
	if _, _, err := c.Get(t.Context(), long); err != nil {
		t.Fatalf("Get(two hops) = %v", err)
	}
	signer, ok := signerEntry(c, long, 1)
	if !ok {
		t.Fatalf("no hop-1 signer entry after a two-hop chain")
	}
	if got := signer; !got.Valid() || got.AssumedRoleARN != "" || got.AccountID != "" || got.SourceIdentity != "" || got.RoleARN != long.Hops[0].RoleARN {
		t.Errorf("hop-1 signer entry = %+v, want keys, expiration and role %s only", got, long.Hops[0].RoleARN)
	}

	short := long
	short.Hops = long.Hops[:1]
	got, outcome, err := c.Get(t.Context(), short)
	if err != nil || outcome != Miss {
		t.Fatalf("Get(first hop only) = %s, %v, want a miss", outcome, err)
	}
	wantARN := "arn:aws:sts::" + got.AccountID + ":assumed-role/"
	if !got.Valid() || got.AccountID == "" || !strings.HasPrefix(got.AssumedRoleARN, wantARN) || got.RoleARN != long.Hops[0].RoleARN {
		t.Errorf("Get(first hop only) = %+v, want complete credentials of %s", got, long.Hops[0].RoleARN)
	}
	h.wantCalls(2, 1)
}

// TestCacheExpiredTokenMakesNoCall: a miss whose chain needs the caller's
// token, with the token past its exp (the verifier lets a few seconds of
// skew through), fails with ErrTokenExpired without asking STS, which
// would refuse it, and does not count as STS failing.
func TestCacheExpiredTokenMakesNoCall(t *testing.T) {
	h := newHarness(t)
	c := h.cache(CacheConfig{MaxConcurrentChains: 1, FillTimeout: 3 * time.Second})
	p := h.seedPlan("myorg/app")
	p.TokenExpiry = h.clock.Now().Add(-time.Second)
	if _, _, err := c.Get(t.Context(), p); !errors.Is(err, ErrTokenExpired) {
		t.Fatalf("Get(expired token) error = %v, want %v", err, ErrTokenExpired)
	}
	h.wantCalls(0, 0)
	if degraded, _ := c.Degraded(); degraded {
		t.Errorf("Degraded() = true after a refused token, want false")
	}
	// It fails before any flight: it neither waits for an STS slot nor
	// leads a fill that requests with live tokens would join and lose.
	c.slots <- struct{}{} // every slot taken
	start := time.Now()
	if _, _, err := c.Get(t.Context(), p); !errors.Is(err, ErrTokenExpired) {
		t.Fatalf("Get(expired token, no free slot) error = %v, want %v", err, ErrTokenExpired)
	}
	if d := time.Since(start); d > time.Second || c.waiting.Load() != 0 {
		t.Errorf("Get(expired token) took %v with %d fills waiting, want at once and none", d, c.waiting.Load())
	}
	c.slots.release()
	// With hop 1 cached, the token is not needed: the chain goes on.
	live := p
	live.TokenExpiry = h.clock.Now().Add(5 * time.Minute)
	first := mustGet(t, c, live)
	h.clock.Advance(41 * time.Minute) // the answer is below min remaining, hop 1 still signs
	if got, _, err := c.Get(t.Context(), p); err != nil || got.AccessKeyID == first.AccessKeyID {
		t.Errorf("Get(expired token, hop 1 cached) = %s, %v, want new credentials", got.AccessKeyID, err)
	}
	h.wantCalls(1, 2)
}

// startSTS is an STS that reports each AssumeRoleWithWebIdentity call as
// it starts, and otherwise is the real client.
type startSTS struct {
	STS
	started chan struct{}
}

func (s startSTS) AssumeRoleWithWebIdentity(ctx context.Context, in *sts.AssumeRoleWithWebIdentityInput, optFns ...func(*sts.Options)) (*sts.AssumeRoleWithWebIdentityOutput, error) {
	s.started <- struct{}{}
	return s.STS.AssumeRoleWithWebIdentity(ctx, in, optFns...)
}

// TestCacheJoinerRetriesWithOwnToken: a request that joins a fill whose
// caller's token STS refuses (ExpiredTokenException) is not failed with a
// stranger's token: it runs the chain again with its own, once.
func TestCacheJoinerRetriesWithOwnToken(t *testing.T) {
	h := newHarness(t)
	started := make(chan struct{}, 4)
	c := h.cache(CacheConfig{Runner: NewRunner(RunnerConfig{STS: startSTS{STS: h.client, started: started}, Now: h.clock.Now})})
	h.sts.InjectFault(actionWebIdentity, ststest.Fault{Code: "ExpiredTokenException", Latency: time.Second, Times: 1})
	stale := h.seedPlan("myorg/app")
	leader := make(chan error, 1)
	go func() {
		_, _, err := c.Get(t.Context(), stale)
		leader <- err
	}()
	<-started // the leader's fill is calling STS
	// A joiner with the leader's own token gets the leader's error: its
	// token would be refused again.
	same := make(chan error, 1)
	go func() {
		_, _, err := c.Get(t.Context(), stale)
		same <- err
	}()
	own := stale
	claims := oidctest.GitHubActionsClaims("myorg/app", "refs/heads/main")
	claims["run_id"] = "another-run" // another job's token of the same identity
	tok, err := h.idp.Mint(claims)
	if err != nil {
		t.Fatal(err)
	}
	own.WebIdentityToken = Secret(tok)
	if own.WebIdentityToken == stale.WebIdentityToken {
		t.Fatal("the two tokens are equal")
	}
	got, outcome, err := c.Get(t.Context(), own)
	if err != nil || outcome != Miss || !got.Valid() {
		t.Fatalf("Get(own token) = %v, %s, %v, want credentials from its own chain", got.Valid(), outcome, err)
	}
	var he *HopError
	if err := <-leader; !errors.As(err, &he) || he.Code != "ExpiredTokenException" {
		t.Errorf("leader's Get() error = %v, want ExpiredTokenException", err)
	}
	if err := <-same; !errors.As(err, &he) || he.Code != "ExpiredTokenException" {
		t.Errorf("same-token joiner's Get() error = %v, want ExpiredTokenException", err)
	}
	if n := h.sts.CallsByOutcome(actionWebIdentity, "ExpiredTokenException"); n != 1 {
		t.Errorf("AssumeRoleWithWebIdentity refused %d times, want 1 (the leader's)", n)
	}
	h.wantCalls(2, 1)
}

// TestCacheIdentityTokenVerdicts: InvalidIdentityToken is a verdict on the
// token (an unknown provider, a wrong audience) and evicts; but when STS
// says it could not retrieve the issuer's verification key, that is STS's
// trouble reaching the issuer: the refresh fails as unavailable, the entry
// stays served (stale) and STS counts as failing.
func TestCacheIdentityTokenVerdicts(t *testing.T) {
	for _, tt := range []struct {
		name      string
		message   string
		wantEvict bool
	}{
		{name: "no-provider", message: "No OpenIDConnect provider found in your account for https://token.example", wantEvict: true},
		{name: "no-verification-key", message: "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			c := h.cache(CacheConfig{})
			p := h.seedPlan("myorg/app")
			p.Hops = p.Hops[:1] // one hop: every refresh needs AssumeRoleWithWebIdentity
			first := mustGet(t, c, p)
			h.clock.Advance(35 * time.Minute)
			h.sts.InjectFault(actionWebIdentity, ststest.Fault{Code: "InvalidIdentityToken", Message: tt.message})
			if got, outcome, err := c.Get(t.Context(), p); err != nil || outcome != Refresh || got.AccessKeyID != first.AccessKeyID {
				t.Fatalf("Get() = %s, %s, %v, want %s, refresh, nil", got.AccessKeyID, outcome, err, first.AccessKeyID)
			}
			waitRefreshes(c)
			got, outcome, err := c.Get(t.Context(), p)
			degraded, _ := c.Degraded()
			if tt.wantEvict {
				var he *HopError
				if !errors.As(err, &he) || he.Code != "InvalidIdentityToken" || he.Kind != Refused || degraded {
					t.Errorf("Get() after the refusal = %s, %s, %v (degraded %v), want the entry evicted and a refused miss", got.AccessKeyID, outcome, err, degraded)
				}
				return
			}
			if err != nil || outcome != Stale || got.AccessKeyID != first.AccessKeyID || !degraded {
				t.Errorf("Get() after the failed refresh = %s, %s, %v (degraded %v), want %s, stale, nil, degraded", got.AccessKeyID, outcome, err, degraded, first.AccessKeyID)
			}
			// A miss of another identity meanwhile is unavailable, not refused.
			_, _, err = c.Get(t.Context(), h.seedPlan("myorg/other"))
			var he *HopError
			if !errors.As(err, &he) || he.Kind != Unavailable {
				t.Errorf("Get(other identity) error = %v, want an unavailable hop error", err)
			}
		})
	}
}
