package client

import (
	"fmt"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Exit codes of `broker credential-process`, as documented in design.md.
const (
	// ExitOK means credentials were printed on stdout.
	ExitOK = 0
	// ExitRefused means the broker refused (400, 401, 403, 404) or answered
	// something that is not credentials; retrying will not help.
	ExitRefused = 1
	// ExitUsage means bad flags or a token source that cannot give a token.
	ExitUsage = 2
	// ExitTransient means 408, 429, 5xx, an unreachable broker or a timeout;
	// a retry may help.
	ExitTransient = 3
)

// maxMessage bounds the broker's error message as echoed on stderr.
const maxMessage = 512

// Error is every error [Fetch] returns. Error() is the one line written to
// stderr; it is built only from fields set by this package (status, a
// validated error code, a sanitised broker message, host names), never from
// Err, which may hold URLs with query strings or other detail.
type Error struct {
	Exit    int    // process exit code: ExitRefused, ExitUsage or ExitTransient
	Status  int    // HTTP status of the broker's answer; 0 when there was none
	Code    string // the broker's "error" code, e.g. "insufficient_scope"
	Message string // human sentence, safe to print
	Err     error  // underlying cause, for errors.Is/As; never printed
}

// Error returns the stderr line without its trailing newline:
// "broker: 403 insufficient_scope: condition StringLike on sub not met",
// "broker: 502: unexpected answer" or "broker: cannot reach host:port: reason".
func (e *Error) Error() string {
	switch {
	case e.Status != 0 && e.Code != "" && e.Message != "":
		return fmt.Sprintf("broker: %d %s: %s", e.Status, e.Code, e.Message)
	case e.Status != 0 && e.Code != "":
		return fmt.Sprintf("broker: %d %s", e.Status, e.Code)
	case e.Status != 0:
		return fmt.Sprintf("broker: %d: %s", e.Status, e.Message)
	default:
		return "broker: " + e.Message
	}
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// usageError is an [Error] for flags or token sources (exit 2).
func usageError(err error, format string, args ...any) *Error {
	return &Error{Exit: ExitUsage, Message: fmt.Sprintf(format, args...), Err: err}
}

// exitForStatus maps a non-200 HTTP status to an exit code. design.md: 1 when
// refused, 3 when transient (429, 5xx). 408 is a timeout, so transient too.
// A 502 whose body is the broker's sts_refused is the one 5xx that exits 1
// (see parseErrorBody): STS refused, and retrying will not change that.
func exitForStatus(status int) int {
	if status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500 {
		return ExitTransient
	}
	return ExitRefused
}

// validCode reports whether code looks like one of the broker's error codes
// (lowercase snake case, bounded), so that an arbitrary body is never echoed.
func validCode(code string) bool {
	if code == "" || len(code) > 64 {
		return false
	}
	for _, r := range code {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '_' {
			return false
		}
	}
	return true
}

// sanitizeMessage makes a broker message safe for one stderr line: control
// characters (newlines included) become spaces, invalid UTF-8 is replaced,
// and the result is cut to maxMessage bytes.
func sanitizeMessage(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if len(s) <= maxMessage {
		return s
	}
	cut := maxMessage
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
