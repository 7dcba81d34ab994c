package chain

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/singleflight"
)

// Outcome says how [Cache.Get] answered, for the audit log and metrics.
type Outcome string

const (
	// Hit: served from the cache, well inside its lifetime.
	Hit Outcome = "hit"
	// Miss: the request waited for STS.
	Miss Outcome = "miss"
	// Refresh: served from the cache inside the refresh window while a
	// background refresh runs, or is due: when MaxRefreshes already run, or
	// every STS slot is taken, none starts and the next request tries again.
	Refresh Outcome = "refresh"
	// Stale: served from the cache inside the refresh window although the
	// last background refresh failed: STS is in trouble.
	Stale Outcome = "stale"
)

// maxTokenRetries bounds how often a request runs again after joining
// fills that failed for other callers' tokens (see GetKeyed).
const maxTokenRetries = 3

// ErrClosed is returned by [Cache.Get] after [Cache.Close].
var ErrClosed = errors.New("chain: cache closed")

// ErrBusy is returned by [Cache.Get] for a miss when MaxWaitingFills fills
// already wait for an STS slot: retry shortly.
var ErrBusy = errors.New("chain: too many chains waiting for an sts slot")

// prefixMinRemaining is how long cached credentials of a prefix must still
// be valid to sign the next hop's call.
const prefixMinRemaining = time.Minute

// maxRefreshBefore bounds CacheConfig.RefreshBefore (see entry.retryBelow).
const maxRefreshBefore = math.MaxUint16 * time.Second

// refreshRetryDelay is how long after a failed background refresh the next
// one may start, plus up to half as much again at random so that entries
// that failed together do not retry together.
const refreshRetryDelay = 30 * time.Second

// CacheConfig configures a [Cache]. Zero values get the documented defaults.
type CacheConfig struct {
	// Runner performs the STS calls; required.
	Runner *Runner
	// MaxEntries bounds the entries, final and per-hop together (10000).
	MaxEntries int
	// RefreshBefore: an entry with less lifetime left is refreshed in the
	// background while it is served (30m).
	RefreshBefore time.Duration
	// MinRemaining: an entry with less lifetime left is never served (20m).
	MinRemaining time.Duration
	// FillTimeout bounds one chain of STS calls (30s).
	FillTimeout time.Duration
	// MaxRefreshes bounds concurrent background refreshes (64).
	MaxRefreshes int
	// MaxConcurrentChains bounds the chains of STS calls running at once,
	// synchronous fills and background refreshes together (32). A request
	// that misses waits for a slot within FillTimeout and its own deadline;
	// a background refresh that finds none is skipped and retried by the
	// next request.
	MaxConcurrentChains int
	// MaxWaitingFills bounds the fills waiting for one of those slots
	// (1024); beyond it a miss fails at once with [ErrBusy]. A fill goes on
	// after its callers leave (others may be waiting on it), so without
	// this bound callers that hang up could pile up fills, each holding a
	// goroutine for up to FillTimeout and then calling STS for nobody.
	MaxWaitingFills int
	// Now is the clock; defaults to time.Now.
	Now func() time.Time
	// Log receives refresh failures; defaults to a no-op logger.
	Log *zap.Logger
}

// Cache serves the credentials of plans: one entry per [Plan.Key], one chain
// of STS calls per key at a time, refreshed ahead of expiry by requests (no
// timers), with hop results cached per prefix, all bounded.
type Cache struct {
	runner        *Runner
	maxRefreshes  int
	refreshBefore time.Duration
	minRemaining  time.Duration
	fillTimeout   time.Duration
	now           func() time.Time
	log           *zap.Logger
	slots         slots
	waiting       atomic.Int64 // fills waiting for a slot
	maxWaiting    int64

	group  singleflight.Group
	base   context.Context // cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // background refreshes and fills

	mu         sync.Mutex
	entries    *lru
	refreshing map[Key]struct{}
	health     health
	closed     bool

	// beforeFlight, if set (tests only), runs in GetKeyed between a miss
	// and joining or starting the key's flight.
	beforeFlight func()
}

// NewCache returns a Cache for cfg.
func NewCache(cfg CacheConfig) (*Cache, error) {
	if cfg.Runner == nil {
		return nil, errors.New("chain: cache needs a runner")
	}
	setDefault(&cfg.MaxEntries, 10000)
	setDefault(&cfg.RefreshBefore, 30*time.Minute)
	setDefault(&cfg.MinRemaining, 20*time.Minute)
	setDefault(&cfg.FillTimeout, 30*time.Second)
	setDefault(&cfg.MaxRefreshes, 64)
	setDefault(&cfg.MaxConcurrentChains, 32)
	setDefault(&cfg.MaxWaitingFills, 1024)
	if cfg.MinRemaining > cfg.RefreshBefore {
		return nil, fmt.Errorf("chain: min remaining %s exceeds refresh before %s", cfg.MinRemaining, cfg.RefreshBefore)
	}
	// An entry's refresh state counts seconds in 16 bits (entry.retryBelow);
	// STS credentials live at most 12 hours, and config keeps refresh_before
	// below the shortest hop duration.
	if cfg.RefreshBefore >= maxRefreshBefore {
		return nil, fmt.Errorf("chain: refresh before %s is not below %s", cfg.RefreshBefore, maxRefreshBefore)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = zap.NewNop()
	}
	base, cancel := context.WithCancel(context.Background())
	return &Cache{
		runner:        cfg.Runner,
		maxRefreshes:  cfg.MaxRefreshes,
		refreshBefore: cfg.RefreshBefore,
		minRemaining:  cfg.MinRemaining,
		fillTimeout:   cfg.FillTimeout,
		now:           cfg.Now,
		log:           cfg.Log,
		slots:         make(slots, cfg.MaxConcurrentChains),
		maxWaiting:    int64(cfg.MaxWaitingFills),
		base:          base,
		cancel:        cancel,
		entries:       newLRU(cfg.MaxEntries),
		refreshing:    make(map[Key]struct{}),
	}, nil
}

