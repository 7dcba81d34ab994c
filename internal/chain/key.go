package chain

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
)

// keyVersion is hashed first so a change of the key layout never collides
// with keys of an older layout.
const keyVersion = "chain/key/v1"

// Key identifies the credentials a plan yields: a SHA-256 over the profile,
// source, identity and every field of every hop. The web identity token is
// not part of it, so two tokens of one identity share an entry. Every field
// is length-prefixed, so ("ab", "c") and ("a", "bc") differ. The key hashes
// the ExternalId; treat keys as internal and do not log them.
func (p Plan) Key() string { return p.PrefixKey(len(p.Hops)) }

// PrefixKey is the key of the plan cut to its first n hops: the credentials
// of hop n, which the per-hop cache reuses to sign hop n+1. PrefixKey of
// len(Hops) equals [Plan.Key]. n is clamped to [0, len(Hops)].
func (p Plan) PrefixKey(n int) string {
	n = max(0, min(n, len(p.Hops)))
	h := sha256.New()
	writeString(h, keyVersion)
	writeString(h, p.Profile)
	writeInt(h, int64(p.Source))
	writeString(h, p.Identity)
	writeInt(h, int64(n))
	for _, hop := range p.Hops[:n] {
		writeString(h, hop.RoleARN)
		writeString(h, hop.SessionName)
		writeString(h, hop.ExternalID.Reveal())
		writeInt(h, int64(hop.Duration))
		writeInt(h, int64(len(hop.Tags)))
		for _, t := range hop.Tags {
			writeString(h, t.Key)
			writeString(h, t.Value)
		}
		writeStrings(h, hop.TransitiveTagKeys)
		writeString(h, hop.SourceIdentity)
		writeStrings(h, hop.PolicyARNs)
		writeString(h, hop.Policy)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func writeInt(h hash.Hash, v int64) {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(v))
	h.Write(b[:])
}

func writeString(h hash.Hash, s string) {
	writeInt(h, int64(len(s)))
	h.Write([]byte(s))
}

func writeStrings(h hash.Hash, ss []string) {
	writeInt(h, int64(len(ss)))
	for _, s := range ss {
		writeString(h, s)
	}
}
