package chain

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func credsUntil(id string, exp time.Time) Credentials {
	return Credentials{AccessKeyID: id, SecretAccessKey: "secret", SessionToken: "token", Expiration: exp}
}

// k makes a readable test key: name, zero-padded.
func k(name string) Key {
	var key Key
	copy(key[:], name)
	return key
}

// keys lists the names of l's keys (see k), most recently used first.
func keys(l *lru) []string {
	var out []string
	for el := l.ll.Front(); el != nil; el = el.Next() {
		key := el.Value.(*entry).key
		out = append(out, strings.TrimRight(string(key[:]), "\x00"))
	}
	return out
}

func TestLRUEvictsLeastRecentlyUsed(t *testing.T) {
	l := newLRU(3)
	for i := range 3 {
		l.put(k(fmt.Sprint(i)), credsUntil(fmt.Sprint(i), t0.Add(time.Hour)), t0)
	}
	if _, ok := l.get(k("0"), t0); !ok {
		t.Fatalf("get(0) = missing, want present")
	}
	l.put(k("3"), credsUntil("3", t0.Add(time.Hour)), t0)
	if diff := cmp.Diff([]string{"3", "0", "2"}, keys(l)); diff != "" {
		t.Errorf("keys after eviction (-want +got):\n%s", diff)
	}
	if got := len(l.byID); got != 3 {
		t.Errorf("len(byID) = %d, want 3", got)
	}
}

func TestLRUDropsExpiredBeforeEvicting(t *testing.T) {
	l := newLRU(3)
	l.put(k("old"), credsUntil("old", t0.Add(time.Hour)), t0)
	l.put(k("expiring"), credsUntil("expiring", t0.Add(time.Minute)), t0)
	l.put(k("new"), credsUntil("new", t0.Add(time.Hour)), t0)
	later := t0.Add(2 * time.Minute)
	l.put(k("newest"), credsUntil("newest", later.Add(time.Hour)), later)
	if diff := cmp.Diff([]string{"newest", "new", "old"}, keys(l)); diff != "" {
		t.Errorf("keys (-want +got):\n%s", diff)
	}
}

func TestLRUGetDropsExpired(t *testing.T) {
	l := newLRU(3)
	l.put(k("a"), credsUntil("a", t0.Add(time.Minute)), t0)
	if _, ok := l.get(k("a"), t0.Add(time.Minute)); ok {
		t.Errorf("get(a) at expiry = present, want missing")
	}
	if got := l.len(); got != 0 {
		t.Errorf("len() = %d, want 0", got)
	}
}

func TestLRUPutReplaces(t *testing.T) {
	l := newLRU(2)
	l.put(k("a"), credsUntil("a1", t0.Add(time.Hour)), t0)
	if e, _ := l.peek(k("a")); e != nil {
		e.refreshFailed = true
	}
	l.put(k("a"), credsUntil("a2", t0.Add(2*time.Hour)), t0)
	e, ok := l.get(k("a"), t0)
	if !ok {
		t.Fatalf("get(a) = missing, want present")
	}
	if e.creds.AccessKeyID != "a2" || e.refreshFailed {
		t.Errorf("get(a) = %s refreshFailed=%v, want a2 refreshFailed=false", e.creds.AccessKeyID, e.refreshFailed)
	}
	if got := l.len(); got != 1 {
		t.Errorf("len() = %d, want 1", got)
	}
}
