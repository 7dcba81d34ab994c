package api

import (
	"container/list"
	"fmt"
	"math"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/stsbroker/broker/internal/auth"
)

// Limits named by the limit label of broker_rate_limited_total.
const (
	limitIdentity = "identity"
	limitGlobal   = "global"
	limitInflight = "inflight"
	// limitChains: misses beyond chain.CacheConfig.MaxWaitingFills.
	limitChains = "chains"
)

// maxLimitedIdentities bounds the per-identity buckets kept; beyond it the
// least recently seen identity's bucket is dropped (it starts full again).
const maxLimitedIdentities = 10000

// pruneScan is how many of the least recently used buckets a new bucket's
// insertion looks at for full ones to drop.
const pruneScan = 4

// rateLimitError is a request refused by a token bucket.
type rateLimitError struct {
	Limit      string // limitIdentity or limitGlobal
	RetryAfter int    // whole seconds until a token is available, ≥ 1
}

func (e *rateLimitError) Error() string {
	return fmt.Sprintf("api: %s rate limit exceeded; retry in %ds", e.Limit, e.RetryAfter)
}

// newLimiter returns a bucket of r tokens per second holding burst (at least
// one), or nil when r is 0: the limit is disabled.
func newLimiter(r float64, burst int) *rate.Limiter {
	if r <= 0 {
		return nil
	}
	return rate.NewLimiter(rate.Limit(r), max(burst, 1))
}

// take takes one token of lim at now. When none is available it takes
// nothing and returns the whole seconds (≥ 1) until one will be.
func take(lim *rate.Limiter, now time.Time) (retryAfter int, ok bool) {
	res := lim.ReserveN(now, 1)
	if !res.OK() {
		return 1, false
	}
	delay := res.DelayFrom(now)
	if delay <= 0 {
		return 0, true
	}
	res.CancelAt(now)
	return max(1, int(math.Ceil(delay.Seconds()))), false
}

// identityLimiters holds one bucket per caller identity in a bounded LRU.
//
// A bucket that is full again (its caller was quiet for burst/rate seconds,
// 10 with the broker's defaults) is the same as a new one, so dropping it forgets
// nothing. Each insertion drops full buckets from the least recently used
// end (up to pruneScan), so the buckets kept are about those of the callers
// seen in the last few seconds, not the last maxLimitedIdentities callers:
// a few hundred bytes per identity that a fleet of short jobs would
// otherwise keep for good. Beyond max, the least recently used bucket is
// dropped even if not full (that caller's bucket starts full again).
type identityLimiters struct {
	rate  rate.Limit
	burst int
	max   int

	mu    sync.Mutex
	order *list.List // of *identityBucket, most recently used first
	byKey map[identityKey]*list.Element
}

// identityKey is an identity: the issuer's name and the token's sub. A
// struct, not the two joined, so that a lookup allocates nothing.
type identityKey struct{ issuer, subject string }

type identityBucket struct {
	key identityKey
	lim *rate.Limiter
}

func newIdentityLimiters(r float64, burst, maxEntries int) *identityLimiters {
	if r <= 0 {
		return nil
	}
	return &identityLimiters{
		rate: rate.Limit(r), burst: max(burst, 1), max: maxEntries,
		order: list.New(), byKey: make(map[identityKey]*list.Element),
	}
}

// take takes one token from key's bucket at now (see the function take).
// The lookup and the take are one step under l.mu: otherwise another
// identity's insertion could drop the bucket, full, between the two, and
// the token would be taken from a bucket nobody keeps.
func (l *identityLimiters) take(key identityKey, now time.Time) (retryAfter int, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return take(l.bucketLocked(key, now), now)
}

// bucketLocked returns key's bucket, creating it when it is new: first
// dropping full buckets from the least recently used end, then, beyond max,
// the least recently used one. l.mu must be held.
func (l *identityLimiters) bucketLocked(key identityKey, now time.Time) *rate.Limiter {
	if el, ok := l.byKey[key]; ok {
		l.order.MoveToFront(el)
		return el.Value.(*identityBucket).lim
	}
	for range pruneScan {
		oldest := l.order.Back()
		if oldest == nil || oldest.Value.(*identityBucket).lim.TokensAt(now) < float64(l.burst) {
			break
		}
		l.remove(oldest)
	}
	b := &identityBucket{key: key, lim: rate.NewLimiter(l.rate, l.burst)}
	l.byKey[key] = l.order.PushFront(b)
	for l.order.Len() > l.max {
		l.remove(l.order.Back())
	}
	return b.lim
}

func (l *identityLimiters) remove(el *list.Element) {
	l.order.Remove(el)
	delete(l.byKey, el.Value.(*identityBucket).key)
}

func (l *identityLimiters) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.order.Len()
}

// allowIdentity takes a token from id's bucket: issuer name and sub, so that
// one caller cannot use up another's share.
func (s *Server) allowIdentity(id *auth.Identity) error {
	if s.perIdentity == nil {
		return nil
	}
	if wait, ok := s.perIdentity.take(identityKey{id.Issuer, id.Subject}, s.now()); !ok {
		return &rateLimitError{Limit: limitIdentity, RetryAfter: wait}
	}
	return nil
}

// limitGlobal bounds the request rate of the whole broker. It runs before
// the token is looked at, so that a flood of bad tokens costs no
// verification.
func (s *Server) limitGlobal(next http.Handler) http.Handler {
	if s.global == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if wait, ok := take(s.global, s.now()); !ok {
			// No audit line: nobody is identified yet, and beyond the
			// limit a flood would write one per request to a sink that
			// is written through and may be a file without rotation.
			// The access log and broker_rate_limited_total count them.
			s.writeError(w, r, &rateLimitError{Limit: limitGlobal, RetryAfter: wait})
			return
		}
		next.ServeHTTP(w, r)
	})
}
