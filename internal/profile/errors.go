package profile

import (
	"errors"
	"strings"
	"text/template"

	"github.com/stsbroker/broker/internal/profile/policy"
)

// ErrUnknownProfile is returned (wrapped) by [Set.Get] for a name that is not
// configured.
var ErrUnknownProfile = errors.New("profile: unknown")

// RenderError says which template of a profile failed to render for a caller,
// typically because the token lacks a claim the template names.
type RenderError struct {
	// Field is the configuration path of the template: "session_name",
	// "source_identity", "chain[1].session_tags.repo", "chain[0].policy".
	Field string
	// Err is text/template's error, for the log. Some of its messages quote
	// data (for example "range can't iterate over <value>"); Error does not
	// repeat it.
	Err error
}

// Error names the field and, where it can tell without quoting data, the
// template action that failed. It never contains a claim value.
func (e *RenderError) Error() string {
	return "profile: render " + e.Field + ": " + renderCause(e.Err)
}

// Unwrap returns the template error, for errors.Is/As and the log.
func (e *RenderError) Unwrap() error { return e.Err }

// ClaimMissing reports whether the template failed on a claim the token
// does not carry, rather than on a value that does not fit it (too long, a
// policy it would reshape, a claim of another type than the template uses).
func (e *RenderError) ClaimMissing() bool {
	var ee template.ExecError
	return errors.As(e.Err, &ee) && strings.Contains(ee.Error(), ": map has no entry for key ")
}

// renderCause describes err using only text that comes from the template
// itself. text/template formats execution errors as
//
//	template: NAME:LINE:COL: executing "NAME" at <ACTION>: MESSAGE
//
// where everything before MESSAGE is the template's own text; MESSAGE is kept
// only for a missing map key, whose key is also template text.
func renderCause(err error) string {
	if errors.Is(err, errTooLarge) {
		return errTooLarge.Error()
	}
	if errors.Is(err, policy.ErrStructure) {
		return policy.ErrStructure.Error()
	}
	if errors.Is(err, policy.ErrWildcard) {
		return policy.ErrWildcard.Error()
	}
	if le, ok := errors.AsType[*policy.LengthError](err); ok {
		return le.Error() // sizes only
	}
	if errors.Is(err, policy.ErrTooLong) {
		return policy.ErrTooLong.Error()
	}
	if errors.Is(err, policy.ErrCharset) {
		return policy.ErrCharset.Error()
	}
	var ee template.ExecError
	if !errors.As(err, &ee) {
		return "template failed"
	}
	msg := ee.Error()
	at := strings.Index(msg, " at <")
	if at < 0 {
		return "template failed"
	}
	end := strings.Index(msg[at:], ">: ")
	if end < 0 {
		return "template failed"
	}
	head, tail := msg[:at+end+1], msg[at+end+3:]
	const missing = "map has no entry for key "
	if strings.HasPrefix(tail, missing) {
		return head + ": missing key " + strings.TrimPrefix(tail, missing)
	}
	return head + ": execution failed"
}
