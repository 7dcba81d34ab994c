package api

import (
	"regexp"
	"strings"
	"testing"
)

// TestValidProfileName checks the byte loop against the regexp it replaced
// (the syntax config validation enforces) on every single byte and on the
// length limits.
func TestValidProfileName(t *testing.T) {
	syntax := regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)
	inputs := []string{"", "prod-deploy", "a.b_c-D9", strings.Repeat("a", 64), strings.Repeat("a", 65),
		"prod/deploy", "prod deploy", "prød", "..", "%2e", "a\x00"}
	for c := range 256 {
		inputs = append(inputs, "p"+string(rune(c)), string([]byte{byte(c)}))
	}
	for _, in := range inputs {
		if got, want := validProfileName(in), syntax.MatchString(in); got != want {
			t.Errorf("validProfileName(%q) = %v, want %v", in, got, want)
		}
	}
}
