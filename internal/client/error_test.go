package client

import (
	"strings"
	"testing"
)

func TestErrorLine(t *testing.T) {
	tests := []struct {
		name string
		err  Error
		want string
	}{
		{name: "status-code-message", err: Error{Status: 403, Code: "insufficient_scope", Message: "condition StringLike on sub not met"}, want: "broker: 403 insufficient_scope: condition StringLike on sub not met"},
		{name: "status-code", err: Error{Status: 401, Code: "invalid_token"}, want: "broker: 401 invalid_token"},
		{name: "status-only", err: Error{Status: 502, Message: "unexpected answer"}, want: "broker: 502: unexpected answer"},
		{name: "no-status", err: Error{Message: "cannot reach broker.example:8443: connect: connection refused"}, want: "broker: cannot reach broker.example:8443: connect: connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestExitForStatus(t *testing.T) {
	want := map[int]int{400: 1, 401: 1, 403: 1, 404: 1, 302: 1, 408: 3, 429: 3, 500: 3, 502: 3, 503: 3, 504: 3}
	for status, exit := range want {
		if got := exitForStatus(status); got != exit {
			t.Errorf("exitForStatus(%d) = %d, want %d", status, got, exit)
		}
	}
}

func TestSanitizeMessage(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{name: "plain", in: "condition StringLike on sub not met", want: "condition StringLike on sub not met"},
		{name: "controls-become-spaces", in: "a\nb\x1b[31mc\u2028d", want: "a b [31mc d"},
		{name: "invalid-utf8", in: "a\xffb", want: "a\uFFFDb"},
		{name: "trimmed", in: " \n msg \t", want: "msg"},
		{name: "cut-at-rune", in: strings.Repeat("é", 300), want: strings.Repeat("é", 256) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sanitizeMessage(tt.in); got != tt.want {
				t.Errorf("sanitizeMessage(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestHelpTextDocumentsContract(t *testing.T) {
	for _, want := range []string{
		"--url", "--profile", "--token-file", "--token-env", "--github-actions", "--audience", "--ca-file", "--cert-file", "--key-file", "--timeout",
		"  0  success", "  1  refused", "  2  usage", "  3  transient",
		"permissions: id-token: write",
		"credential_process = broker credential-process --url https://broker.example:8443 --profile prod-deploy --token-file /var/run/secrets/tokens/broker\n",
	} {
		if !strings.Contains(HelpText, want) {
			t.Errorf("HelpText does not contain %q", want)
		}
	}
}
