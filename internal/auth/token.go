package auth

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// unverified is what Verify reads from a token before its signature is
// checked: the algorithm, to pin it, and the issuer, to route the token.
type unverified struct {
	alg string
	iss string
}

// parseUnverified checks that raw is a compact JWS and reads alg and iss.
//
// Security: we require the compact serialization (RFC 7515 §7.1): exactly
// three base64url segments, so exactly two dots, and only base64url
// characters. That rules out whitespace, the JSON serialization (which starts
// with '{' and which go-jose would otherwise accept), and the many-dots input
// of CVE-2025-27144. The caller has already bounded len(raw).
//
// Security: nothing returned here is trusted. iss is used only to choose
// which issuer's verifier checks the token, alg only to reject algorithms
// before any key is looked up; go-oidc then verifies the signature and checks
// that the signed iss equals the chosen issuer.
func parseUnverified(raw string) (unverified, error) {
	if strings.Count(raw, ".") != 2 {
		return unverified{}, errors.New("not a compact JWS: want exactly two dots")
	}
	for i := 0; i < len(raw); i++ {
		if !isJWSByte(raw[i]) {
			return unverified{}, fmt.Errorf("not a compact JWS: byte %d is not base64url", i)
		}
	}
	h, p, _ := strings.Cut(raw, ".")
	p, _, _ = strings.Cut(p, ".")

	var header struct {
		Alg string `json:"alg"`
	}
	if err := decodeSegment(h, &header); err != nil {
		return unverified{}, fmt.Errorf("header: %w", err)
	}
	var payload struct {
		Iss string `json:"iss"`
	}
	if err := decodeSegment(p, &payload); err != nil {
		return unverified{}, fmt.Errorf("payload: %w", err)
	}
	return unverified{alg: header.Alg, iss: payload.Iss}, nil
}

// decodeSegment decodes one unpadded base64url segment holding a JSON object.
func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return errors.New("invalid base64url")
	}
	if err := json.Unmarshal(b, v); err != nil {
		return errors.New("not a JSON object of the expected shape")
	}
	return nil
}

func isJWSByte(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' ||
		c == '-' || c == '_' || c == '.'
}
