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
)

// maxLimitedIdentities bounds the per-identity buckets kept; beyond it the
// least recently seen identity's bucket is dropped (it starts full again).
const maxLimitedIdentities = 10000

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
type identityLimiters struct {
	rate  rate.Limit
	burst int
	max   int

	mu    sync.Mutex
	order *list.List // of *identityBucket, most recently used first
	byKey map[string]*list.Element
}

type identityBucket struct {
	key string
	lim *rate.Limiter
}

func newIdentityLimiters(r float64, burst, maxEntries int) *identityLimiters {
	if r <= 0 {
		return nil
	}
	return &identityLimiters{
		rate: rate.Limit(r), burst: max(burst, 1), max: maxEntries,
		order: list.New(), byKey: make(map[string]*list.Element),
	}
}

// get returns key's bucket, creating it (and evicting the least recently
// used one beyond max) when it is new.
func (l *identityLimiters) get(key string) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	if el, ok := l.byKey[key]; ok {
		l.order.MoveToFront(el)
		return el.Value.(*identityBucket).lim
	}
	b := &identityBucket{key: key, lim: rate.NewLimiter(l.rate, l.burst)}
	l.byKey[key] = l.order.PushFront(b)
	for l.order.Len() > l.max {
		oldest := l.order.Back()
		l.order.Remove(oldest)
		delete(l.byKey, oldest.Value.(*identityBucket).key)
	}
	return b.lim
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
	if wait, ok := take(s.perIdentity.get(id.Issuer+"\x00"+id.Subject), s.now()); !ok {
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
			s.writeError(w, r, s.refuse(r, &rateLimitError{Limit: limitGlobal, RetryAfter: wait}))
			return
		}
		next.ServeHTTP(w, r)
	})
}
