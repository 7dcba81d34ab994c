package chain

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
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
	for e := l.root.older; e != &l.root; e = e.older {
		out = append(out, strings.TrimRight(string(e.key[:]), "\x00"))
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

// TestLRUSweepsExpiredOnPut: a store far from full still drops expired
// entries, all of them, on the first put of each sweepEvery, however they
// are ordered: a 12-hour signer at the least recently used end does not
// shield the 1-minute entries behind it.
func TestLRUSweepsExpiredOnPut(t *testing.T) {
	l := newLRU(100)
	l.put(k("signer"), credsUntil("signer", t0.Add(12*time.Hour)), t0) // the first put sweeps
	for i := range 10 {
		name := fmt.Sprint("old", i)
		l.put(k(name), credsUntil(name, t0.Add(time.Minute)), t0)
	}
	later := t0.Add(2 * time.Minute)
	l.put(k("new"), credsUntil("new", later.Add(10*time.Second)), later)
	if diff := cmp.Diff([]string{"new", "signer"}, keys(l)); diff != "" {
		t.Errorf("keys after a put past sweepEvery (-want +got):\n%s", diff)
	}
	// Within sweepEvery of that sweep, a put drops nothing ("new" has
	// expired); the first put after it does.
	l.put(k("x"), credsUntil("x", later.Add(time.Hour)), later.Add(sweepEvery/2))
	if diff := cmp.Diff([]string{"x", "new", "signer"}, keys(l)); diff != "" {
		t.Errorf("keys within sweepEvery (-want +got):\n%s", diff)
	}
	l.put(k("y"), credsUntil("y", later.Add(time.Hour)), later.Add(sweepEvery))
	if diff := cmp.Diff([]string{"y", "x", "signer"}, keys(l)); diff != "" {
		t.Errorf("keys a sweepEvery later (-want +got):\n%s", diff)
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
		e.failRefresh(t0.Add(time.Minute))
	}
	l.put(k("a"), credsUntil("a2", t0.Add(2*time.Hour)), t0)
	e, ok := l.get(k("a"), t0)
	if !ok {
		t.Fatalf("get(a) = missing, want present")
	}
	if e.credentials().AccessKeyID != "a2" || e.refreshFailed() {
		t.Errorf("get(a) = %s refreshFailed=%v, want a2 refreshFailed=false", e.credentials().AccessKeyID, e.refreshFailed())
	}
	if got := l.len(); got != 1 {
		t.Errorf("len() = %d, want 1", got)
	}
}

func TestEntryKeepsCredentials(t *testing.T) {
	tests := []struct {
		name  string
		creds Credentials
	}{
		{name: "from-sts", creds: Credentials{
			AccessKeyID:     "ASIAEXAMPLE000000001",
			SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
			SessionToken:    Secret("IQoJb3JpZ2luX2VjE" + strings.Repeat("Zx9/+", 80)),
			Expiration:      t0.Add(time.Hour),
			AccountID:       "111122223333",
			AssumedRoleARN:  "arn:aws:sts::111122223333:assumed-role/deploy/gha-myorg-app",
			RoleARN:         "arn:aws:iam::111122223333:role/deploy",
			SourceIdentity:  "alice",
		}},
		{name: "account-not-in-arn", creds: Credentials{
			AccessKeyID: "ASIA", AccountID: "999999999999", AssumedRoleARN: "arn:aws:sts::111122223333:assumed-role/r/s",
		}},
		{name: "only-required", creds: credsUntil("only-required", t0.Add(time.Minute))},
		{name: "non-ascii-and-long", creds: Credentials{AccessKeyID: "é", SessionToken: Secret(strings.Repeat("t", 70000)), AccountID: "x", SourceIdentity: "ß"}},
		{name: "zero", creds: Credentials{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEntry(k("a"), tt.creds)
			if diff := cmp.Diff(tt.creds, e.credentials()); diff != "" {
				t.Errorf("newEntry(c).credentials() (-want +got):\n%s", diff)
			}
			if !e.expiration.Equal(tt.creds.Expiration) || e.key != k("a") {
				t.Errorf("entry expiration, key = %s, %q, want %s, %q", e.expiration, e.key, tt.creds.Expiration, k("a"))
			}
		})
	}
}

// TestLRUMatchesModel drives the store and a plain slice model with the
// same random operations and compares the order after each, walking the
// list both ways.
func TestLRUMatchesModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const max = 5
	l := newLRU(max)
	type item struct {
		name string
		exp  time.Time
	}
	var model []item // most recently used first
	find := func(name string) int {
		return slices.IndexFunc(model, func(it item) bool { return it.name == name })
	}
	now := t0
	var lastSweep time.Time
	for step := range 5000 {
		name := fmt.Sprint(rng.IntN(8))
		switch op := rng.IntN(4); op {
		case 0, 1: // put
			exp := now.Add(time.Duration(1+rng.IntN(10)) * time.Minute)
			l.put(k(name), credsUntil(name, exp), now)
			if i := find(name); i >= 0 {
				model = slices.Delete(model, i, i+1)
			}
			model = slices.Insert(model, 0, item{name, exp})
			// Once per sweepEvery every expired entry goes; over the
			// bound, the expired among the expiredScan least recently
			// used go, then the least recently used.
			drop := func(scan int) {
				for n, i := len(model), len(model)-1; i >= 0 && i >= n-scan; i-- {
					if !model[i].exp.After(now) {
						model = slices.Delete(model, i, i+1)
					}
				}
			}
			if since := now.Sub(lastSweep); since >= sweepEvery || since < 0 {
				lastSweep = now
				drop(len(model))
			}
			if len(model) > max {
				drop(expiredScan)
			}
			model = model[:min(len(model), max)]
		case 2: // get
			e, ok := l.get(k(name), now)
			i := find(name)
			switch {
			case i < 0:
				if ok {
					t.Fatalf("step %d: get(%s) = present, want missing", step, name)
				}
			case !model[i].exp.After(now):
				model = slices.Delete(model, i, i+1)
				if ok {
					t.Fatalf("step %d: get(%s) of an expired entry = present", step, name)
				}
			default:
				it := model[i]
				model = slices.Insert(slices.Delete(model, i, i+1), 0, it)
				if !ok || e.credentials().AccessKeyID != name {
					t.Fatalf("step %d: get(%s) = %v, %v, want its entry", step, name, e, ok)
				}
			}
		case 3: // remove
			l.remove(k(name))
			if i := find(name); i >= 0 {
				model = slices.Delete(model, i, i+1)
			}
		}
		if rng.IntN(3) == 0 {
			now = now.Add(time.Minute)
		}
		want := make([]string, len(model))
		for i, it := range model {
			want[i] = it.name
		}
		if diff := cmp.Diff(want, keys(l), cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("step %d: keys (-want +got):\n%s", step, diff)
		}
		var back []string
		for e := l.root.newer; e != &l.root; e = e.newer {
			back = append([]string{strings.TrimRight(string(e.key[:]), "\x00")}, back...)
		}
		if diff := cmp.Diff(want, back, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("step %d: keys walked from the back (-want +got):\n%s", step, diff)
		}
		if l.len() != len(want) || len(l.byID) != len(want) {
			t.Fatalf("step %d: len() = %d, len(byID) = %d, want %d", step, l.len(), len(l.byID), len(want))
		}
	}
}

