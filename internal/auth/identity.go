package auth

import (
	"slices"
	"sync/atomic"
	"time"
)

// Identity is a verified caller: the token's signature, issuer, audience and
// lifetime have been checked. Nothing in it comes from an unverified token.
//
// An Identity returned by [Verifier.Verify] is read-only: the verifier keeps
// it for the token's lifetime and returns the same pointer, with the same
// Audience and Payload slices, when the token is presented again, possibly
// to another goroutine. Callers must not modify it, Audience or Payload (the
// map [Identity.Claims] returns is the caller's own). To change something,
// build a new Identity from the fields: a struct copy would share the values
// computed with [Identity.Derive] (go vet's copylocks flags it; Derive
// ignores values computed for another identity all the same).
type Identity struct {
	// Issuer is the configured issuer's name (issuers[].name).
	Issuer string
	// IssuerURL is the token's iss, equal to the configured issuer URL.
	IssuerURL string
	Subject   string
	Audience  []string
	Expiry    time.Time
	// Payload is the whole verified payload, a JSON object, as the token
	// carried it; [Identity.Claims] decodes it.
	//
	// The verifier keeps identities for their tokens' lifetime (10 000 by
	// default), and the claims are needed only when a profile is first
	// prepared for the token, so they are kept as these bytes rather than
	// decoded: a GitHub Actions payload is about 800 bytes, and keeping its
	// decoded map instead costs about 1.6 KB more per token, in dozens of
	// allocations for the garbage collector to trace (BenchmarkVerifiedMemory).
	Payload []byte

	// derived holds what consumers computed from this identity (Derive):
	// an immutable list, replaced whole on each addition. It is short (one
	// entry per profile used with the token, at most maxDerived) and costs
	// no map per identity. The list names its owner, so that a struct copy
	// of an Identity, which copies this pointer, does not inherit values
	// computed for another identity.
	derived atomic.Pointer[derivedList]
}

// Claims decodes Payload with json.Number for numbers, so that IDs and
// timestamps keep their exact digits. Each call decodes anew and returns a
// map that belongs to the caller: 122 allocations and 6.3 KB for a GitHub
// Actions payload of 865 bytes, 20-40 µs on the machine of bench/RESULTS.md.
// The broker pays it when a profile is first prepared for a token (on
// every request for a profile a reload retired, or past 16 profiles per
// token, and after the verification on every request if the verified-token
// cache is disabled) and once per profiles listing. For an identity from
// [Verifier.Verify] it cannot fail: the verifier decoded the same bytes the
// same way before accepting the token.
func (id *Identity) Claims() (map[string]any, error) {
	return decodeClaims(id.Payload)
}

// maxDerived bounds the values kept per identity. Past it, Derive computes
// without storing: a token used with many profiles costs time, not memory.
const maxDerived = 16

type derivedList struct {
	owner *Identity
	vals  []derivedValue
}

type derivedValue struct{ key, value any }

// Derive returns the value stored under key, computing and storing it first
// if there is none. It lets a consumer do work that depends only on the
// identity once per verified token instead of once per request: the verifier
// returns the same *Identity for the same token while its cache holds it,
// and the values go with it. compute must be deterministic and depend only on
// the identity and on what key holds: under a race it may run twice, and one
// result is kept. key must be comparable, of a type private to the consumer
// so that consumers cannot collide. At most maxDerived (16) values are kept;
// past that, compute runs on every call.
func (id *Identity) Derive(key any, compute func() any) any {
	if v, ok := id.lookup(key); ok {
		return v
	}
	v := compute()
	for {
		cur := id.derived.Load()
		var vals []derivedValue
		if cur != nil && cur.owner == id {
			if got, ok := find(cur.vals, key); ok {
				return got
			}
			vals = cur.vals
		}
		if len(vals) >= maxDerived {
			return v
		}
		next := &derivedList{owner: id, vals: append(slices.Clip(vals), derivedValue{key: key, value: v})}
		if id.derived.CompareAndSwap(cur, next) {
			return v
		}
	}
}

func (id *Identity) lookup(key any) (any, bool) {
	if cur := id.derived.Load(); cur != nil && cur.owner == id {
		return find(cur.vals, key)
	}
	return nil, false
}

func find(list []derivedValue, key any) (any, bool) {
	for _, d := range list {
		if d.key == key {
			return d.value, true
		}
	}
	return nil, false
}
