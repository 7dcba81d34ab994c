package oidctest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"fmt"

	"github.com/go-jose/go-jose/v4"
)

// Signing algorithms a Server publishes keys for.
const (
	RS256 = string(jose.RS256)
	ES256 = string(jose.ES256)
)

const (
	rsaBits = 2048
	// maxKeys bounds how many keys a Server holds, retired ones included, so that a
	// rotation loop cannot grow memory or the JWKS without limit.
	maxKeys = 64
)

// signingKey is one private key and how it is published.
type signingKey struct {
	id      string
	alg     jose.SignatureAlgorithm
	private crypto.Signer // *rsa.PrivateKey or *ecdsa.PrivateKey
	retired bool
}

// newSigningKey generates a key for alg. Its kid is the RFC 7638 JWK thumbprint, as many
// real issuers use, so it is unique and stable for the key.
func newSigningKey(alg string) (*signingKey, error) {
	var priv crypto.Signer
	var err error
	switch alg {
	case RS256:
		priv, err = rsa.GenerateKey(rand.Reader, rsaBits)
	case ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		return nil, fmt.Errorf("oidctest: unsupported key algorithm %q (want %s or %s)", alg, RS256, ES256)
	}
	if err != nil {
		return nil, fmt.Errorf("oidctest: generate %s key: %w", alg, err)
	}
	jwk := jose.JSONWebKey{Key: priv.Public()}
	thumb, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("oidctest: thumbprint %s key: %w", alg, err)
	}
	return &signingKey{
		id:      base64.RawURLEncoding.EncodeToString(thumb),
		alg:     jose.SignatureAlgorithm(alg),
		private: priv,
	}, nil
}

// publicJWK is the key as published in the JWKS.
func (k *signingKey) publicJWK() jose.JSONWebKey {
	return jose.JSONWebKey{Key: k.private.Public(), KeyID: k.id, Algorithm: string(k.alg), Use: "sig"}
}

// AddKey generates a new key for alg ([RS256] or [ES256]), publishes it in the JWKS and
// makes it the default key for alg, as an issuer does when it rotates (OIDC Core §10.1).
// Keys published before stay published until [Server.RetireKey].
func (s *Server) AddKey(alg string) (kid string, err error) {
	k, err := newSigningKey(alg)
	if err != nil {
		return "", err
	}
	s.keysMu.Lock()
	defer s.keysMu.Unlock()
	if len(s.keys) >= maxKeys {
		return "", fmt.Errorf("oidctest: key limit of %d reached", maxKeys)
	}
	s.keys = append(s.keys, k)
	return k.id, nil
}

// RetireKey stops publishing the key kid in the JWKS. Tokens can still be minted with it
// through [MintOptions.KeyID], which is how tests make tokens signed by a retired key. If
// kid was the default for its algorithm, the newest remaining key of that algorithm
// becomes the default. Retiring a retired key is not an error.
func (s *Server) RetireKey(kid string) error {
	s.keysMu.Lock()
	defer s.keysMu.Unlock()
	for _, k := range s.keys {
		if k.id == kid {
			k.retired = true
			return nil
		}
	}
	return fmt.Errorf("oidctest: retire key: unknown kid %q", kid)
}

// publicKeySet returns every published (not retired) key.
func (s *Server) publicKeySet() jose.JSONWebKeySet {
	s.keysMu.RLock()
	defer s.keysMu.RUnlock()
	set := jose.JSONWebKeySet{Keys: make([]jose.JSONWebKey, 0, len(s.keys))}
	for _, k := range s.keys {
		if !k.retired {
			set.Keys = append(set.Keys, k.publicJWK())
		}
	}
	return set
}

// lookupKey returns the key kid, retired or not, or the default key for alg when kid is
// empty: the newest published key of that algorithm.
func (s *Server) lookupKey(alg, kid string) (*signingKey, error) {
	s.keysMu.RLock()
	defer s.keysMu.RUnlock()
	if kid != "" {
		for _, k := range s.keys {
			if k.id == kid {
				if alg != "" && string(k.alg) != alg {
					return nil, fmt.Errorf("oidctest: key %q is %s, not %s", kid, k.alg, alg)
				}
				return k, nil
			}
		}
		return nil, fmt.Errorf("oidctest: unknown kid %q", kid)
	}
	if alg == "" {
		alg = RS256
	}
	for i := len(s.keys) - 1; i >= 0; i-- {
		if k := s.keys[i]; string(k.alg) == alg && !k.retired {
			return k, nil
		}
	}
	return nil, fmt.Errorf("oidctest: no published %s key", alg)
}

// stray returns a key that is never published, generating it on first use. It signs
// UnknownKID tokens, so they fail even against a verifier that ignores kid.
func (s *Server) stray() (*signingKey, error) {
	s.keysMu.Lock()
	defer s.keysMu.Unlock()
	if s.strayKey == nil {
		k, err := newSigningKey(RS256)
		if err != nil {
			return nil, err
		}
		s.strayKey = k
	}
	return s.strayKey, nil
}
