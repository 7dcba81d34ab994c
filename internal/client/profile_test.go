package client

import (
	"strings"
	"testing"
)

// The rule must match the server's (internal/config profileName plus "not
// only dots", internal/api validProfileName): these rows are the names the
// server accepts and refuses.
func TestValidProfile(t *testing.T) {
	tests := []struct {
		name    string
		profile string
		want    bool
	}{
		{name: "plain", profile: "prod-deploy", want: true},
		{name: "every-class", profile: "Az09_.-", want: true},
		{name: "one-char", profile: "p", want: true},
		{name: "64-bytes", profile: strings.Repeat("p", 64), want: true},
		{name: "leading-dot", profile: ".hidden", want: true},
		{name: "dots-and-letter", profile: "..a", want: true},
		{name: "empty", profile: "", want: false},
		{name: "65-bytes", profile: strings.Repeat("p", 65), want: false},
		{name: "dot", profile: ".", want: false},
		{name: "dot-dot", profile: "..", want: false},
		{name: "three-dots", profile: "...", want: false},
		{name: "space", profile: "a b", want: false},
		{name: "non-ascii", profile: "é", want: false},
		{name: "slash", profile: "a/b", want: false},
		{name: "percent", profile: "a%2fb", want: false},
		{name: "query", profile: "a?b", want: false},
		{name: "newline", profile: "a\nb", want: false},
		{name: "nul", profile: "a\x00", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := validProfile(tt.profile); got != tt.want {
				t.Errorf("validProfile(%q) = %v, want %v", tt.profile, got, tt.want)
			}
		})
	}
}