// BenchmarkLRUMemory reports the heap an entry costs, map slot and strings
// included, with credentials shaped like STS's (each string its own
// allocation, as the SDK returns them; the entry keeps what it needs): an
// answer, and a hop's signer (Credentials.signer), as the per-hop cache
// keeps it.
func BenchmarkLRUMemory(b *testing.B) {
	for _, kind := range []string{"answer", "signer"} {
		b.Run(kind, func(b *testing.B) { benchmarkLRUMemory(b, kind == "signer") })
	}
}

func benchmarkLRUMemory(b *testing.B, signer bool) {
	const n = 20000
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	var perEntry float64
	for b.Loop() {
		b.StopTimer()
		before := heap()
		creds := make([]Credentials, n)
		for i := range creds {
			arn := fmt.Sprintf("arn:aws:sts::111122223333:assumed-role/deploy/gha-myorg-app-%06d-%d", i, 1000000000+i)
			creds[i] = Credentials{
				AccessKeyID:     fmt.Sprintf("ASIA%016d", i),
				SecretAccessKey: Secret(fmt.Sprintf("%040d", i)),
				SessionToken:    Secret(fmt.Sprintf("IQoJb3JpZ2luX2VjE%0356d", i)),
				Expiration:      t0.Add(time.Hour),
				AssumedRoleARN:  arn,
				AccountID:       arn[13:25],
				RoleARN:         "arn:aws:iam::111122223333:role/deploy",
			}
			if signer {
				creds[i] = creds[i].signer()
			}
		}
		b.StartTimer()
		l := newLRU(n)
		for i, c := range creds {
			var key Key
			binary.BigEndian.PutUint64(key[:], uint64(i))
			l.put(key, c, t0)
		}
		b.StopTimer()
		creds = nil
		after := heap()
		perEntry = float64(after) - float64(before)
		runtime.KeepAlive(l)
		b.StartTimer()
	}
	b.ReportMetric(perEntry/n, "B/entry")
}

// TestEntrySize keeps the entry in its 128-byte size class: a field more
// costs 16 bytes per entry, 32 per cached identity.
func TestEntrySize(t *testing.T) {
	if got := unsafe.Sizeof(entry{}); got > 128 {
		t.Errorf("unsafe.Sizeof(entry{}) = %d, want at most 128", got)
	}
}
