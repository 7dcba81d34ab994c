package auth

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"sync"
	"sync/atomic"
)

// keyEpoch is an issuer's JWKS as of its gen-th successful fetch, and as of
// the fetch before, summarised by kid. It never changes once published.
type keyEpoch struct {
	gen  uint64
	cur  map[string]digest // kid → digest of that kid's JWKs; "" → every JWK
	prev map[string]digest
}

// settled reports whether a token with this kid, verified by go-oidc while
// e was the published epoch, was verified against e's keys for that kid.
//
// Security: the gated transport publishes an epoch when it hands a JWKS to
// go-oidc's RemoteKeySet, but RemoteKeySet installs the keys a moment later,
// in its own goroutine, and we cannot observe when. Until then it still
// verifies with the previous fetch's keys (never older: a fetch starts only
// after the previous one is installed). So a verification under epoch gen
// used the keys of fetch gen or of fetch gen-1. That is the same thing for
// this kid when the kid's keys are new in this fetch (then the token could
// only have verified with them) or unchanged from the fetch before. If they
// changed, or the kid is gone (retired), it is not settled and the token must
// not be cached: otherwise a token verified by a retired key in that moment
// would outlive the key's removal. RemoteKeySet matches a token's kid
// exactly, and a token without kid against every key.
func (e *keyEpoch) settled(kid string) bool {
	now, ok := e.cur[kid]
	if !ok {
		return false
	}
	before, had := e.prev[kid]
	return !had || before == now
}

// keyEpochs is the current epoch of one issuer.
type keyEpochs struct {
	mu  sync.Mutex // serialises advance
	cur atomic.Pointer[keyEpoch]
}

func newKeyEpochs() *keyEpochs {
	e := &keyEpochs{}
	e.cur.Store(&keyEpoch{})
	return e
}

// load returns the current epoch, never nil.
func (e *keyEpochs) load() *keyEpoch { return e.cur.Load() }

// advance publishes the epoch of a successfully fetched JWKS.
func (e *keyEpochs) advance(keys []json.RawMessage) {
	byKid := map[string][]json.RawMessage{}
	for _, k := range keys {
		var meta struct {
			Kid string `json:"kid"`
		}
		// A key that does not decode is one go-oidc cannot use either; it
		// still counts in the "" digest, so any change to the set shows.
		_ = json.Unmarshal(k, &meta)
		if meta.Kid != "" {
			byKid[meta.Kid] = append(byKid[meta.Kid], k)
		}
	}
	cur := make(map[string]digest, len(byKid)+1)
	for kid, ks := range byKid {
		cur[kid] = digestKeys(ks)
	}
	cur[""] = digestKeys(keys)

	e.mu.Lock()
	defer e.mu.Unlock()
	old := e.cur.Load()
	e.cur.Store(&keyEpoch{gen: old.gen + 1, cur: cur, prev: old.cur})
}

// digestKeys hashes raw JWKs in order, each prefixed by its length.
func digestKeys(keys []json.RawMessage) digest {
	h := sha256.New()
	var n [8]byte
	for _, k := range keys {
		binary.BigEndian.PutUint64(n[:], uint64(len(k)))
		h.Write(n[:])
		h.Write(k)
	}
	var d digest
	h.Sum(d[:0])
	return d
}
