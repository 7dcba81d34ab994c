package profile

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"unicode"
	"unicode/utf16"
)

// STS limits on RoleSessionName and SourceIdentity (wire-facts §4.3: 2–64
// chars of [\w+=,.@-]) and on session tag values (0–256 chars of
// [\p{L}\p{Z}\p{N}_.:/=+\-@]).
const (
	sessionNameMin = 2
	sessionNameMax = 64
	// sessionHashLen hex chars of sha256 mark a transformed name: 40 bits,
	// so an accidental collision between two transformed names needs about
	// a million distinct callers with the same readable prefix.
	sessionHashLen = 10
	tagValueMax    = 256
	tagKeyMax      = 128
)

// SanitizeSessionName returns s as a valid STS RoleSessionName (and
// SourceIdentity): 2–64 characters of [A-Za-z0-9_+=,.@-].
//
// A name that is already valid is returned unchanged. Otherwise every rune
// outside that set (including every non-ASCII rune and every byte of invalid
// UTF-8) becomes '-', and "-" plus the first 10 hex characters of
// sha256(s) is appended, the readable part being cut so that the whole is at
// most 64 characters. The same happens when s is shorter than 2 or longer
// than 64 characters. So any transformed name carries a hash of the original:
// two callers whose names differ only in a replaced character ("a/b" and
// "a:b"), or only after the 53rd character, still get different session
// names, and the result is deterministic.
//
// What is not prevented: a caller who controls s can choose a valid name
// equal to another caller's transformed one. Session names only label
// CloudTrail events; credentials are never shared on a session name because
// the cache key includes the caller's issuer and subject ([chain.Plan]).
//
// Because ':' is replaced, the result never starts with "aws:", which STS
// forbids for a source identity.
func SanitizeSessionName(s string) string {
	// Keep at most sessionNameMax+1 output bytes: enough to know whether s
	// is too long, without copying a long input.
	var b strings.Builder
	b.Grow(min(len(s), sessionNameMax+1))
	changed := false
	n := 0 // runes seen; the output is ASCII, so one byte per rune
	for _, r := range s {
		if !isSessionNameRune(r) {
			r = '-'
			changed = true
		}
		if n <= sessionNameMax {
			b.WriteByte(byte(r))
		}
		n++
	}
	if !changed && n >= sessionNameMin && n <= sessionNameMax {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	suffix := "-" + hex.EncodeToString(sum[:])[:sessionHashLen]
	readable := b.String()
	if keep := sessionNameMax - len(suffix); len(readable) > keep {
		readable = readable[:keep]
	}
	return readable + suffix
}

// isSessionNameRune reports whether r is in STS's [\w+=,.@-] (\w is ASCII
// only in AWS's patterns).
func isSessionNameRune(r rune) bool {
	switch {
	case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9':
		return true
	}
	return strings.ContainsRune("_+=,.@-", r)
}

// sanitizeTagValue returns s with every rune outside STS's tag-value charset
// [\p{L}\p{Z}\p{N}_.:/=+\-@] replaced by '_', cut to at most 256 characters.
// Length is counted in UTF-16 code units, as AWS's Java-based validation
// does, so a character outside the Basic Multilingual Plane counts as two;
// this is never longer than STS accepts. Unlike session names, tag values
// carry no hash: two values that differ only in replaced characters or after
// the cut render equal. That is acceptable for tags (they are attributes,
// compared by policies, not identifiers), and the cache key still separates
// the callers by issuer and subject.
func sanitizeTagValue(s string) string {
	var b strings.Builder
	n := 0
	for _, r := range s {
		if !isTagRune(r) {
			r = '_'
		}
		w := utf16.RuneLen(r)
		if n+w > tagValueMax {
			break
		}
		n += w
		b.WriteRune(r)
	}
	return b.String()
}

// isTagRune reports whether r is in STS's tag charset [\p{L}\p{Z}\p{N}_.:/=+\-@].
func isTagRune(r rune) bool {
	// Invalid UTF-8 arrives as U+FFFD, a symbol (So): not in the set.
	return unicode.IsLetter(r) || unicode.Is(unicode.Z, r) || unicode.IsNumber(r) ||
		strings.ContainsRune("_.:/=+-@", r)
}

// validTagKey reports whether k is a valid STS tag key: 1–128 characters
// (UTF-16 code units) of the tag charset.
func validTagKey(k string) bool {
	n := 0
	for _, r := range k {
		if !isTagRune(r) {
			return false
		}
		n += utf16.RuneLen(r)
	}
	return n >= 1 && n <= tagKeyMax
}
