package policy

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// MaxLen is the most characters STS accepts in a hop's session policies:
// the Policy parameter of AssumeRole and AssumeRoleWithWebIdentity (wire-
// facts §4.2, §4.3: 1 to 2048 characters of \u0009, \u000A, \u000D and
// \u0020 to \u00FF) and the ARNs of its PolicyArns, counted together: "The
// plaintext that you use for both inline and managed session policies
// can't exceed 2,048 characters" (wire-facts: "inline+managed plaintext ≤
// 2048 chars total"). Whitespace counts: STS measures the parameter as
// sent.
const MaxLen = 2048

var (
	// ErrTooLong: a rendered policy is longer than MaxLen characters, alone
	// or with the hop's managed policy ARNs (see [LengthError]).
	ErrTooLong = errors.New("the claims make the rendered policy longer than the 2048 characters STS accepts")
	// ErrCharset: a rendered policy holds a character outside the set STS
	// accepts. encoding/json leaves non-ASCII text as it is, so a claim
	// with a character above U+00FF puts one there. That includes U+FFFD:
	// decoding the token's JSON replaced its invalid UTF-8 with it. (Invalid
	// UTF-8 that reaches the escaper as it is, which no decoded token
	// holds, is written as the ASCII escape \ufffd, which STS accepts.)
	ErrCharset = errors.New("the claims put characters into the rendered policy that STS refuses (it accepts tab, newline, carriage return and U+0020 to U+00FF)")
)

// LengthError is the error of [CheckLimits] for a rendered policy that
// does not fit MaxLen. It wraps [ErrTooLong]. Its message gives sizes,
// never the text.
type LengthError struct {
	// Policy is the rendered policy's length in characters.
	Policy int
	// Managed is the length of the hop's managed policy ARNs, which STS
	// counts with the policy; 0 when the hop has none.
	Managed int
}

// Error says whether the ARNs counted, with the sizes.
func (e *LengthError) Error() string {
	if e.Managed == 0 {
		return fmt.Sprintf("%v (%d characters)", ErrTooLong, e.Policy)
	}
	return fmt.Sprintf("the claims make the rendered policy, together with the hop's policy_arns, longer than the %d characters STS accepts for both (%d characters of policy, %d of policy ARNs)", MaxLen, e.Policy, e.Managed)
}

// Unwrap returns ErrTooLong.
func (e *LengthError) Unwrap() error { return ErrTooLong }

// ManagedLen returns the characters arns, a hop's managed policy ARNs, take
// of the MaxLen STS allows the hop's session policies: the sum of their
// lengths.
func ManagedLen(arns []string) int {
	n := 0
	for _, a := range arns {
		n += utf8.RuneCountInString(a)
	}
	return n
}

// CheckLimits returns an error wrapping ErrCharset, or a *[LengthError],
// unless out, an output of [Template.Execute] sent with managed policy ARNs
// of managed characters ([ManagedLen]), fits STS's limits on a policy. STS
// refuses such a policy on every call (ValidationError), and a claim can
// make one: a long or non-Latin-1 workflow name or branch. Checking here
// turns that into a refusal of the caller that names the policy, before
// any STS call, instead of STS's error at the hop. The errors give sizes
// and positions, never the text.
func CheckLimits(out string, managed int) error {
	n := 0
	for i, r := range out {
		// Bytes that are not UTF-8 range as U+FFFD, which is outside the
		// set: the escaper never writes them, but a policy that held them
		// would not be what STS reads.
		if !stsRune(r) {
			return fmt.Errorf("%w (at byte %d)", ErrCharset, i)
		}
		n++
	}
	// Every accepted character is in the Basic Multilingual Plane, so this
	// is also the length in UTF-16 code units, whichever STS counts.
	if n+managed > MaxLen {
		return &LengthError{Policy: n, Managed: managed}
	}
	return nil
}

// stsRune reports whether STS accepts r in a policy.
func stsRune(r rune) bool {
	return r == '\t' || r == '\n' || r == '\r' || (r >= 0x20 && r <= 0xff)
}

// CheckARNs refuses arns, a hop's managed policy ARNs, when they alone are
// over MaxLen characters: STS counts them with the hop's inline policy, so
// it would refuse every request for the profile, with or without a policy.
func CheckARNs(arns []string) error {
	if n := ManagedLen(arns); n > MaxLen {
		return fmt.Errorf("its %d ARNs are %d characters, over the %d STS accepts for a hop's policy and policy_arns together, so STS would refuse every request", len(arns), n, MaxLen)
	}
	return nil
}

// checkSkeletonLength refuses a template whose text without its actions,
// which every rendering holds, is already over MaxLen characters: STS would
// refuse every request for the profile. It returns the length.
func checkSkeletonLength(skeleton []byte) (int, error) {
	n := utf8.RuneCount(skeleton)
	if n > MaxLen {
		return n, fmt.Errorf("its text without template actions is %d characters, over the %d STS accepts in a session policy, so STS would refuse every request (whitespace counts: write the JSON compactly)", n, MaxLen)
	}
	return n, nil
}

// CheckManaged refuses t when its text without template actions, which
// every rendering holds, and arns, the managed policy ARNs of its hop, are
// together over MaxLen characters: STS would refuse every request for the
// profile. Call [CheckARNs] first: when the ARNs alone are over, this
// reports them again.
func (t *Template) CheckManaged(arns []string) error {
	m := ManagedLen(arns)
	if t.minLen+m > MaxLen {
		return fmt.Errorf("its text without template actions (%d characters) and the hop's policy_arns (%d characters) are %d characters together, over the %d STS accepts for a hop's policy and policy_arns together, so STS would refuse every request", t.minLen, m, t.minLen+m, MaxLen)
	}
	return nil
}
