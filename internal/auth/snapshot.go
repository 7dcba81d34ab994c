package auth

import (
	"crypto"
	"slices"

	jose "github.com/go-jose/go-jose/v4"
)

// verifyKey is one usable key of a JWKS.
type verifyKey struct {
	kid string
	alg string           // "" if the JWK names no algorithm
	pub crypto.PublicKey // *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey
	id  string           // kid, alg and RFC 7638 thumbprint: equal ids verify the same tokens
}

// keySnapshot is the key set of an issuer between two changes. It never
// changes once published.
type keySnapshot struct {
	gen  uint64      // number of changes before this one
	keys []verifyKey // in JWKS order
	ids  []string    // the keys' ids, sorted
}

func newKeySnapshot(keys []verifyKey) *keySnapshot {
	s := &keySnapshot{keys: keys}
	for _, k := range keys {
		s.ids = append(s.ids, k.id)
	}
	slices.Sort(s.ids)
	return s
}

// sameKeys reports whether s and o accept the same tokens: the same keys,
// each with the same kid and algorithm, in any order.
func (s *keySnapshot) sameKeys(o *keySnapshot) bool {
	return slices.Equal(s.ids, o.ids)
}

// verify returns the payload of jws if a key verifies it.
//
// Security: a token's kid selects the keys with exactly that kid; a token
// without kid is tried against every key, as go-oidc does. A key whose JWK
// names an algorithm verifies only tokens of that algorithm (RFC 8725 §3.1:
// one key, one algorithm), so an RS256 key cannot be used under PS256. The
// token's algorithm was already checked against the issuer's allow-list.
func (s *keySnapshot) verify(jws *jose.JSONWebSignature) ([]byte, bool) {
	h := jws.Signatures[0].Header
	for _, k := range s.keys {
		if h.KeyID != "" && k.kid != h.KeyID {
			continue
		}
		if k.alg != "" && k.alg != h.Algorithm {
			continue
		}
		if payload, err := jws.Verify(k.pub); err == nil {
			return payload, true
		}
	}
	return nil, false
}

// kids lists the key IDs, for the log. Key IDs are public.
func (s *keySnapshot) kids() []string {
	kids := make([]string, 0, len(s.keys))
	for _, k := range s.keys {
		kids = append(kids, k.kid)
	}
	return kids
}
