package api

import (
	"context"
	"sync"
	"time"
)

// requestContext bounds one credentials request by a deadline, like
// context.WithDeadline, but starts the timer behind it only when something
// waits on Done or asks Err. A cache hit does neither (verifying a known
// token and reading the cache do no I/O), so it never starts and stops a
// timer; a verification that fetches keys, or a request that waits for STS,
// does, and is bounded exactly as with context.WithDeadline.
type requestContext struct {
	parent   context.Context
	deadline time.Time

	mu       sync.Mutex
	ctx      context.Context // nil until Done or Err is called
	cancel   context.CancelFunc
	released bool
}

// newRequestContext returns parent bounded by deadline; call release when
// the request is done, as with a CancelFunc.
func newRequestContext(parent context.Context, deadline time.Time) *requestContext {
	return &requestContext{parent: parent, deadline: deadline}
}

// bounded returns the context.WithDeadline this stands for, creating it on
// first use; after release it is created cancelled.
func (c *requestContext) bounded() context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctx == nil {
		c.ctx, c.cancel = context.WithDeadline(c.parent, c.deadline)
		if c.released {
			c.cancel()
		}
	}
	return c.ctx
}

// release cancels the context and frees its timer, if it was started.
func (c *requestContext) release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.released = true
	if c.cancel != nil {
		c.cancel()
	}
}

// Deadline implements context.Context: the earlier of the parent's and ours.
func (c *requestContext) Deadline() (time.Time, bool) {
	if d, ok := c.parent.Deadline(); ok && d.Before(c.deadline) {
		return d, true
	}
	return c.deadline, true
}

// Done implements context.Context.
func (c *requestContext) Done() <-chan struct{} { return c.bounded().Done() }

// Err implements context.Context.
func (c *requestContext) Err() error { return c.bounded().Err() }

// Value implements context.Context.
func (c *requestContext) Value(key any) any { return c.parent.Value(key) }
