package chain

import (
	"errors"
	"time"
)

// health remembers whether STS is failing: the outcome of the most recent
// chain of STS calls. Guarded by Cache.mu.
type health struct {
	failing      bool
	failingSince time.Time
}

// record notes the outcome of one chain. A nil err or an STS refusal (STS
// answered) ends a failing spell; an Unavailable or Timeout hop error starts
// or continues one. Other errors (a closed cache, a malformed plan, no free
// STS slot) say nothing about STS and are ignored.
func (h *health) record(err error, now time.Time) {
	var he *HopError
	switch {
	case err == nil || (errors.As(err, &he) && he.Kind == Refused):
		h.failing = false
		h.failingSince = time.Time{}
	case errors.As(err, &he):
		if !h.failing {
			h.failing = true
			h.failingSince = now
		}
	}
}

// Degraded reports whether the most recent chain of STS calls failed as
// Unavailable or Timeout, and since when STS has been failing: the time of
// the first such failure after the last answer. While degraded, entries
// above MinRemaining are still served.
func (c *Cache) Degraded() (bool, time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.health.failing, c.health.failingSince
}
