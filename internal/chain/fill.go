package chain

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"go.uber.org/zap"
)

// fill runs p's chain, starting after the longest cached prefix, and stores
// every hop's result. It runs once per key at a time (single flight), in one
// of the MaxConcurrentChains slots: with wait it waits for a slot until ctx
// is done, without it returns errNoSlot at once when none is free.
func (c *Cache) fill(ctx context.Context, key Key, p Plan, wait bool) (Credentials, error) {
	if !c.track() {
		return Credentials{}, ErrClosed
	}
	defer c.wg.Done()
	if err := c.acquireSlot(ctx, wait); err != nil {
		return Credentials{}, err
	}
	defer c.slots.release()

	creds, err := c.fillChain(ctx, key, p)
	if c.base.Err() == nil { // Close cancelled it: not STS trouble
		c.mu.Lock()
		c.health.record(err, c.now())
		c.mu.Unlock()
	}
	return creds, err
}

// acquireSlot takes an STS slot as slots.acquire does; a fill that has to
// wait for one counts among the MaxWaitingFills, beyond which it gets
// ErrBusy at once.
func (c *Cache) acquireSlot(ctx context.Context, wait bool) error {
	if err := c.slots.acquire(ctx, false); err == nil || !wait {
		return err
	}
	if c.waiting.Add(1) > c.maxWaiting {
		c.waiting.Add(-1)
		return ErrBusy
	}
	defer c.waiting.Add(-1)
	return c.slots.acquire(ctx, true)
}

// fillToken is fill, with an error caused by p's caller's token (see
// callerToken) wrapped in a *tokenError naming the token, for requests
// that joined the flight with another token.
func (c *Cache) fillToken(ctx context.Context, key Key, p Plan, wait bool) (Credentials, error) {
	creds, err := c.fill(ctx, key, p, wait)
	if callerToken(err) {
		err = &tokenError{err: err, digest: tokenDigest(p)}
	}
	return creds, err
}

// tokenDigest is the SHA-256 of p's web identity token.
func tokenDigest(p Plan) [sha256.Size]byte { return sha256.Sum256([]byte(p.WebIdentityToken)) }

// fillChain is fill's work once it holds a slot.
func (c *Cache) fillChain(ctx context.Context, key Key, p Plan) (Credentials, error) {
	start, prev := c.cachedPrefix(p)
	if start == 0 && p.tokenExpired(c.now()) {
		return Credentials{}, ErrTokenExpired
	}
	creds, err := c.runFrom(ctx, p, start, prev)
	var he *HopError
	if start > 0 && errors.As(err, &he) && he.Hop == start+1 && rejectedSigner(he.Code) {
		// STS no longer honours the cached prefix credentials (revoked,
		// or issued by an STS that forgot them): start over once. Only
		// the signers go: the answer being refreshed is still served
		// while above MinRemaining if this run fails too.
		c.evictSigners(p)
		if p.tokenExpired(c.now()) {
			// Starting over needs the caller's token for hop 1.
			return Credentials{}, ErrTokenExpired
		}
		creds, err = c.runFrom(ctx, p, 0, nil)
	}
	if err != nil {
		if evicts(err) {
			c.evict(p)
		}
		return Credentials{}, err
	}
	if left := creds.Expiration.Sub(c.now()); left < c.minRemaining {
		return Credentials{}, fmt.Errorf("chain: hop %d (%s): sts issued credentials valid for %s, less than min remaining %s",
			len(p.Hops), creds.RoleARN, left.Round(time.Second), c.minRemaining)
	}
	c.mu.Lock()
	c.entries.put(key, creds, c.now())
	c.mu.Unlock()
	return creds, nil
}

// rejectedSigner reports whether code says the credentials that signed a
// call were not accepted.
func rejectedSigner(code string) bool {
	return code == "InvalidClientTokenId" || code == "ExpiredToken"
}

