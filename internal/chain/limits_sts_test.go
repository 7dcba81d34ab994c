package chain

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/stsbroker/broker/internal/ststest"
)

// concurrencySTS passes calls through to the real client and records the
// most calls that were in flight at once.
type concurrencySTS struct {
	STS
	mu       sync.Mutex
	cur, max int
}

func (s *concurrencySTS) enter() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cur++
	s.max = max(s.max, s.cur)
}

func (s *concurrencySTS) leave() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cur--
}

func (s *concurrencySTS) peak() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.max
}

func (s *concurrencySTS) AssumeRoleWithWebIdentity(ctx context.Context, in *sts.AssumeRoleWithWebIdentityInput, optFns ...func(*sts.Options)) (*sts.AssumeRoleWithWebIdentityOutput, error) {
	s.enter()
	defer s.leave()
	return s.STS.AssumeRoleWithWebIdentity(ctx, in, optFns...)
}

func (s *concurrencySTS) AssumeRole(ctx context.Context, in *sts.AssumeRoleInput, optFns ...func(*sts.Options)) (*sts.AssumeRoleOutput, error) {
	s.enter()
	defer s.leave()
	return s.STS.AssumeRole(ctx, in, optFns...)
}

func TestCacheBoundsConcurrentChains(t *testing.T) {
	h := newHarness(t)
	counter := &concurrencySTS{STS: h.client}
	c := h.cache(CacheConfig{MaxConcurrentChains: 2, Runner: NewRunner(RunnerConfig{STS: counter, Now: h.clock.Now})})
	h.sts.InjectFault(actionWebIdentity, ststest.Fault{Latency: 100 * time.Millisecond})

	const n = 6
	plans := make([]Plan, n)
	for i := range plans {
		plans[i] = h.seedPlan("myorg/app" + string(rune('a'+i)))
	}
	var wg sync.WaitGroup
	for _, p := range plans {
		wg.Go(func() {
			if got, outcome, err := c.Get(t.Context(), p); err != nil || outcome != Miss || !got.Valid() {
				t.Errorf("Get(%s) = valid %v, %s, %v, want valid, miss, nil", p.Identity, got.Valid(), outcome, err)
			}
		})
	}
	wg.Wait()
	if got := counter.peak(); got != 2 {
		t.Errorf("most STS calls in flight at once = %d, want 2 (MaxConcurrentChains)", got)
	}
	h.wantCalls(n, n)
}

func TestCacheFillWaitsForSlot(t *testing.T) {
	h := newHarness(t)
	c := h.cache(CacheConfig{MaxConcurrentChains: 1, FillTimeout: 100 * time.Millisecond})
	p := h.seedPlan("myorg/app")

	c.slots <- struct{}{} // every slot taken
	_, _, err := c.Get(t.Context(), p)
	if !errors.Is(err, context.DeadlineExceeded) || err.Error() != "chain: waiting for one of 1 sts slots: context deadline exceeded" {
		t.Errorf("Get() with no free slot error = %v, want the slot wait's deadline", err)
	}
	h.wantCalls(0, 0)
	if degraded, _ := c.Degraded(); degraded {
		t.Errorf("Degraded() = true after waiting for a slot, want false: STS was never called")
	}

	// A slot freed within the fill's deadline lets the request through.
	time.AfterFunc(20*time.Millisecond, c.slots.release)
	if got, outcome, err := c.Get(t.Context(), p); err != nil || outcome != Miss || !got.Valid() {
		t.Errorf("Get() after a slot freed = valid %v, %s, %v, want valid, miss, nil", got.Valid(), outcome, err)
	}
	h.wantCalls(1, 1)
}

// TestCacheBoundsWaitingFills: fills go on after their callers hang up,
// waiting for an STS slot; at most MaxWaitingFills wait, and a miss beyond
// them fails at once with ErrBusy instead of adding one more. The waiting
// fills still run when a slot frees, and their answers are cached.
func TestCacheBoundsWaitingFills(t *testing.T) {
	h := newHarness(t)
	c := h.cache(CacheConfig{MaxConcurrentChains: 1, MaxWaitingFills: 2, FillTimeout: 10 * time.Second})
	c.slots <- struct{}{} // every slot taken
	for _, repo := range []string{"myorg/a", "myorg/b"} {
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
		if _, _, err := c.Get(ctx, h.seedPlan(repo)); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Get(%s) error = %v, want the caller's deadline", repo, err)
		}
		cancel()
	}
	waitFor(t, "two fills waiting", func() bool { return c.waiting.Load() == 2 })

	start := time.Now()
	if _, _, err := c.Get(t.Context(), h.seedPlan("myorg/c")); !errors.Is(err, ErrBusy) {
		t.Fatalf("Get() beyond the waiting fills error = %v, want %v", err, ErrBusy)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("refusal took %v, want it at once", d)
	}
	h.wantCalls(0, 0)

	c.slots.release()
	waitFor(t, "the waiting fills cached", func() bool { return c.Len() == 4 })
	h.wantCalls(2, 2)
	if got, outcome, err := c.Get(t.Context(), h.seedPlan("myorg/c")); err != nil || outcome != Miss || !got.Valid() {
		t.Errorf("Get() once the fills ran = valid %v, %s, %v, want valid, miss, nil", got.Valid(), outcome, err)
	}
}

