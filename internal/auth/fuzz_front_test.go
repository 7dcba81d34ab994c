package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
)

// fuzzIssuerURL is the iss the fuzz verifier trusts. It is fixed, not the
// test issuer's random port, so that signed tokens kept in the seed corpus
// stay valid from run to run; the keys come from the test issuer's JWKS URL,
// so nothing is ever fetched from this URL.
const fuzzIssuerURL = "https://issuer.fuzz.invalid"

// fuzzKeyHex is a fixed P-256 private key (the example key of RFC 6979
// A.2.5), for the same reason. It signs test tokens and nothing else.
const fuzzKeyHex = "c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721"

const fuzzKid = "fuzz-es256"

// fuzzNow is the fuzz verifier's fixed clock (the test clock's time).
var fuzzNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// knownReasons are the reasons a *TokenError may carry.
var knownReasons = map[string]bool{
	ReasonMissing: true, ReasonMalformed: true, ReasonTooLarge: true, ReasonUnknownIssuer: true,
	ReasonAlgorithm: true, ReasonSignature: true, ReasonExpired: true, ReasonNotYetValid: true,
	ReasonAudience: true, ReasonIssuerDown: true, ReasonNoSubject: true,
}

// fuzzSigner signs ES256 tokens with the fixed key and remembers every
// signing input (header.payload) it signed: a token whose signing input is
// not among them was never signed, whatever its signature segment says.
type fuzzSigner struct {
	priv   *ecdsa.PrivateKey
	signed map[string]bool
}

func newFuzzSigner(tb testing.TB) *fuzzSigner {
	tb.Helper()
	raw, err := hex.DecodeString(fuzzKeyHex)
	if err != nil {
		tb.Fatalf("hex.DecodeString() error = %v", err)
	}
	priv, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), raw)
	if err != nil {
		tb.Fatalf("ecdsa.ParseRawPrivateKey() error = %v", err)
	}
	return &fuzzSigner{priv: priv, signed: map[string]bool{}}
}

