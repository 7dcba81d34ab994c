package auth

import (
	"sync"
	"time"
)

// intervalGate allows one event per interval, measured on an injected clock.
type intervalGate struct {
	now      func() time.Time
	interval time.Duration

	mu   sync.Mutex
	last time.Time // zero until the first allowed event
}

// allow reports whether an event may happen now and, if so, records it.
func (g *intervalGate) allow() bool {
	_, ok := g.take()
	return ok
}

// take is allow that also returns giveBack, which undoes the event, as if
// it never happened, when it did not really take place (an attempt cut by
// its owner's cancellation); a later event is not undone.
func (g *intervalGate) take() (giveBack func(), ok bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	if !g.last.IsZero() && now.Sub(g.last) < g.interval {
		return nil, false
	}
	prev := g.last
	g.last = now
	return func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		if g.last.Equal(now) {
			g.last = prev
		}
	}, true
}

// wouldAllow reports whether allow would allow an event now, without
// recording one.
func (g *intervalGate) wouldAllow() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.last.IsZero() || g.now().Sub(g.last) >= g.interval
}

// remaining is how long until allow would allow an event: zero if it would
// now.
func (g *intervalGate) remaining() time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.last.IsZero() {
		return 0
	}
	return max(g.interval-g.now().Sub(g.last), 0)
}
