package policy

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// MaxLen is the most characters STS accepts in the Policy parameter of
// AssumeRole and AssumeRoleWithWebIdentity (wire-facts §4.2, §4.3: 1 to
// 2048 characters of \u0009, \u000A, \u000D and \u0020 to \u00FF).
// Whitespace counts: STS measures the parameter as sent.
const MaxLen = 2048

var (
	// ErrTooLong: a rendered policy is longer than MaxLen characters.
	ErrTooLong = errors.New("the claims make the rendered policy longer than the 2048 characters STS accepts")
	// ErrCharset: a rendered policy holds a character outside the set STS
	// accepts. encoding/json leaves non-ASCII text as it is, so a claim
	// with a character above U+00FF (or invalid UTF-8, which the escaping
	// turns into U+FFFD) puts one there.
	ErrCharset = errors.New("the claims put characters into the rendered policy that STS refuses (it accepts tab, newline, carriage return and U+0020 to U+00FF)")
)

// CheckLimits returns an error wrapping ErrCharset or ErrTooLong unless
// out, an output of [Template.Execute], fits STS's limits on a policy. STS
// refuses such a policy on every call (ValidationError), and a claim can
// make one: a long or non-Latin-1 workflow name or branch. Checking here
// turns that into a refusal of the caller that names the policy, before
// any STS call, instead of STS's error at the hop. The errors give sizes
// and positions, never the text.
func CheckLimits(out string) error {
	n := 0
	for i, r := range out {
		// Invalid UTF-8 decodes as U+FFFD, which is outside the set.
		if !stsRune(r) {
			return fmt.Errorf("%w (at byte %d)", ErrCharset, i)
		}
		n++
	}
	// Every accepted character is in the Basic Multilingual Plane, so this
	// is also the length in UTF-16 code units, whichever STS counts.
	if n > MaxLen {
		return fmt.Errorf("%w (%d characters)", ErrTooLong, n)
	}
	return nil
}

// stsRune reports whether STS accepts r in a policy.
func stsRune(r rune) bool {
	return r == '\t' || r == '\n' || r == '\r' || (r >= 0x20 && r <= 0xff)
}

// checkSkeletonLength refuses a template whose text without its actions,
// which every rendering holds, is already over MaxLen characters: STS would
// refuse every request for the profile.
func checkSkeletonLength(skeleton []byte) error {
	if n := utf8.RuneCount(skeleton); n > MaxLen {
		return fmt.Errorf("its text without template actions is %d characters, over the %d STS accepts in a session policy, so STS would refuse every request (whitespace counts: write the JSON compactly)", n, MaxLen)
	}
	return nil
}
