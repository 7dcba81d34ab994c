package oidctest

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"strings"
	"time"
)

// Broken names a way in which [Server.MintBroken] spoils a token. Each is a check that a
// verifier must make (RFC 8725 §3, wire-facts §8). The zero value is not a kind.
type Broken int

// The kinds of broken token. Unless said otherwise the token is otherwise valid: signed by
// a published key, with the server's iss and a fresh exp.
const (
	// Expired has exp 10 minutes in the past (iat 15 minutes ago), beyond any sane skew leeway.
	Expired Broken = iota + 1
	// NotYetValid has nbf and iat 10 minutes in the future, beyond go-oidc's 5-minute leeway.
	NotYetValid
	// WrongIssuer has iss "https://wrong-issuer.invalid".
	WrongIssuer
	// WrongAudience has aud "wrong-audience.invalid".
	WrongAudience
	// AlgNone has header alg "none" and an empty signature (RFC 7519 §6, unsecured JWT).
	AlgNone
	// HS256WithPublicKey is HMAC-SHA256 signed with the PEM (PKIX "PUBLIC KEY" block) of the
	// default RSA key as published, with that key's kid: the RS/HS confusion attack.
	HS256WithPublicKey
	// UnknownKID is RS256 signed by a key that is never published, with a kid no JWKS names.
	UnknownKID
	// TamperedSignature is a valid token with one bit of its signature flipped.
	TamperedSignature
	// Oversized is longer than 64 KiB because of a large "padding" claim. Its signature and
	// claims are valid: only a size limit rejects it.
	Oversized
	// MissingExp has no exp claim.
	MissingExp
	// Malformed is not a compact JWS: two base64url segments, no signature segment.
	Malformed
)

// OversizeLimit is the size that an [Oversized] token exceeds.
const OversizeLimit = 64 << 10

// String returns the kind's kebab-case name, e.g. "alg-none".
func (b Broken) String() string {
	switch b {
	case Expired:
		return "expired"
	case NotYetValid:
		return "not-yet-valid"
	case WrongIssuer:
		return "wrong-issuer"
	case WrongAudience:
		return "wrong-audience"
	case AlgNone:
		return "alg-none"
	case HS256WithPublicKey:
		return "hs256-with-public-key"
	case UnknownKID:
		return "unknown-kid"
	case TamperedSignature:
		return "tampered-signature"
	case Oversized:
		return "oversized"
	case MissingExp:
		return "missing-exp"
	case Malformed:
		return "malformed"
	default:
		return fmt.Sprintf("Broken(%d)", int(b))
	}
}

// MintBroken returns a token of kind built from claims, defaulted as [Server.Mint] does.
// The claims that make the kind (exp, nbf, iss, aud, …) override the caller's. It never
// modifies claims.
func (s *Server) MintBroken(kind Broken, claims map[string]any) (string, error) {
	c := s.withDefaults(claims, DefaultTTL)
	now := s.now()
	switch kind {
	case Expired:
		c["iat"], c["nbf"], c["exp"] = now.Add(-15*time.Minute).Unix(), now.Add(-15*time.Minute).Unix(), now.Add(-10*time.Minute).Unix()
	case NotYetValid:
		c["iat"], c["nbf"], c["exp"] = now.Add(10*time.Minute).Unix(), now.Add(10*time.Minute).Unix(), now.Add(15*time.Minute).Unix()
	case WrongIssuer:
		c["iss"] = "https://wrong-issuer.invalid"
	case WrongAudience:
		c["aud"] = "wrong-audience.invalid"
	case MissingExp:
		delete(c, "exp")
	case Oversized:
		c["padding"] = strings.Repeat("A", OversizeLimit)
	case AlgNone:
		return s.unsecured(c)
	case HS256WithPublicKey:
		return s.hmacWithPublicKey(c)
	case UnknownKID:
		k, err := s.stray()
		if err != nil {
			return "", err
		}
		return sign(k, c)
	case TamperedSignature, Malformed:
	default:
		return "", fmt.Errorf("oidctest: mint broken: unknown kind %v", kind)
	}

	k, err := s.lookupKey(RS256, "")
	if err != nil {
		return "", err
	}
	token, err := sign(k, c)
	if err != nil {
		return "", err
	}
	switch kind {
	case TamperedSignature:
		return tamper(token)
	case Malformed:
		return token[:strings.LastIndexByte(token, '.')], nil
	}
	return token, nil
}

// tamper flips the first bit of the signature of a compact JWS.
func tamper(token string) (string, error) {
	i := strings.LastIndexByte(token, '.')
	sig, err := base64.RawURLEncoding.DecodeString(token[i+1:])
	if err != nil || len(sig) == 0 {
		return "", fmt.Errorf("oidctest: tamper: bad signature segment")
	}
	sig[0] ^= 0x80
	return token[:i+1] + base64.RawURLEncoding.EncodeToString(sig), nil
}

// unsecured builds an "alg":"none" JWT by hand: go-jose refuses to produce one.
func (s *Server) unsecured(claims map[string]any) (string, error) {
	signingInput, err := signingInput(map[string]any{"alg": "none", "typ": "JWT"}, claims)
	if err != nil {
		return "", err
	}
	return signingInput + ".", nil
}

// hmacWithPublicKey builds an HS256 JWT by hand whose secret is the PEM of the default
// RSA public key: go-jose will not sign HS256 with an RSA key's bytes as a verifier would
// misuse them.
func (s *Server) hmacWithPublicKey(claims map[string]any) (string, error) {
	k, err := s.lookupKey(RS256, "")
	if err != nil {
		return "", err
	}
	der, err := x509.MarshalPKIXPublicKey(k.private.Public())
	if err != nil {
		return "", fmt.Errorf("oidctest: encode public key: %w", err)
	}
	secret := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	input, err := signingInput(map[string]any{"alg": "HS256", "typ": "JWT", "kid": k.id}, claims)
	if err != nil {
		return "", err
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(input))
	return input + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil)), nil
}

// signingInput is BASE64URL(header) "." BASE64URL(payload) (RFC 7515 §5.1).
func signingInput(header, claims map[string]any) (string, error) {
	h, err := json.Marshal(header)
	if err != nil {
		return "", fmt.Errorf("oidctest: encode header: %w", err)
	}
	payload, err := marshalClaims(claims)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(payload), nil
}