func TestCacheSkipsRefreshWithoutSlot(t *testing.T) {
	h := newHarness(t)
	c := h.cache(CacheConfig{MaxConcurrentChains: 1})
	p := h.seedPlan("myorg/app")
	first, _, err := c.Get(t.Context(), p)
	if err != nil {
		t.Fatalf("Get() error = %v", err)
	}
	h.clock.Advance(35 * time.Minute) // inside refresh_before, above min_remaining

	c.slots <- struct{}{} // another chain holds the only slot
	got, outcome, err := c.Get(t.Context(), p)
	if err != nil || outcome != Refresh || got.AccessKeyID != first.AccessKeyID {
		t.Fatalf("Get() = %s, %s, %v, want %s, refresh, nil", got.AccessKeyID, outcome, err, first.AccessKeyID)
	}
	waitRefreshes(c)
	h.wantCalls(1, 1) // skipped: no STS call
	// A skipped refresh is not a failed one: the entry is not stale.
	if _, outcome, err := c.Get(t.Context(), p); err != nil || outcome != Refresh {
		t.Errorf("Get() after a skipped refresh = %s, %v, want refresh, nil", outcome, err)
	}
	waitRefreshes(c)
	h.wantCalls(1, 1)

	c.slots.release()
	if _, outcome, err := c.Get(t.Context(), p); err != nil || outcome != Refresh {
		t.Errorf("Get() with a free slot = %s, %v, want refresh, nil", outcome, err)
	}
	waitRefreshes(c)
	h.wantCalls(1, 2) // the next request's refresh ran, reusing hop 1
	if got, outcome, err := c.Get(t.Context(), p); err != nil || outcome != Hit || got.AccessKeyID == first.AccessKeyID {
		t.Errorf("Get() after the refresh = %s, %s, %v, want new credentials, hit, nil", got.AccessKeyID, outcome, err)
	}
}

func TestRunnerCallTimeout(t *testing.T) {
	h := newHarness(t)
	r := NewRunner(RunnerConfig{STS: h.client, Now: h.clock.Now, CallTimeout: 100 * time.Millisecond})
	h.sts.InjectFault(actionWebIdentity, ststest.Fault{Latency: 5 * time.Second})

	start := time.Now()
	_, err := r.Run(t.Context(), h.seedPlan("myorg/app"))
	took := time.Since(start)
	var he *HopError
	if !errors.As(err, &he) || he.Kind != Timeout || he.Hop != 1 || he.Action != actionWebIdentity {
		t.Fatalf("Run() error = %v, want a hop 1 AssumeRoleWithWebIdentity Timeout", err)
	}
	if took > 2*time.Second {
		t.Errorf("Run() took %s, want about the 100ms call timeout", took)
	}
}

func TestCacheDegraded(t *testing.T) {
	h := newHarness(t)
	c := h.cache(CacheConfig{})
	if degraded, since := c.Degraded(); degraded || !since.IsZero() {
		t.Errorf("Degraded() at start = %v, %v, want false, zero", degraded, since)
	}

	h.sts.InjectFault("", ststest.Fault{Status: 503})
	failedAt := h.clock.Now()
	var he *HopError
	if _, _, err := c.Get(t.Context(), h.seedPlan("myorg/a")); !errors.As(err, &he) || he.Kind != Unavailable {
		t.Fatalf("Get() error = %v, want Unavailable", err)
	}
	if degraded, since := c.Degraded(); !degraded || !since.Equal(failedAt) {
		t.Errorf("Degraded() after a 503 = %v, %v, want true, %v", degraded, since, failedAt)
	}
	h.clock.Advance(time.Minute)
	if _, _, err := c.Get(t.Context(), h.seedPlan("myorg/b")); !errors.As(err, &he) || he.Kind != Unavailable {
		t.Fatalf("Get() error = %v, want Unavailable", err)
	}
	if degraded, since := c.Degraded(); !degraded || !since.Equal(failedAt) {
		t.Errorf("Degraded() after a second 503 = %v, %v, want true since the first failure %v", degraded, since, failedAt)
	}

	h.sts.ClearFaults()
	if _, _, err := c.Get(t.Context(), h.seedPlan("myorg/c")); err != nil {
		t.Fatalf("Get() error = %v", err)
	}
	if degraded, since := c.Degraded(); degraded || !since.IsZero() {
		t.Errorf("Degraded() after a success = %v, %v, want false, zero", degraded, since)
	}

	// A timeout degrades too; a refusal means STS answered, which ends it.
	fast := h.cache(CacheConfig{Runner: NewRunner(RunnerConfig{STS: h.client, Now: h.clock.Now, CallTimeout: 50 * time.Millisecond})})
	h.sts.InjectFault(actionWebIdentity, ststest.Fault{Latency: 5 * time.Second, Times: 1})
	if _, _, err := fast.Get(t.Context(), h.seedPlan("myorg/d")); !errors.As(err, &he) || he.Kind != Timeout {
		t.Fatalf("Get() error = %v, want Timeout", err)
	}
	if degraded, _ := fast.Degraded(); !degraded {
		t.Errorf("Degraded() after a timeout = false, want true")
	}
	if _, _, err := fast.Get(t.Context(), h.seedPlan("otherorg/app")); !errors.As(err, &he) || he.Kind != Refused {
		t.Fatalf("Get() error = %v, want Refused", err)
	}
	if degraded, _ := fast.Degraded(); degraded {
		t.Errorf("Degraded() after a refusal = true, want false: STS answered")
	}
}
