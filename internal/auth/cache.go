package auth

import (
	"container/list"
	"crypto/sha256"
	"sync"
	"time"
)

// digest is the SHA-256 of a raw token: the only trace of a token the
// verified cache keeps.
//
// Security: we store the digest, not the token. The cache lives as long as
// the process and may hold thousands of entries; keeping the tokens would
// put that many bearer credentials in memory (and in any core dump) for
// their whole lifetime. A digest cannot be presented as a token.
//
// Security: the lookup compares the full 32-byte digest (Go map key
// equality), which is as good as comparing the token bytes: a hit for a
// different token needs a SHA-256 collision (or a second preimage, to hit
// someone else's entry), neither of which is practical. The comparison is
// not constant-time, and need not be: the attacker chooses the token, not
// its digest, so timing reveals nothing about stored digests that could be
// turned into a token.
type digest [sha256.Size]byte

// cacheEntry is one verified token. An entry is never modified after it is
// stored; a re-verification replaces it.
type cacheEntry struct {
	sum  digest
	id   *Identity // shared, read-only (see [Identity])
	keys *keySet   // the key set that verified the token
	gen  uint64    // its generation during the whole verification
	life lifetime
}

// verifiedCache is a bounded LRU set of tokens that passed full
// verification. All operations are O(1) under one mutex.
//
// Security: an entry can only shorten work, never widen acceptance. It is
// stored only after full verification; what was checked then depends only on
// the token bytes (hence the digest) and on configuration that never changes
// after [New], except the issuer's key set, which is covered by the key
// generation. Everything that depends on time is checked again on every hit,
// by the same [lifetime.check] as full verification.
type verifiedCache struct {
	max int

	mu  sync.Mutex
	lru *list.List // of *cacheEntry, most recently used first
	m   map[digest]*list.Element
}

// newVerifiedCache returns a cache of at most size entries, or nil (no
// cache) if size <= 0.
func newVerifiedCache(size int) *verifiedCache {
	if size <= 0 {
		return nil
	}
	return &verifiedCache{max: size, lru: list.New(), m: make(map[digest]*list.Element)}
}

// get returns the identity cached for sum if its issuer's key set has not
// changed since it was verified and its lifetime check passes at now. It
// returns (nil, nil) on a miss, and (nil, err) with the lifetime error if the
// token is cached but no longer (or not yet) valid. A stale or failing entry
// is dropped.
func (c *verifiedCache) get(sum digest, now time.Time, skew time.Duration) (*Identity, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.m[sum]
	if !ok {
		return nil, nil
	}
	e := el.Value.(*cacheEntry)
	// Security: any change of the issuer's keys since the entry was
	// verified makes it a miss, so a retired key never validates a cached
	// token once its removal has been fetched.
	if e.gen != e.keys.generation() {
		c.removeLocked(el)
		return nil, nil
	}
	if err := e.life.check(now, skew); err != nil {
		c.removeLocked(el)
		return nil, err
	}
	c.lru.MoveToFront(el)
	return e.id, nil
}

// put stores e, evicting the least recently used entry if the cache is full.
func (c *verifiedCache) put(e *cacheEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.m[e.sum]; ok {
		el.Value = e
		c.lru.MoveToFront(el)
		return
	}
	if c.lru.Len() >= c.max {
		c.removeLocked(c.lru.Back())
	}
	c.m[e.sum] = c.lru.PushFront(e)
}

// clear drops every entry.
func (c *verifiedCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lru = list.New()
	c.m = make(map[digest]*list.Element)
}

// len is the number of entries.
func (c *verifiedCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

func (c *verifiedCache) removeLocked(el *list.Element) {
	delete(c.m, el.Value.(*cacheEntry).sum)
	c.lru.Remove(el)
}