// sign returns the compact JWS of header and claims signed with the key.
func (s *fuzzSigner) sign(tb testing.TB, header, claims map[string]any) string {
	tb.Helper()
	input := fuzzSegment(tb, header) + "." + fuzzSegment(tb, claims)
	sum := sha256.Sum256([]byte(input))
	r, ss, err := ecdsa.Sign(rand.Reader, s.priv, sum[:])
	if err != nil {
		tb.Fatalf("ecdsa.Sign() error = %v", err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	ss.FillBytes(sig[32:])
	s.signed[input] = true
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// genuine reports whether raw is a token this signer signed: its signing
// input is one the signer signed, and its signature verifies under the
// signer's public key, checked here with crypto/ecdsa, not go-jose.
func (s *fuzzSigner) genuine(raw string) bool {
	i := strings.LastIndexByte(raw, '.')
	if i < 0 || !s.signed[raw[:i]] {
		return false
	}
	sig, err := base64.RawURLEncoding.DecodeString(raw[i+1:])
	if err != nil || len(sig) != 64 {
		return false
	}
	sum := sha256.Sum256([]byte(raw[:i]))
	r, ss := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	return ecdsa.Verify(&s.priv.PublicKey, sum[:], r, ss)
}

func fuzzSegment(tb testing.TB, v any) string {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatalf("json.Marshal() error = %v", err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// fuzzClaims are valid claims for the fuzz issuer at fuzzNow.
func fuzzClaims() map[string]any {
	return map[string]any{
		"iss": fuzzIssuerURL, "sub": testSubject, "aud": testAudience,
		"iat": fuzzNow.Unix(), "nbf": fuzzNow.Add(-time.Minute).Unix(), "exp": fuzzNow.Add(5 * time.Minute).Unix(),
		"repository_owner": "myorg",
	}
}

// onlyTransport lets through requests to one URL and refuses, without any
// network I/O, and records every other request.
type onlyTransport struct {
	allow string
	base  http.RoundTripper

	mu      sync.Mutex
	refused []string
}

func (o *onlyTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if u := req.URL.String(); u != o.allow {
		o.mu.Lock()
		o.refused = append(o.refused, u)
		o.mu.Unlock()
		return nil, fmt.Errorf("fuzz: request to %s refused", u)
	}
	return o.base.RoundTrip(req)
}

func (o *onlyTransport) refusedURLs() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.refused...)
}

// FuzzVerifyFrontEnd feeds arbitrary strings to Verify of a verifier that
// trusts one issuer, whose keys (one ES256 key) come from a real JWKS
// endpoint on loopback. Verify never panics; every error is a *TokenError
// with a known reason; it accepts only tokens the test signed with the
// issuer's key (an independent crypto/ecdsa check); and no input makes it
// send a request anywhere but the configured JWKS URL: not to a second,
// unconfigured issuer on loopback, not to the iss of the token.
func FuzzVerifyFrontEnd(f *testing.F) {
	signer := newFuzzSigner(f)
	key := testKey{kid: fuzzKid, alg: "ES256", priv: signer.priv}
	keys := newTestIssuer(f, key)
	stranger := newTestIssuer(f, key) // same key, never configured
	transport := &onlyTransport{allow: keys.URL + "/keys", base: http.DefaultTransport.(*http.Transport).Clone()}
	f.Cleanup(transport.base.(*http.Transport).CloseIdleConnections)
	v, err := New(context.Background(), Config{
		Issuers: []IssuerConfig{{Name: "fuzz", URL: fuzzIssuerURL, JWKSURL: keys.URL + "/keys", Audiences: []string{testAudience}}},
		Now:     func() time.Time { return fuzzNow },
		// The clock is fixed, so no refetch is ever allowed after the first fetch.
		HTTPClient: &http.Client{Transport: transport, Timeout: 5 * time.Second},
		Log:        zap.NewNop(),
	})
	if err != nil {
		f.Fatalf("New() error = %v", err)
	}
	if !v.Ready() {
		f.Fatalf("Ready() = false, want true")
	}

	es := map[string]any{"alg": "ES256", "kid": fuzzKid}
	with := func(k string, val any) map[string]any {
		c := fuzzClaims()
		if val == nil {
			delete(c, k)
		} else {
			c[k] = val
		}
		return c
	}
	valid := signer.sign(f, es, fuzzClaims())
	h, p, _ := strings.Cut(valid, ".")
	p, sig, _ := strings.Cut(p, ".")
	enc := base64.RawURLEncoding.EncodeToString
	tests := []struct {
		name string
		in   string
		want string // the reason; "" means accepted
	}{
		{name: "valid", in: valid, want: ""},
		{name: "valid-padded", in: valid + "=", want: ReasonMalformed},
		{name: "valid-leading-space", in: " " + valid, want: ReasonMalformed},
		{name: "valid-trailing-newline", in: valid + "\n", want: ReasonMalformed},
		{name: "valid-no-kid", in: signer.sign(f, map[string]any{"alg": "ES256"}, fuzzClaims()), want: ""},
		{name: "expired", in: signer.sign(f, es, with("exp", fuzzNow.Add(-time.Hour).Unix())), want: ReasonExpired},
		{name: "no-exp", in: signer.sign(f, es, with("exp", nil)), want: ReasonExpired},
		{name: "not-yet-valid", in: signer.sign(f, es, with("nbf", fuzzNow.Add(time.Hour).Unix())), want: ReasonNotYetValid},
		{name: "iat-in-future", in: signer.sign(f, es, with("iat", fuzzNow.Add(time.Hour).Unix())), want: ReasonNotYetValid},
		{name: "wrong-audience", in: signer.sign(f, es, with("aud", "someone-else")), want: ReasonAudience},
		{name: "audience-list", in: signer.sign(f, es, with("aud", []string{"x", testAudience})), want: ""},
		{name: "stranger-issuer", in: signer.sign(f, es, with("iss", stranger.URL)), want: ReasonUnknownIssuer},
		{name: "keys-host-as-issuer", in: signer.sign(f, es, with("iss", keys.URL)), want: ReasonUnknownIssuer},
		{name: "issuer-trailing-slash", in: signer.sign(f, es, with("iss", fuzzIssuerURL+"/")), want: ReasonUnknownIssuer},
		{name: "unknown-kid", in: signer.sign(f, map[string]any{"alg": "ES256", "kid": "nope"}, fuzzClaims()), want: ReasonSignature},
		{name: "rs256-header", in: signer.sign(f, map[string]any{"alg": "RS256", "kid": fuzzKid}, fuzzClaims()), want: ReasonSignature},
		{name: "alg-none", in: enc([]byte(`{"alg":"none"}`)) + "." + p + ".", want: ReasonAlgorithm},
		{name: "hs256", in: enc([]byte(`{"alg":"HS256","kid":"`+fuzzKid+`"}`)) + "." + p + "." + sig, want: ReasonAlgorithm},
		{name: "jku-header", in: signer.sign(f, map[string]any{"alg": "ES256", "kid": "x", "jku": stranger.URL + "/keys"}, fuzzClaims()), want: ReasonSignature},
		{name: "sub-case-variant", in: signer.sign(f, es, with("Sub", "repo:evil/x:ref:refs/heads/main")), want: ReasonMalformed},
		{name: "signature-swapped", in: h + "." + fuzzSegment(f, with("sub", "repo:evil/x:ref:refs/heads/main")) + "." + sig, want: ReasonSignature},
		// Whole base64 groups: canonical, so it reaches the signature check.
		{name: "signature-truncated", in: h + "." + p + "." + sig[:len(sig)/4*4-4], want: ReasonSignature},
		// One token, other spellings: non-zero unused bits in a segment's
		// last character decode to the same bytes leniently.
		{name: "signature-noncanonical", in: h + "." + p + "." + flipUnusedBit(f, sig), want: ReasonMalformed},
		{name: "header-noncanonical", in: flipUnusedBit(f, h) + "." + p + "." + sig, want: ReasonMalformed},
		{name: "payload-noncanonical", in: h + "." + flipUnusedBit(f, p) + "." + sig, want: ReasonMalformed},
		{name: "crit-header", in: signer.sign(f, map[string]any{"alg": "ES256", "kid": fuzzKid, "crit": []string{"exp"}, "exp": 1}, fuzzClaims()), want: ReasonMalformed},
		{name: "crit-empty", in: signer.sign(f, map[string]any{"alg": "ES256", "kid": fuzzKid, "crit": []string{}}, fuzzClaims()), want: ""},
		{name: "signature-empty", in: h + "." + p + ".", want: ReasonSignature},
		{name: "two-segments", in: h + "." + p, want: ReasonMalformed},
		{name: "four-segments", in: valid + "." + sig, want: ReasonMalformed},
		{name: "json-serialization", in: `{"payload":"` + p + `","protected":"` + h + `","signature":"` + sig + `"}`, want: ReasonMalformed},
		{name: "many-dots", in: strings.Repeat(".", 4096), want: ReasonMalformed},
		{name: "empty", in: "", want: ReasonMissing},
		{name: "dots", in: "..", want: ReasonMalformed},
		{name: "header-not-json", in: enc([]byte("not json")) + "." + p + "." + sig, want: ReasonMalformed},
		{name: "payload-array", in: h + "." + enc([]byte(`[1,2]`)) + "." + sig, want: ReasonMalformed},
		{name: "iss-number", in: h + "." + enc([]byte(`{"iss":7}`)) + "." + sig, want: ReasonMalformed},
		{name: "too-large", in: strings.Repeat("A", DefaultMaxTokenBytes+1), want: ReasonTooLarge},
	}
	for _, tt := range tests {
		// The table is also the check that the fuzz verifier can accept
		// and refuse: a verifier that refused everything would pass below.
		if _, err := v.Verify(context.Background(), tt.in); reason(err) != tt.want {
			f.Errorf("%s: Verify() reason = %q, want %q (error %v)", tt.name, reason(err), tt.want, err)
		}
		f.Add(tt.in)
	}

	f.Fuzz(func(t *testing.T, raw string) {
		id, err := v.Verify(t.Context(), raw)
		if err != nil {
			te, ok := err.(*TokenError)
			if !ok {
				t.Fatalf("Verify(%q) error = %v (%T), want a *TokenError", raw, err, err)
			}
			if !knownReasons[te.Reason] {
				t.Fatalf("Verify(%q) reason = %q, want a known reason", raw, te.Reason)
			}
			if id != nil {
				t.Fatalf("Verify(%q) = %+v with error %v, want nil", raw, id, err)
			}
		} else {
			if id == nil {
				t.Fatalf("Verify(%q) = nil, nil", raw)
			}
			if !signer.genuine(raw) {
				t.Fatalf("Verify(%q) accepted a token that was never signed by the issuer's key: %+v", raw, id)
			}
			if id.Issuer != "fuzz" || id.IssuerURL != fuzzIssuerURL || id.Subject != testSubject {
				t.Fatalf("Verify(%q) = issuer %q, iss %q, sub %q; want fuzz, %s, %s", raw, id.Issuer, id.IssuerURL, id.Subject, fuzzIssuerURL, testSubject)
			}
		}
		if got := transport.refusedURLs(); len(got) > 0 {
			t.Fatalf("Verify(%q) sent requests to %q, want only %s", raw, got, transport.allow)
		}
		if n := stranger.totalRequests(); n != 0 {
			t.Fatalf("Verify(%q): the unconfigured issuer got %d requests, want 0", raw, n)
		}
	})
}

// flipUnusedBit returns seg (unpadded base64url) with the lowest unused bit
// of its last character set: the same bytes to a lenient decoder.
func flipUnusedBit(tb testing.TB, seg string) string {
	tb.Helper()
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	if len(seg)%4 != 2 && len(seg)%4 != 3 {
		tb.Fatalf("segment of %d characters has no unused bits", len(seg))
	}
	last := strings.IndexByte(alphabet, seg[len(seg)-1])
	return seg[:len(seg)-1] + string(alphabet[last|1])
}
