package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"go.uber.org/zap"
	"golang.org/x/sync/singleflight"
)

var (
	// errRefetchLimited is returned, without any network I/O, when no key
	// verifies a token and the JWKS was fetched less than an interval ago.
	errRefetchLimited = errors.New("auth: jwks refetch rate limited")
	// errKeysUnavailable marks a JWKS fetch that failed: transport error,
	// redirect refused, non-200 status, oversized or undecodable body.
	errKeysUnavailable = errors.New("auth: issuer keys unavailable")
	// errNoKey is returned when no key of the current JWKS verifies a token.
	errNoKey = errors.New("auth: no key verifies the token")
)

// keySet is the [oidc.KeySet] of one issuer: the usable keys of its JWKS,
// refetched on a miss at most once per interval.
//
// Security: go-oidc's RemoteKeySet refetches the JWKS whenever no cached key
// verifies a token, with no rate limit (wire-facts §7.4), so each forged
// token (an unknown kid, or a known kid with a bad signature) would cost the
// issuer one request. Here a miss refetches at most once per interval per
// issuer, and a refused refetch fails at once with no network I/O; the
// current keys stay installed, so tokens with known kids keep verifying. A
// legitimate rotation is picked up by the first token with the new kid after
// the interval.
//
// Fetching and installing are one step under mu, so when a refetch returns,
// its keys are the current ones and the next refetch may start. Readers never
// take mu: they load the current snapshot.
type keySet struct {
	url      string
	client   *http.Client
	algs     []jose.SignatureAlgorithm // the issuer's pinned algorithms
	timeout  time.Duration             // bounds one fetch
	gate     *intervalGate             // at most one fetch per interval, on a miss; its clock is k's
	log      *zap.Logger
	flight   singleflight.Group // concurrent misses share one refetch
	snapshot atomic.Pointer[keySnapshot]
	checks   atomic.Uint64 // VerifySignature calls, for tests and benchmarks

	mu      sync.Mutex // serialises fetch-and-install
	fetched time.Time  // when the installed keys were last fetched (now); guarded by mu
}

// newKeySet returns the key set of jwksURL, with no keys yet: [keySet.fetch]
// must succeed once before it is used. algs is the issuer's allow-list.
func newKeySet(jwksURL string, client *http.Client, now func() time.Time, interval time.Duration, algs []string, log *zap.Logger) *keySet {
	k := &keySet{
		url:     jwksURL,
		client:  client,
		timeout: client.Timeout,
		gate:    &intervalGate{now: now, interval: interval},
		log:     log,
	}
	if k.timeout <= 0 {
		k.timeout = DefaultHTTPTimeout
	}
	for _, a := range algs {
		k.algs = append(k.algs, jose.SignatureAlgorithm(a))
	}
	k.snapshot.Store(&keySnapshot{})
	return k
}

// generation is the number of times the content of the key set changed. A
// token verified while it stayed the same was verified by the keys that are
// still installed.
func (k *keySet) generation() uint64 { return k.snapshot.Load().gen }

// fetch fetches the JWKS, within k.timeout, and installs its keys, if the
// interval allows: the first fetch of a key set always is (initialisation
// attempts are limited to one per interval by the issuer). It returns the
// installed snapshot.
//
// Every fetch, failed or not, counts towards the interval: an issuer that is
// down gets one request per interval, not one per token. seen is the
// snapshot the caller found lacking (nil for the first fetch): if another
// fetch (a scheduled refresh) installed new keys meanwhile, they are
// returned without a fetch.
func (k *keySet) fetch(ctx context.Context, seen *keySnapshot) (*keySnapshot, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if cur := k.snapshot.Load(); seen != nil && cur != seen {
		return cur, nil
	}
	if !k.gate.allow() {
		return nil, errRefetchLimited
	}
	return k.fetchLocked(ctx)
}

// refresh fetches the JWKS if the installed keys were fetched maxAge ago or
// more (on k's clock), and returns how long until they are due again; a
// failed fetch returns its error (the keys are still due). It
// does not count towards the interval of [keySet.fetch]: a rotation that
// comes right after a scheduled refresh is still picked up by the first
// token with the new kid. Several callers (the verifiers before and after a
// reload share a key set) fetch once: the age is checked under mu.
func (k *keySet) refresh(ctx context.Context, maxAge time.Duration) (time.Duration, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if age := k.gate.now().Sub(k.fetched); age < maxAge {
		return maxAge - age, nil
	}
	if _, err := k.fetchLocked(ctx); err != nil {
		return 0, err
	}
	return maxAge, nil
}

