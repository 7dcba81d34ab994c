package chain

import (
	"container/list"
	"time"
)

// expiredScan bounds how many entries an insert into a full store looks at
// (from the least recently used end) for expired ones before it evicts.
const expiredScan = 64

// entry is the cached result of a plan or of a plan's prefix.
type entry struct {
	key   Key
	creds Credentials
	// refreshFailed records that the last background refresh of this key
	// failed; hits on it are reported as [Stale].
	refreshFailed bool
}

// lru is a bounded least-recently-used store of entries. It is not safe for
// concurrent use; the Cache's mutex guards it.
type lru struct {
	max  int
	ll   *list.List // front: most recently used; values are *entry
	byID map[Key]*list.Element
}

func newLRU(max int) *lru {
	return &lru{max: max, ll: list.New(), byID: make(map[Key]*list.Element)}
}

// get returns the entry for key and marks it used. An entry that expired by
// now is dropped and not returned.
func (l *lru) get(key Key, now time.Time) (*entry, bool) {
	el, ok := l.byID[key]
	if !ok {
		return nil, false
	}
	e := el.Value.(*entry)
	if !e.creds.Expiration.After(now) {
		l.removeElement(el)
		return nil, false
	}
	l.ll.MoveToFront(el)
	return e, true
}

// peek returns the entry for key without marking it used.
func (l *lru) peek(key Key) (*entry, bool) {
	el, ok := l.byID[key]
	if !ok {
		return nil, false
	}
	return el.Value.(*entry), true
}

// put stores creds under key as the most recently used entry, then evicts
// expired entries and, if still over the bound, the least recently used.
func (l *lru) put(key Key, creds Credentials, now time.Time) {
	if el, ok := l.byID[key]; ok {
		el.Value = &entry{key: key, creds: creds}
		l.ll.MoveToFront(el)
		return
	}
	l.byID[key] = l.ll.PushFront(&entry{key: key, creds: creds})
	if l.ll.Len() <= l.max {
		return
	}
	el := l.ll.Back()
	for range expiredScan {
		if el == nil || l.ll.Len() <= l.max {
			break
		}
		prev := el.Prev()
		if !el.Value.(*entry).creds.Expiration.After(now) {
			l.removeElement(el)
		}
		el = prev
	}
	for l.ll.Len() > l.max {
		l.removeElement(l.ll.Back())
	}
}

// remove drops key's entry if there is one.
func (l *lru) remove(key Key) {
	if el, ok := l.byID[key]; ok {
		l.removeElement(el)
	}
}

func (l *lru) removeElement(el *list.Element) {
	l.ll.Remove(el)
	delete(l.byID, el.Value.(*entry).key)
}

func (l *lru) len() int { return l.ll.Len() }
