package ststest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"fmt"
)

const (
	upperAlnum   = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567" // base32 alphabet: AWS key ids use it
	secretChars  = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	tokenLen     = 356
	secretLen    = 40
	keyIDRandLen = 16
)

// randomString returns n characters drawn uniformly from alphabet (len 32 or 64).
func randomString(alphabet string, n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never returns an error (Go ≥ 1.24)
	mask := byte(len(alphabet) - 1)
	for i := range b {
		b[i] = alphabet[b[i]&mask]
	}
	return string(b)
}

func newAccessKeyID(prefix string) string { return prefix + randomString(upperAlnum, keyIDRandLen) }

func newSecretKey() string { return randomString(secretChars, secretLen) }

// newSessionToken returns an opaque token shaped like STS's (base64 alphabet, a few hundred chars).
func newSessionToken() string { return "IQoJb3JpZ2luX2VjE" + randomString(secretChars, tokenLen) }

// stableID returns prefix + 17 uppercase characters derived from seed: the same role ARN
// always gets the same unique id, like IAM's AROA… ids.
func stableID(prefix, seed string) string {
	sum := sha256.Sum256([]byte(seed))
	enc := base32.StdEncoding.EncodeToString(sum[:])
	return prefix + enc[:17]
}

// newRequestID returns a random UUID (version 4), the shape of STS request ids.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return fmt.Sprintf("%s-%s-%s-%s-%s", h[0:8], h[8:12], h[12:16], h[16:20], h[20:32])
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