func setDefault[T int | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// Get returns credentials for p with at least MinRemaining lifetime left, or
// an error; never zero-value credentials. Concurrent calls for one key share
// one chain of STS calls, which is not cut short when the first caller goes
// away; each caller stops waiting when its own ctx is done.
func (c *Cache) Get(ctx context.Context, p Plan) (Credentials, Outcome, error) {
	return c.GetKeyed(ctx, NewKeyed(p))
}

// GetKeyed is [Cache.Get] for a plan whose key was computed before, once
// for many requests (see [Keyed]).
func (c *Cache) GetKeyed(ctx context.Context, kp Keyed) (Credentials, Outcome, error) {
	p, key := kp.plan, kp.key
	if len(p.Hops) == 0 {
		return Credentials{}, Miss, errors.New("chain: plan has no hops")
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return Credentials{}, Miss, ErrClosed
	}
	if creds, outcome, ok := c.lookupLocked(key, p); ok {
		c.mu.Unlock()
		return creds, outcome, nil
	}
	c.mu.Unlock()
	// A token past its exp cannot start hop 1 (STS would refuse it), nor
	// join a flight as a fallback for another caller's refused token: it
	// fails here unless hop 1 is cached. (fillChain checks again, for a
	// token that expires while its fill waits.)
	if p.tokenExpired(c.now()) {
		if start, _ := c.cachedPrefix(p); start == 0 {
			return Credentials{}, Miss, ErrTokenExpired
		}
	}
	if c.beforeFlight != nil {
		c.beforeFlight()
	}

	tokenRetries := 0
	for {
		ch := c.group.DoChan(string(key[:]), func() (any, error) {
			// A fill of this key may have stored its answer after this
			// request's lookup and ended before this flight began: serve
			// that answer instead of running a second chain. Only a hit:
			// an entry that needs a refresh is refreshed by this flight
			// (a refresh started from here could join this very flight
			// and do nothing).
			c.mu.Lock()
			creds, ok := c.hitLocked(key)
			c.mu.Unlock()
			if ok {
				return cachedHit{creds}, nil
			}
			fillCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.fillTimeout)
			defer cancel()
			stop := context.AfterFunc(c.base, cancel)
			defer stop()
			return c.fillToken(fillCtx, key, p, true)
		})
		select {
		case res := <-ch:
			if errors.Is(res.Err, errNoSlot) {
				// Joined a background refresh that found no free slot
				// and gave up at once: run a fill that waits for one.
				continue
			}
			if te, ok := errors.AsType[*tokenError](res.Err); ok && tokenRetries < maxTokenRetries && p.Source == WebIdentity &&
				te.digest != tokenDigest(p) {
				// Joined a fill whose caller's token STS (or the
				// expiry check) refused: this request's own token may
				// do. The next flight may again be another caller's
				// (each is one STS call), so a few times, within ctx.
				tokenRetries++
				continue
			}
			if res.Err != nil {
				return Credentials{}, Miss, res.Err
			}
			if h, ok := res.Val.(cachedHit); ok {
				return h.creds, Hit, nil
			}
			return res.Val.(Credentials), Miss, nil
		case <-ctx.Done():
			return Credentials{}, Miss, ctx.Err()
		}
	}
}

// cachedHit is a flight's result when it found a hit in the cache.
type cachedHit struct{ creds Credentials }

// hitLocked returns key's entry if it is a hit: at least RefreshBefore
// left. c.mu must be held.
func (c *Cache) hitLocked(key Key) (Credentials, bool) {
	now := c.now()
	if e, ok := c.entries.get(key, now); ok && e.expiration.Sub(now) >= c.refreshBefore {
		return e.credentials(), true
	}
	return Credentials{}, false
}

// lookupLocked returns key's entry if it may be served (at least
// MinRemaining left): a hit, or below RefreshBefore a refresh (stale if the
// last one failed), starting the background refresh. c.mu must be held.
func (c *Cache) lookupLocked(key Key, p Plan) (Credentials, Outcome, bool) {
	now := c.now()
	e, ok := c.entries.get(key, now)
	if !ok {
		return Credentials{}, Miss, false
	}
	left := e.expiration.Sub(now)
	if left >= c.refreshBefore {
		return e.credentials(), Hit, true
	}
	if left < c.minRemaining {
		return Credentials{}, Miss, false
	}
	outcome := Refresh
	if e.refreshFailed() {
		outcome = Stale
	}
	// Not with a token past its exp: STS would refuse it. (A refresh that
	// reuses cached hop-1 credentials would not send it; it waits for the
	// next caller's live token, at most the verifier's skew later.)
	if e.mayRefresh(left) && !p.tokenExpired(now) {
		c.startRefreshLocked(key, p, e)
	}
	return e.credentials(), outcome, true
}

// Len returns the number of entries, final and per-hop. Like a store, it
// first drops every expired entry once a minute, so that the count
// (broker_cache_entries, read at each scrape) follows expiry while no
// request stores anything.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries.sweep(c.now())
	return c.entries.len()
}

// Close cancels background refreshes and fills and waits for them to end.
// Get returns [ErrClosed] afterwards.
func (c *Cache) Close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.cancel()
	c.wg.Wait()
}

// track counts a goroutine's work in the WaitGroup Close waits on; it
// reports false once the cache is closed. Add happens under the mutex while
// closed is false, so it never races with Close's Wait.
func (c *Cache) track() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.wg.Add(1)
	return true
}
