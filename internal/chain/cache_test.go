package chain

import (
	"errors"
	"testing"
	"time"
)

func TestNewCacheConfig(t *testing.T) {
	r := NewRunner(RunnerConfig{})
	if r.callTimeout != 10*time.Second {
		t.Errorf("NewRunner() call timeout = %s, want 10s", r.callTimeout)
	}
	tests := []struct {
		name    string
		cfg     CacheConfig
		wantErr string
	}{
		{name: "no-runner", cfg: CacheConfig{}, wantErr: "chain: cache needs a runner"},
		{name: "min-above-refresh", cfg: CacheConfig{Runner: r, RefreshBefore: 10 * time.Minute, MinRemaining: 11 * time.Minute}, wantErr: "chain: min remaining 11m0s exceeds refresh before 10m0s"},
		{name: "refresh-before-too-long", cfg: CacheConfig{Runner: r, RefreshBefore: 20 * time.Hour}, wantErr: "chain: refresh before 20h0m0s is not below 18h12m15s"},
		{name: "defaults", cfg: CacheConfig{Runner: r}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewCache(tt.cfg)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("NewCache() error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewCache() error = %v", err)
			}
			defer c.Close()
			if c.entries.max != 10000 || c.refreshBefore != 30*time.Minute || c.minRemaining != 20*time.Minute ||
				c.fillTimeout != 30*time.Second || c.maxRefreshes != 64 || cap(c.slots) != 32 {
				t.Errorf("NewCache() defaults = max %d refresh %s min %s fill %s refreshes %d chains %d, want 10000 30m 20m 30s 64 32",
					c.entries.max, c.refreshBefore, c.minRemaining, c.fillTimeout, c.maxRefreshes, cap(c.slots))
			}
		})
	}
}

// TestCacheServesEntriesWithoutSTS covers the paths that need no STS call:
// the runner has no client, so any call would panic.
func TestCacheServesEntriesWithoutSTS(t *testing.T) {
	now := t0
	c, err := NewCache(CacheConfig{Runner: NewRunner(RunnerConfig{}), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatalf("NewCache() error = %v", err)
	}
	p := basePlan()
	c.entries.put(p.Key(), credsUntil("ASIAHIT", t0.Add(time.Hour)), t0)

	got, outcome, err := c.Get(t.Context(), p)
	if err != nil || outcome != Hit || got.AccessKeyID != "ASIAHIT" {
		t.Errorf("Get() = %s, %s, %v, want ASIAHIT, hit, nil", got.AccessKeyID, outcome, err)
	}

	if _, _, err := c.Get(t.Context(), Plan{}); err == nil || err.Error() != "chain: plan has no hops" {
		t.Errorf("Get(empty plan) error = %v, want %q", err, "chain: plan has no hops")
	}

	c.Close()
	if _, _, err := c.Get(t.Context(), p); !errors.Is(err, ErrClosed) {
		t.Errorf("Get() after Close error = %v, want %v", err, ErrClosed)
	}
	if n := c.Len(); n != 1 {
		t.Errorf("Len() = %d, want 1", n)
	}
}
