package chain

import (
	"math"
	"strings"
	"time"
)

// expiredScan bounds how many entries an insert into a full store looks at
// (from the least recently used end) for expired ones before it evicts.
// At most once per sweepEvery, an insert also drops every expired entry, so
// that the entries of identities that stopped coming go soon after they
// expire instead of staying (in memory and in broker_cache_entries) until
// the store is full. The walk holds the cache's lock for about 15 ns an
// entry (3 ms for 200 000 entries, measured), once a minute at most, and
// only on a fill.
const (
	expiredScan = 64
	sweepEvery  = time.Minute
)

// entry is the cached result of a plan, or the signer of a plan's next hop
// (Credentials.signer).
//
// The store holds one entry per cached identity and hop (100 000 identities
// of a two-hop profile make 200 000 entries), so an entry is laid out for
// size: it links itself into the LRU list (no container/list element), and
// the strings STS returned are copied into one string, cut at ends, instead
// of being kept as a Credentials value (seven string headers). An entry is
// two allocations, 128 bytes and the text (BenchmarkLRUMemory: 719 bytes
// an entry against 839 before, map slot included); [entry.credentials]
// reassembles the strings without copying.
type entry struct {
	key          Key
	newer, older *entry // the LRU list: newer is towards the most recently used
	expiration   time.Time
	roleARN      string // the plan's hop RoleARN, shared with the plan
	// text is AccessKeyID, SecretAccessKey, SessionToken, AssumedRoleARN,
	// AccountID and SourceIdentity, concatenated; ends[i] is where field
	// i ends, and SourceIdentity runs to the end. AccountID is left out
	// (accountInARN) when it is the assumed-role ARN's account, as it is
	// in every answer of STS.
	text         string
	ends         [5]uint32
	accountInARN bool
	// retryBelow is set when the last background refresh of this key
	// failed (requests then report [Stale]): the next refresh may start
	// only once fewer than retryBelow seconds of lifetime are left, so that
	// a failing or throttled STS is not asked again by every request. 0:
	// no failed refresh. (Seconds in 16 bits keep the entry at 128 bytes;
	// refresh windows are at most 12 hours.)
	retryBelow uint16
}

// refreshFailed reports whether the last background refresh failed.
func (e *entry) refreshFailed() bool { return e.retryBelow != 0 }

// failRefresh records a failed refresh: no new one before retry.
func (e *entry) failRefresh(retry time.Time) {
	secs := int64(e.expiration.Sub(retry) / time.Second)
	e.retryBelow = uint16(min(max(secs, 1), math.MaxUint16))
}

// markStale records a failed refresh after which the next may start at
// once: the most seconds retryBelow holds, more than any refresh window
// (NewCache bounds RefreshBefore below it).
func (e *entry) markStale() { e.retryBelow = math.MaxUint16 }

// mayRefresh reports whether a refresh may start with left lifetime left.
func (e *entry) mayRefresh(left time.Duration) bool {
	return e.retryBelow == 0 || left < time.Duration(e.retryBelow)*time.Second
}

func newEntry(key Key, c Credentials) *entry {
	e := &entry{key: key, expiration: c.Expiration, roleARN: c.RoleARN}
	account := c.AccountID
	if a, ok := arnAccount(c.AssumedRoleARN); ok && a == account {
		e.accountInARN, account = true, ""
	}
	fields := [...]string{c.AccessKeyID, c.SecretAccessKey.Reveal(), c.SessionToken.Reveal(), c.AssumedRoleARN, account, c.SourceIdentity}
	n := 0
	for _, f := range fields {
		n += len(f)
	}
	var b strings.Builder
	b.Grow(n)
	for i, f := range fields {
		b.WriteString(f)
		if i < len(e.ends) {
			// STS strings are a few KiB at most; a text of 4 GiB would
			// not be sent by STS nor read by the SDK.
			e.ends[i] = uint32(b.Len())
		}
	}
	e.text = b.String()
	return e
}

// credentials returns the entry's credentials; the strings share the
// entry's text.
func (e *entry) credentials() Credentials {
	t, x := e.text, e.ends
	c := Credentials{
		AccessKeyID:     t[:x[0]],
		SecretAccessKey: Secret(t[x[0]:x[1]]),
		SessionToken:    Secret(t[x[1]:x[2]]),
		Expiration:      e.expiration,
		AssumedRoleARN:  t[x[2]:x[3]],
		AccountID:       t[x[3]:x[4]],
		RoleARN:         e.roleARN,
		SourceIdentity:  t[x[4]:],
	}
	if e.accountInARN {
		c.AccountID, _ = arnAccount(c.AssumedRoleARN)
	}
	return c
}

// lru is a bounded least-recently-used store of entries. It is not safe for
// concurrent use; the Cache's mutex guards it.
type lru struct {
	max       int
	n         int
	root      entry // sentinel: root.older is the most recently used, root.newer the least
	byID      map[Key]*entry
	lastSweep time.Time
}

func newLRU(max int) *lru {
	l := &lru{max: max, byID: make(map[Key]*entry)}
	l.root.newer, l.root.older = &l.root, &l.root
	return l
}

// get returns the entry for key and marks it used. An entry that expired by
// now is dropped and not returned.
func (l *lru) get(key Key, now time.Time) (*entry, bool) {
	e, ok := l.byID[key]
	if !ok {
		return nil, false
	}
	if !e.expiration.After(now) {
		l.remove(key)
		return nil, false
	}
	l.unlink(e)
	l.pushFront(e)
	return e, true
}

// peek returns the entry for key without marking it used.
func (l *lru) peek(key Key) (*entry, bool) {
	e, ok := l.byID[key]
	return e, ok
}

// put stores creds under key as the most recently used entry; then, once
// per sweepEvery, drops every expired entry; then, over the bound, drops
// the expired ones among the expiredScan least recently used and evicts
// the least recently used.
func (l *lru) put(key Key, creds Credentials, now time.Time) {
	l.remove(key)
	e := newEntry(key, creds)
	l.byID[key] = e
	l.pushFront(e)
	l.sweep(now)
	if l.n > l.max {
		l.dropExpired(expiredScan, now)
	}
	for l.n > l.max {
		l.remove(l.root.newer.key)
	}
}

// sweep drops every expired entry, at most once per sweepEvery.
func (l *lru) sweep(now time.Time) {
	if since := now.Sub(l.lastSweep); since >= sweepEvery || since < 0 {
		l.lastSweep = now
		l.dropExpired(l.n, now)
	}
}

// dropExpired looks at up to n entries from the least recently used end
// and drops those expired at now.
func (l *lru) dropExpired(n int, now time.Time) {
	e := l.root.newer
	for range n {
		if e == &l.root {
			return
		}
		next := e.newer
		if !e.expiration.After(now) {
			l.remove(e.key)
		}
		e = next
	}
}

// remove drops key's entry if there is one.
func (l *lru) remove(key Key) {
	if e, ok := l.byID[key]; ok {
		l.unlink(e)
		delete(l.byID, key)
	}
}

// pushFront links e in as the most recently used entry.
func (l *lru) pushFront(e *entry) {
	e.newer, e.older = &l.root, l.root.older
	l.root.older.newer = e
	l.root.older = e
	l.n++
}

func (l *lru) unlink(e *entry) {
	e.newer.older = e.older
	e.older.newer = e.newer
	e.newer, e.older = nil, nil
	l.n--
}

func (l *lru) len() int { return l.n }
