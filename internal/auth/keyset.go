package auth

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// maxJWKSBytes bounds a JWKS or discovery document. Real ones are a few KiB.
const maxJWKSBytes = 1 << 20

var (
	// errRefetchLimited is returned, without any network I/O, for a JWKS
	// fetch inside the refetch interval.
	errRefetchLimited = errors.New("auth: jwks refetch rate limited")
	// errKeysUnavailable marks a JWKS fetch that failed: transport error,
	// non-200 status, oversized or undecodable body.
	errKeysUnavailable = errors.New("auth: issuer keys unavailable")
)

// keySet is the [oidc.KeySet] of one issuer: go-oidc's RemoteKeySet, whose
// cache and kid lookup we keep, with every JWKS fetch going through a gate.
//
// Security: RemoteKeySet refetches the JWKS whenever no cached key verifies
// a token (an unknown kid, or a known kid with a bad signature), with no rate
// limit (wire-facts §7.4), so each forged token would cost the issuer one
// request. Only RemoteKeySet knows whether a call will miss, and every miss
// ends in one HTTP request, so the gate sits on the key set's transport: at
// most one fetch per interval per issuer. A refused fetch fails at once, and
// RemoteKeySet keeps its cached keys on a failed fetch, so tokens with known
// kids keep verifying. A legitimate key rotation is picked up by the first
// token with the new kid after the interval.
type keySet struct {
	remote *oidc.RemoteKeySet
	// checks counts VerifySignature calls: the signature checks of real
	// tokens (the priming token is not counted).
	checks atomic.Uint64
}

// newKeySet returns the key set for jwksURL. Its fetches use client, at
// most one per interval on the clock now. The first fetch is always allowed:
// it is the priming fetch of an initialisation attempt, and those are
// themselves limited to one per interval. Every successful fetch advances
// epochs.
func newKeySet(jwksURL string, client *http.Client, now func() time.Time, interval time.Duration, epochs *keyEpochs) *keySet {
	gated := *client
	gated.Transport = &gatedTransport{
		base:   client.Transport,
		gate:   &intervalGate{now: now, interval: interval},
		epochs: epochs,
	}
	// The context only carries the HTTP client; RemoteKeySet ignores its
	// cancellation and the client's timeout bounds every fetch.
	ctx := oidc.ClientContext(context.Background(), &gated)
	return &keySet{remote: oidc.NewRemoteKeySet(ctx, jwksURL)}
}

// keyNoteKey is the context key of a *keyNote.
type keyNoteKey struct{}

// keyNote carries the outcome of VerifySignature back to Verify, because
// go-oidc flattens the key set's error into a string.
type keyNote struct {
	reason string // "" if the signature verified or the key set was not called
}

// VerifySignature implements [oidc.KeySet].
func (k *keySet) VerifySignature(ctx context.Context, jws string) ([]byte, error) {
	k.checks.Add(1)
	payload, err := k.remote.VerifySignature(ctx, jws)
	if err != nil {
		if note, ok := ctx.Value(keyNoteKey{}).(*keyNote); ok {
			note.reason = keyErrReason(err)
		}
		return nil, err
	}
	return payload, nil
}

// keyErrReason maps a RemoteKeySet error to a token reason. A refused
// refetch means we hold no key for this token: a signature failure, not an
// outage.
func keyErrReason(err error) string {
	switch {
	case errors.Is(err, errRefetchLimited):
		return ReasonSignature
	case errors.Is(err, errKeysUnavailable),
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return ReasonIssuerDown
	default:
		return ReasonSignature
	}
}

// primeToken returns a well-formed JWS that no key verifies. Verifying it on
// an empty RemoteKeySet makes it fetch the JWKS, which is the only way to fill
// its cache before the first real token arrives.
func primeToken() string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256","kid":"broker-prime-no-such-key"}`)) + "." +
		enc([]byte(`{}`)) + "." + enc([]byte("no signature"))
}

// prime fetches the JWKS once, so that the issuer is ready before the first
// token. It returns an error if the fetch failed or was refused.
func (k *keySet) prime(ctx context.Context) error {
	_, err := k.remote.VerifySignature(ctx, primeToken())
	switch {
	case err == nil:
		return errors.New("auth: prime token verified") // no key can verify it
	case errors.Is(err, errRefetchLimited), keyErrReason(err) == ReasonIssuerDown:
		return err
	}
	return nil // the JWKS was fetched; the prime token failed as intended
}

// gatedTransport lets a request through only when its gate allows, and
// turns a failed or oversized JWKS response into errKeysUnavailable. It
// publishes a new key epoch for every JWK set it hands to RemoteKeySet.
type gatedTransport struct {
	base   http.RoundTripper // nil means http.DefaultTransport
	gate   *intervalGate
	epochs *keyEpochs
}

// RoundTrip implements [http.RoundTripper].
func (t *gatedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	// A redirect hop belongs to a fetch the gate already allowed.
	if req.Response == nil && !t.gate.allow() {
		return nil, errRefetchLimited
	}
	base := t.base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := boundedRoundTrip(base, req)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errKeysUnavailable, err)
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 && resp.Header.Get("Location") != "" {
		return resp, nil // the client follows it, within its redirect limit
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: status %d", errKeysUnavailable, resp.StatusCode)
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil || set.Keys == nil {
		return nil, fmt.Errorf("%w: not a JWK set", errKeysUnavailable)
	}
	resp.Body.(*bytesBody).Reset()
	// Security: the issuer's key set may change now; every verified-cache
	// entry of the issuer becomes a miss, so a key removed from the JWKS no
	// longer validates cached tokens (see verifiedCache and
	// keyEpoch.settled). We count every successful fetch, changed or not: a
	// fetch happens only on a key miss, at most once per interval.
	t.epochs.advance(set.Keys)
	return resp, nil
}

// boundedTransport reads each response body whole, up to maxJWKSBytes, so
// that go-oidc's unbounded io.ReadAll of discovery and JWKS documents cannot
// be made to allocate without limit by a misbehaving issuer.
type boundedTransport struct {
	base http.RoundTripper // nil means http.DefaultTransport
}

// RoundTrip implements [http.RoundTripper].
func (t *boundedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.base
	if base == nil {
		base = http.DefaultTransport
	}
	return boundedRoundTrip(base, req)
}

// boundedRoundTrip does req and replaces the response body with an in-memory
// copy of at most maxJWKSBytes.
func boundedRoundTrip(base http.RoundTripper, req *http.Request) (*http.Response, error) {
	resp, err := base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	if len(body) > maxJWKSBytes {
		return nil, fmt.Errorf("body exceeds %d bytes", maxJWKSBytes)
	}
	resp.Body = &bytesBody{data: body, Reader: bytes.NewReader(body)}
	resp.ContentLength = int64(len(body))
	return resp, nil
}

// bytesBody is an in-memory response body that can be rewound.
type bytesBody struct {
	data []byte
	*bytes.Reader
}

func (b *bytesBody) Close() error { return nil }

// Reset rewinds the body to its start.
func (b *bytesBody) Reset() { b.Reader.Reset(b.data) }
