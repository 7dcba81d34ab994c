package client

import (
	"strings"
	"testing"
)

// FuzzParseErrorBody checks that whatever a broker (or something in front of
// it) answers, the stderr line stays one bounded line.
func FuzzParseErrorBody(f *testing.F) {
	for _, seed := range []string{
		`{"error":"insufficient_scope","message":"condition StringLike on sub not met"}`,
		`{"error":"invalid_token","message":"a\nb"}`,
		`<html>Bad Gateway</html>`,
		`{"error":"Not A Code"}`,
		``,
	} {
		f.Add(403, seed)
	}
	f.Fuzz(func(t *testing.T, status int, body string) {
		if status < 100 || status > 999 {
			return
		}
		line := parseErrorBody(status, []byte(body)).Error()
		if strings.ContainsAny(line, "\r\n\x00") {
			t.Errorf("Error() = %q, want one line", line)
		}
		if len(line) > maxMessage+100 {
			t.Errorf("Error() is %d bytes, want at most %d", len(line), maxMessage+100)
		}
	})
}
