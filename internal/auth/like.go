package auth

import "unicode/utf8"

// MatchLike reports whether s matches the IAM StringLike pattern: '*' matches
// any run of characters (including none), '?' matches exactly one character,
// every other character matches itself, case-sensitively, and the pattern
// must match the whole of s. Characters are UTF-8 runes.
//
// It runs in O(len(pattern)·len(s)) time without allocating: on a mismatch it
// backtracks only to the last '*', which suffices because a later '*' can
// absorb anything an earlier one could.
func MatchLike(pattern, s string) bool {
	p, i := 0, 0          // next byte of pattern and of s
	star, resume := -1, 0 // last '*' seen in pattern, and where s resumes after it
	for i < len(s) {
		if p < len(pattern) {
			switch pattern[p] {
			case '*':
				star, resume = p, i
				p++
				continue
			case '?':
				p++
				i += runeLen(s, i)
				continue
			default:
				// An ASCII byte of the pattern is a whole character: it
				// matches the same byte of s, and never part of a
				// multi-byte character (those bytes are all ≥ 0x80).
				if c := pattern[p]; c < utf8.RuneSelf {
					if s[i] == c {
						p++
						i++
						continue
					}
					break
				}
				pw, sw := runeLen(pattern, p), runeLen(s, i)
				if pw == sw && pattern[p:p+pw] == s[i:i+sw] {
					p += pw
					i += sw
					continue
				}
			}
		}
		if star < 0 {
			return false
		}
		// Let the last '*' absorb one more character of s and retry.
		resume += runeLen(s, resume)
		p, i = star+1, resume
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// runeLen is the length in bytes of the character at s[i]: 1 for ASCII (the
// common case, without decoding) and for invalid UTF-8.
func runeLen(s string, i int) int {
	if s[i] < utf8.RuneSelf {
		return 1
	}
	_, w := utf8.DecodeRuneInString(s[i:])
	return w
}
