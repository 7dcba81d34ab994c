package chain

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"
)

// keyVersion is hashed first so a change of the key layout never collides
// with keys of an older layout. signerVersion starts the keys of signer
// entries ([Plan.signerKey]) instead, so that no signer key is ever the key
// of a plan.
const (
	keyVersion    = "chain/key/v1"
	signerVersion = "chain/signer/v1"
)

// Key identifies the credentials a plan yields: a SHA-256 over the profile,
// source, identity and every field of every hop. The key hashes the
// ExternalId; treat keys as internal and do not log them.
type Key [sha256.Size]byte

// Key returns the key of p. The web identity token is not part of it, so two
// tokens of one identity share an entry. Every field is length-prefixed, so
// ("ab", "c") and ("a", "bc") differ.
func (p Plan) Key() Key { return p.hashKey(keyVersion, len(p.Hops)) }

// Keyed is a plan with its key. Both are set together by [NewKeyed] and
// cannot be changed apart, so a Keyed's key is always its plan's: a cache
// hit can skip hashing the plan without trusting a key from elsewhere. The
// plan's slices are shared by copies of a Keyed and must not be modified.
//
// A Keyed formats as its profile and hop count only: fmt does not call the
// String methods of unexported fields, so without [Keyed.Format] a %v
// would print the web identity token and the ExternalIds in clear.
type Keyed struct {
	plan Plan
	key  Key
}

// NewKeyed computes p's key. It keeps a deep copy of p, so that the caller
// changing its plan afterwards cannot change the plan under the key.
func NewKeyed(p Plan) Keyed {
	p.Hops = slices.Clone(p.Hops)
	for i := range p.Hops {
		h := &p.Hops[i]
		h.Tags = slices.Clone(h.Tags)
		h.TransitiveTagKeys = slices.Clone(h.TransitiveTagKeys)
		h.PolicyARNs = slices.Clone(h.PolicyARNs)
	}
	return Keyed{plan: p, key: p.Key()}
}

// Format implements fmt.Formatter for every verb: the profile and the
// number of hops, nothing secret.
func (k Keyed) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "chain.Keyed{profile: %q, hops: %d}", k.plan.Profile, len(k.plan.Hops))
}

// Plan returns the plan. Do not modify its slices.
func (k Keyed) Plan() Plan { return k.plan }

// Key returns the plan's key.
func (k Keyed) Key() Key { return k.key }

// WithToken returns k with the caller's web identity token set when the
// plan starts from one ([WebIdentity]); the token is not part of the key.
func (k Keyed) WithToken(token Secret) Keyed {
	if k.plan.Source == WebIdentity {
		k.plan.WebIdentityToken = token
	}
	return k
}

// signerKey is the key of hop n's credentials kept to sign hop n+1 (the
// per-hop cache): the first n hops, hashed under signerVersion. It is never
// the key of a plan, not even of the plan cut to its first n hops, so a
// signer entry, which keeps only what signs a call, is never served as an
// answer. n is clamped to [0, len(Hops)].
func (p Plan) signerKey(n int) Key { return p.hashKey(signerVersion, n) }

// hashKey hashes version and the plan cut to its first n hops. The fields
// are appended to one buffer on the stack (on the heap only for a plan
// larger than it) and hashed once.
func (p Plan) hashKey(version string, n int) Key {
	n = max(0, min(n, len(p.Hops)))
	var buf [512]byte
	b := buf[:0]
	b = appendString(b, version)
	b = appendString(b, p.Profile)
	b = appendInt(b, int64(p.Source))
	b = appendString(b, p.Identity)
	b = appendInt(b, int64(n))
	for _, hop := range p.Hops[:n] {
		b = appendString(b, hop.RoleARN)
		b = appendString(b, hop.SessionName)
		b = appendString(b, hop.ExternalID.Reveal())
		b = appendInt(b, int64(hop.Duration))
		b = appendInt(b, int64(len(hop.Tags)))
		for _, t := range hop.Tags {
			b = appendString(b, t.Key)
			b = appendString(b, t.Value)
		}
		b = appendStrings(b, hop.TransitiveTagKeys)
		b = appendString(b, hop.SourceIdentity)
		b = appendStrings(b, hop.PolicyARNs)
		b = appendString(b, hop.Policy)
	}
	k := Key(sha256.Sum256(b))
	// The buffer held the ExternalId: do not leave it in memory (nor the
	// stack buffer's start, when a large plan moved b to the heap).
	clear(b)
	clear(buf[:])
	return k
}

func appendInt(b []byte, v int64) []byte { return binary.BigEndian.AppendUint64(b, uint64(v)) }

func appendString(b []byte, s string) []byte {
	b = appendInt(b, int64(len(s)))
	return append(b, s...)
}

func appendStrings(b []byte, ss []string) []byte {
	b = appendInt(b, int64(len(ss)))
	for _, s := range ss {
		b = appendString(b, s)
	}
	return b
}