// runFrom runs hops start.. of p, signing hop start with prev, and caches
// every intermediate result under its signer key, as a signer only. start
// must be below len(p.Hops) (cachedPrefix returns at most len-1): prev is a
// signer and never an answer.
func (c *Cache) runFrom(ctx context.Context, p Plan, start int, prev *Credentials) (Credentials, error) {
	for i := start; i < len(p.Hops); i++ {
		creds, err := c.runner.RunHop(ctx, p, i, prev)
		if err != nil {
			return Credentials{}, err
		}
		prev = &creds
		if i < len(p.Hops)-1 {
			c.mu.Lock()
			c.entries.put(p.signerKey(i+1), creds.signer(), c.now())
			c.mu.Unlock()
		}
	}
	return *prev, nil
}

// cachedPrefix returns the number of leading hops whose result is cached
// with enough lifetime to sign the next call, and that result.
func (c *Cache) cachedPrefix(p Plan) (int, *Credentials) {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for n := len(p.Hops) - 1; n > 0; n-- {
		if e, ok := c.entries.get(p.signerKey(n), now); ok && e.expiration.Sub(now) >= prefixMinRemaining {
			creds := e.credentials()
			return n, &creds
		}
	}
	return 0, nil
}

// evict drops p's entry and its signer entries.
func (c *Cache) evict(p Plan) {
	c.mu.Lock()
	c.entries.remove(p.Key())
	c.mu.Unlock()
	c.evictSigners(p)
}

// evictSigners drops p's signer entries, keeping its answer.
func (c *Cache) evictSigners(p Plan) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for n := 1; n < len(p.Hops); n++ {
		c.entries.remove(p.signerKey(n))
	}
}

// startRefreshLocked starts the background refresh of key unless one runs
// or MaxRefreshes do; a skipped refresh is retried by the next request.
// c.mu must be held.
func (c *Cache) startRefreshLocked(key Key, p Plan, old *entry) {
	if _, ok := c.refreshing[key]; ok || len(c.refreshing) >= c.maxRefreshes || c.closed {
		return
	}
	c.refreshing[key] = struct{}{}
	c.wg.Add(1)
	go c.refresh(key, p, old)
}

// refresh fills key in the background, joining a fill already running. A
// failure keeps the old entry (it is served while above MinRemaining) and
// marks it so hits report [Stale] and, unless only the caller's token was
// refused (callerToken), no new refresh starts for refreshRetryDelay (with
// jitter); only old, the entry being refreshed, is marked, not one a fill
// stored meanwhile. When every STS slot is taken the
// refresh is skipped: the entry is still served and the next request retries.
func (c *Cache) refresh(key Key, p Plan, old *entry) {
	defer c.wg.Done()
	_, err, _ := c.group.Do(string(key[:]), func() (any, error) {
		ctx, cancel := context.WithTimeout(c.base, c.fillTimeout)
		defer cancel()
		return c.fillToken(ctx, key, p, false)
	})
	skipped := errors.Is(err, errNoSlot)
	c.mu.Lock()
	delete(c.refreshing, key)
	if e, ok := c.entries.peek(key); ok && e == old && err != nil && !skipped {
		if callerToken(err) {
			// The token that started this refresh was refused, not STS
			// in trouble: the next caller's token may refresh at once.
			e.markStale()
		} else {
			e.failRefresh(c.now().Add(refreshRetryDelay + rand.N(refreshRetryDelay/2)))
		}
	}
	c.mu.Unlock()
	if skipped {
		c.log.Debug("background refresh skipped: every sts slot is taken", zap.String("profile", p.Profile))
		return
	}
	if err == nil || c.base.Err() != nil { // Close cancelled it: not STS trouble
		return
	}
	fields := []zap.Field{zap.String("profile", p.Profile), zap.Error(err)}
	var he *HopError
	if errors.As(err, &he) {
		fields = append(fields, zap.Int("hop", he.Hop), zap.String("role_arn", he.RoleARN), zap.String("code", he.Code))
	}
	c.log.Warn("background refresh failed", fields...)
}
