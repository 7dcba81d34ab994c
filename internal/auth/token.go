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
	p, sig, _ := strings.Cut(p, ".")

	var header struct {
		Alg  string          `json:"alg"`
		Crit json.RawMessage `json:"crit"`
	}
	if err := decodeSegment(h, &header); err != nil {
		return unverified{}, fmt.Errorf("header: %w", err)
	}
	// Security: a critical extension must be understood or the token
	// refused (RFC 7515 §4.1.11); we understand none. go-jose would refuse
	// it too, but only while checking the signature, as a bad signature
	// (which spends the issuer's refetch interval).
	if c := string(header.Crit); c != "" && c != "null" && c != "[]" {
		return unverified{}, errors.New("header: critical extensions are not supported")
	}
	var payload struct {
		Iss string `json:"iss"`
	}
	if err := decodeSegment(p, &payload); err != nil {
		return unverified{}, fmt.Errorf("payload: %w", err)
	}
	if _, err := strictB64.DecodeString(sig); err != nil {
		return unverified{}, errors.New("signature: invalid base64url")
	}
	return unverified{alg: header.Alg, iss: payload.Iss}, nil
}

// strictB64 is unpadded base64url that refuses non-zero unused bits in the
// last character.
//
// Security: the lenient decoder (go-jose's) reads "…Q" and "…R" alike, so
// one signed token has many spellings that all verify. Each would be
// verified afresh and take its own slot in the verified-token cache, keyed
// by the token's bytes: a few valid tokens could push everyone else out.
// Only the canonical spelling is accepted.
var strictB64 = base64.RawURLEncoding.Strict()

// decodeSegment decodes one unpadded base64url segment holding a JSON object.
func decodeSegment(seg string, v any) error {
	b, err := strictB64.DecodeString(seg)
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
