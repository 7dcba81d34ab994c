package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"

	jose "github.com/go-jose/go-jose/v4"
)

const (
	// maxJWKSKeys bounds the keys of a JWKS: a token without kid is tried
	// against each. Real issuers publish two to a dozen.
	maxJWKSKeys = 100
	// minRSABits is the smallest RSA key used (RFC 7518 §3.3: "A key of size
	// 2048 bits or larger MUST be used").
	minRSABits = 2048
)

// fetchJWKS GETs the JWKS at url and returns its usable keys and the number
// of keys it skipped.
func fetchJWKS(ctx context.Context, client *http.Client, url string) ([]verifyKey, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("jwks request: %w", err)
	}
	// As go-oidc does: a refetch wants the issuer's current keys, not a
	// cached copy without the new kid.
	req.Header.Set("Cache-Control", "no-cache")
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req) // redirects: see safeRedirects
	if err != nil {
		return nil, 0, fmt.Errorf("jwks: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, 0, fmt.Errorf("jwks: status %d", resp.StatusCode)
	}
	body, err := readBounded(resp.Body)
	if err != nil {
		return nil, 0, fmt.Errorf("jwks: %w", err)
	}
	return parseJWKS(body)
}

// parseJWKS decodes a JWK set and keeps its usable keys, in order. A set
// that does not decode, or has more than maxJWKSKeys keys, is an error.
//
// Security: keys are skipped, not fatal, when unusable (RFC 7517 §5:
// "Implementations SHOULD ignore JWKs within a JWK Set that use kty values
// that are not understood by them, that are missing required members, or
// for which values are out of the supported ranges"), as go-oidc ≥ 3.20
// does: one exotic key must not take the issuer down.
func parseJWKS(body []byte) ([]verifyKey, int, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil || set.Keys == nil {
		return nil, 0, errors.New("jwks: not a JWK set")
	}
	if len(set.Keys) > maxJWKSKeys {
		return nil, 0, fmt.Errorf("jwks: %d keys exceed the limit of %d", len(set.Keys), maxJWKSKeys)
	}
	var keys []verifyKey
	skipped := 0
	for _, raw := range set.Keys {
		k, ok := usableKey(raw)
		if !ok {
			skipped++
			continue
		}
		keys = append(keys, k)
	}
	return keys, skipped, nil
}

// usableKey returns the key of one JWK if it can verify tokens.
func usableKey(raw json.RawMessage) (verifyKey, bool) {
	var meta struct {
		Alg    string   `json:"alg"`
		Use    string   `json:"use"`
		KeyOps []string `json:"key_ops"`
	}
	if json.Unmarshal(raw, &meta) != nil {
		return verifyKey{}, false
	}
	// Security: only the asymmetric algorithms we accept (no HS*, no none);
	// a key for another algorithm (e.g. ES256K, or the wrong "RSA") is
	// skipped, as go-oidc ≥ 3.20 does.
	if meta.Alg != "" && !supportedAlgs[meta.Alg] {
		return verifyKey{}, false
	}
	// Security: a key published for encryption never verifies a signature
	// (RFC 7517 §4.2).
	if meta.Use != "" && meta.Use != "sig" {
		return verifyKey{}, false
	}
	// Nor does one whose key_ops (RFC 7517 §4.3, the alternative to use)
	// leave out "verify".
	if meta.KeyOps != nil && !slices.Contains(meta.KeyOps, "verify") {
		return verifyKey{}, false
	}
	var jwk jose.JSONWebKey
	if json.Unmarshal(raw, &jwk) != nil {
		// Unsupported kty or curve (e.g. OKP Ed448), or missing members.
		return verifyKey{}, false
	}
	// Security: only public asymmetric keys. A symmetric ("oct") key would
	// be an HMAC secret; a JWK with private parameters is a leaked key that
	// anyone reading the JWKS could sign with.
	switch pub := jwk.Key.(type) {
	case *rsa.PublicKey:
		if pub.N.BitLen() < minRSABits {
			return verifyKey{}, false
		}
	case *ecdsa.PublicKey, ed25519.PublicKey:
	default:
		return verifyKey{}, false
	}
	thumb, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return verifyKey{}, false
	}
	return verifyKey{
		kid: jwk.KeyID,
		alg: meta.Alg,
		pub: jwk.Key,
		// Injective: the thumbprint has a fixed length and alg has no NUL.
		id: string(thumb) + meta.Alg + "\x00" + jwk.KeyID,
	}, true
}
