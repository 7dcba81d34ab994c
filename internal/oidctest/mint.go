package oidctest

import (
	"encoding/json"
	"fmt"
	"maps"
	"time"

	"github.com/go-jose/go-jose/v4"
)

const (
	// DefaultAudience is the aud of minted tokens that do not set one: the audience
	// AWS documents for AssumeRoleWithWebIdentity and aws-actions/configure-aws-credentials uses.
	DefaultAudience = "sts.amazonaws.com"
	// DefaultTTL is the lifetime of minted tokens, about that of GitHub Actions tokens.
	DefaultTTL = 5 * time.Minute
	// MaxTTL bounds [MintOptions.TTL].
	MaxTTL = 24 * time.Hour
	// maxPayload bounds the JSON claims of a minted token. Oversized tokens stay well under it.
	maxPayload = 1 << 20
)

// MintOptions choose how [Server.MintWith] signs. Zero values are defaults.
type MintOptions struct {
	// Alg is RS256 or ES256. Default: the algorithm of KeyID, else RS256.
	Alg string
	// KeyID signs with this key, even if it is retired. Default: the newest published key of Alg.
	KeyID string
	// TTL sets exp = iat + TTL when claims have no exp. Default DefaultTTL, at most MaxTTL.
	TTL time.Duration
}

// Mint returns a valid compact JWS (RFC 7515 §7.1) of claims, signed RS256 by the current
// default RSA key, with kid and typ "JWT" in its header. It fills iss (the server's URL),
// iat (now), nbf (= iat), exp (iat + 5m) and aud ("sts.amazonaws.com") only where claims
// lack them. It never modifies claims.
func (s *Server) Mint(claims map[string]any) (string, error) {
	return s.MintWith(MintOptions{}, claims)
}

// MintWith is [Server.Mint] with a choice of algorithm, key and lifetime.
func (s *Server) MintWith(o MintOptions, claims map[string]any) (string, error) {
	if o.TTL < 0 || o.TTL > MaxTTL {
		return "", fmt.Errorf("oidctest: mint: ttl %v out of range (0, %v]", o.TTL, MaxTTL)
	}
	if o.TTL == 0 {
		o.TTL = DefaultTTL
	}
	k, err := s.lookupKey(o.Alg, o.KeyID)
	if err != nil {
		return "", err
	}
	return sign(k, s.withDefaults(claims, o.TTL))
}

// withDefaults returns a copy of claims with the registered claims filled in where absent.
// If claims carry a numeric iat, nbf and exp default relative to it.
func (s *Server) withDefaults(claims map[string]any, ttl time.Duration) map[string]any {
	out := make(map[string]any, len(claims)+5)
	maps.Copy(out, claims)
	iat := s.now().Unix()
	if v, ok := unixSeconds(out["iat"]); ok {
		iat = v
	}
	setDefault(out, "iss", s.url)
	setDefault(out, "iat", iat)
	setDefault(out, "nbf", iat)
	setDefault(out, "exp", iat+int64(ttl/time.Second))
	setDefault(out, "aud", DefaultAudience)
	return out
}

func setDefault(m map[string]any, k string, v any) {
	if _, ok := m[k]; !ok {
		m[k] = v
	}
}

// unixSeconds reads a NumericDate (RFC 7519 §2) as it may appear in a claims map.
func unixSeconds(v any) (int64, bool) {
	switch n := v.(type) {
	case int:
		return int64(n), true
	case int64:
		return n, true
	case float64:
		return int64(n), true
	case json.Number:
		i, err := n.Int64()
		return i, err == nil
	case time.Time:
		return n.Unix(), true
	default:
		return 0, false
	}
}

// marshalClaims encodes claims as a JWT payload within maxPayload.
func marshalClaims(claims map[string]any) ([]byte, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return nil, fmt.Errorf("oidctest: encode claims: %w", err)
	}
	if len(payload) > maxPayload {
		return nil, fmt.Errorf("oidctest: claims are %d bytes, more than %d", len(payload), maxPayload)
	}
	return payload, nil
}

// sign signs claims with k using go-jose, with kid and typ "JWT" in the protected header.
func sign(k *signingKey, claims map[string]any) (string, error) {
	payload, err := marshalClaims(claims)
	if err != nil {
		return "", err
	}
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: k.alg, Key: jose.JSONWebKey{Key: k.private, KeyID: k.id}},
		(&jose.SignerOptions{}).WithType("JWT"),
	)
	if err != nil {
		return "", fmt.Errorf("oidctest: new %s signer: %w", k.alg, err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("oidctest: sign: %w", err)
	}
	token, err := jws.CompactSerialize()
	if err != nil {
		return "", fmt.Errorf("oidctest: serialize: %w", err)
	}
	return token, nil
}
