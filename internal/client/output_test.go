package client

import (
	"strings"
	"testing"
)

// A 200 is credentials only if each key is visible ASCII and AccountId, when
// present, is an account number: anything else would fail later, in every
// AWS call, far from its cause, or print a broken line on stdout.
func TestParseOutputFields(t *testing.T) {
	tests := []struct {
		name       string
		from, to   string // okBody with from replaced by to
		wantReason string // "" means accepted
	}{
		{name: "ok"},
		{name: "account-id-absent", from: `,"AccountId":"222222222222"`, to: ``},
		{name: "account-id-empty", from: `"AccountId":"222222222222"`, to: `"AccountId":""`},
		{name: "access-key-blank", from: `"ASIAEXAMPLEKEY"`, to: `" "`, wantReason: "AccessKeyId contains whitespace, control or non-ASCII characters"},
		{name: "access-key-padded", from: `"ASIAEXAMPLEKEY"`, to: `" ASIAEXAMPLEKEY"`, wantReason: "AccessKeyId contains whitespace, control or non-ASCII characters"},
		{name: "secret-blank", from: `"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"`, to: `"\t"`, wantReason: "SecretAccessKey contains whitespace, control or non-ASCII characters"},
		{name: "secret-with-newline", from: `"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"`, to: `"wJalr\nXUtn"`, wantReason: "SecretAccessKey contains whitespace, control or non-ASCII characters"},
		{name: "session-token-blank", from: `"FwoGZXIvYXdzEXAMPLE"`, to: `"  "`, wantReason: "SessionToken contains whitespace, control or non-ASCII characters"},
		{name: "session-token-nul", from: `"FwoGZXIvYXdzEXAMPLE"`, to: `"Fwo\u0000G"`, wantReason: "SessionToken contains whitespace, control or non-ASCII characters"},
		{name: "session-token-del", from: `"FwoGZXIvYXdzEXAMPLE"`, to: `"Fwo\u007fG"`, wantReason: "SessionToken contains whitespace, control or non-ASCII characters"},
		{name: "session-token-non-breaking-space", from: `"FwoGZXIvYXdzEXAMPLE"`, to: `"Fwo\u00a0G"`, wantReason: "SessionToken contains whitespace, control or non-ASCII characters"},
		{name: "session-token-line-separator", from: `"FwoGZXIvYXdzEXAMPLE"`, to: `"Fwo\u2028G"`, wantReason: "SessionToken contains whitespace, control or non-ASCII characters"},
		{name: "account-id-two-lines", from: `"222222222222"`, to: `"1\n2"`, wantReason: "AccountId is not 12 digits"},
		{name: "account-id-short", from: `"222222222222"`, to: `"22222222222"`, wantReason: "AccountId is not 12 digits"},
		{name: "account-id-long", from: `"222222222222"`, to: `"2222222222222"`, wantReason: "AccountId is not 12 digits"},
		{name: "account-id-padded", from: `"222222222222"`, to: `" 22222222222"`, wantReason: "AccountId is not 12 digits"},
		{name: "account-id-letters", from: `"222222222222"`, to: `"22222222222a"`, wantReason: "AccountId is not 12 digits"},
		{name: "account-id-fullwidth-digits", from: `"222222222222"`, to: `"２２２２２２２２２２２２"`, wantReason: "AccountId is not 12 digits"},
		{name: "account-id-blank", from: `"222222222222"`, to: `"            "`, wantReason: "AccountId is not 12 digits"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := okBody
			if tt.from != "" {
				if !strings.Contains(body, tt.from) {
					t.Fatalf("okBody lacks %q", tt.from)
				}
				body = strings.Replace(body, tt.from, tt.to, 1)
			}
			out, reason := parseOutput([]byte(body), fixedNow())
			if reason != tt.wantReason {
				t.Errorf("parseOutput() reason = %q, want %q", reason, tt.wantReason)
			}
			if (out != nil) != (tt.wantReason == "") {
				t.Errorf("parseOutput() = %+v, want output only when accepted", out)
			}
		})
	}
}