// fetchLocked fetches and installs the JWKS; the caller holds mu.
func (k *keySet) fetchLocked(ctx context.Context) (*keySnapshot, error) {
	ctx, cancel := context.WithTimeout(ctx, k.timeout)
	defer cancel()
	keys, skipped, err := fetchJWKS(ctx, k.client, k.url)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errKeysUnavailable, err)
	}
	k.fetched = k.gate.now()
	if len(keys) == 0 {
		// Installed all the same (a withdrawn key must stop verifying),
		// but every token of this issuer is refused now: say so, or
		// /readyz is green while every request gets 401.
		k.log.Warn("issuer publishes no usable keys: every token of this issuer is refused", zap.Int("skipped_keys", skipped))
	}
	cur := k.snapshot.Load()
	next := newKeySnapshot(keys)
	// Security: the generation moves only when the usable keys change, so
	// that the verified-token cache is invalidated by a rotation (a retired
	// key stops validating cached tokens from this instant on) but not by a
	// flood of unknown kids that refetches an unchanged JWKS.
	if next.sameKeys(cur) {
		return cur, nil
	}
	next.gen = cur.gen + 1
	k.snapshot.Store(next)
	k.log.Info("issuer keys installed", zap.Strings("kids", next.kids()), zap.Int("skipped_keys", skipped))
	return next, nil
}

// keyNoteKey is the context key of a *keyNote.
type keyNoteKey struct{}

// keyNote carries why VerifySignature failed back to Verify: go-oidc
// flattens the key set's error into a string with %v (oidc/verify.go,
// verifyJWT), so errors.Is cannot see through it.
type keyNote struct {
	err error // nil if the key set verified the token or was not called
}

// VerifySignature implements [oidc.KeySet]. go-oidc has already parsed raw
// with the same algorithms and checked it has exactly one signature.
func (k *keySet) VerifySignature(ctx context.Context, raw string) ([]byte, error) {
	k.checks.Add(1)
	payload, err := k.verify(ctx, raw)
	if err != nil {
		if note, ok := ctx.Value(keyNoteKey{}).(*keyNote); ok {
			note.err = err
		}
		return nil, err
	}
	return payload, nil
}

func (k *keySet) verify(ctx context.Context, raw string) ([]byte, error) {
	// Verify accepts only the compact serialization (parseUnverified).
	jws, err := jose.ParseSignedCompact(raw, k.algs)
	if err != nil {
		return nil, fmt.Errorf("auth: parse jws: %w", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, errors.New("auth: jws must have exactly one signature")
	}
	snap := k.snapshot.Load()
	if payload, ok := snap.verify(jws); ok {
		return payload, nil
	}
	snap, err = k.refetch(ctx, snap)
	if err != nil {
		return nil, err
	}
	if payload, ok := snap.verify(jws); ok {
		return payload, nil
	}
	return nil, errNoKey
}

// refetch returns the keys to retry a miss with: the current ones if they
// changed since seen was loaded, else those of a new fetch, shared with
// every concurrent miss.
func (k *keySet) refetch(ctx context.Context, seen *keySnapshot) (*keySnapshot, error) {
	if cur := k.snapshot.Load(); cur != seen {
		return cur, nil
	}
	// A cheap early refusal: a flood of forged tokens inside the interval
	// starts no flight. fetch checks the gate again, atomically with the
	// fetch.
	if !k.gate.wouldAllow() {
		return nil, errRefetchLimited
	}
	// The flight's goroutine is owned by k.flight and ends with the fetch,
	// which k.timeout bounds; a caller whose ctx ends stops waiting for it.
	// The fetch ignores the caller's cancellation, as it is shared.
	ch := k.flight.DoChan("jwks", func() (any, error) {
		return k.fetch(context.WithoutCancel(ctx), seen)
	})
	select {
	case r := <-ch:
		if r.Err == nil {
			return r.Val.(*keySnapshot), nil
		}
		// The flight may be another caller's, started from other keys
		// than ours: if the keys changed since ours were loaded (a fetch
		// that ended meanwhile), retry with them.
		if cur := k.snapshot.Load(); cur != seen {
			return cur, nil
		}
		return nil, r.Err
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %w", errKeysUnavailable, ctx.Err())
	}
}

// keyErrReason maps a key set error to a token reason. A refused refetch
// means we hold no key for this token: a signature failure, not an outage.
func keyErrReason(err error) string {
	switch {
	case errors.Is(err, errKeysUnavailable):
		return ReasonIssuerDown
	case errors.Is(err, errRefetchLimited), errors.Is(err, errNoKey):
		return ReasonSignature
	default:
		return ReasonMalformed
	}
}
