package auth

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestNewRejectsConfig(t *testing.T) {
	ok := IssuerConfig{Name: "github", URL: "https://token.actions.githubusercontent.com", Audiences: []string{"sts.amazonaws.com"}}
	with := func(edit func(*IssuerConfig)) IssuerConfig {
		ic := ok
		edit(&ic)
		return ic
	}
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{name: "no-issuers", cfg: Config{}, want: "auth: no issuers configured"},
		{name: "missing-name", cfg: Config{Issuers: []IssuerConfig{with(func(ic *IssuerConfig) { ic.Name = "" })}}, want: "auth: issuers[0]: name is required"},
		{name: "duplicate-name", cfg: Config{Issuers: []IssuerConfig{ok, with(func(ic *IssuerConfig) { ic.URL = "https://gitlab.com" })}}, want: `auth: issuers[1]: duplicate name "github"`},
		{name: "duplicate-url", cfg: Config{Issuers: []IssuerConfig{ok, with(func(ic *IssuerConfig) { ic.Name = "other" })}}, want: `auth: issuers[1]: duplicate url "https://token.actions.githubusercontent.com"`},
		{name: "missing-url", cfg: Config{Issuers: []IssuerConfig{with(func(ic *IssuerConfig) { ic.URL = "" })}}, want: "auth: issuers[0]: url: is required"},
		{name: "http-not-loopback", cfg: Config{Issuers: []IssuerConfig{with(func(ic *IssuerConfig) { ic.URL = "http://issuer.example.com" })}}, want: "auth: issuers[0]: url: http is allowed only on a loopback host"},
		{name: "relative-url", cfg: Config{Issuers: []IssuerConfig{with(func(ic *IssuerConfig) { ic.URL = "/issuer" })}}, want: "auth: issuers[0]: url: must be an absolute URL without user, query or fragment"},
		{name: "bad-jwks-url", cfg: Config{Issuers: []IssuerConfig{with(func(ic *IssuerConfig) { ic.JWKSURL = "ftp://keys" })}}, want: `auth: issuers[0]: jwks url: scheme "ftp" is not https`},
		{name: "no-audience", cfg: Config{Issuers: []IssuerConfig{with(func(ic *IssuerConfig) { ic.Audiences = nil })}}, want: "auth: issuers[0]: at least one audience is required"},
		{name: "empty-audience", cfg: Config{Issuers: []IssuerConfig{with(func(ic *IssuerConfig) { ic.Audiences = []string{""} })}}, want: "auth: issuers[0]: empty audience"},
		{name: "alg-hs256", cfg: Config{Issuers: []IssuerConfig{with(func(ic *IssuerConfig) { ic.Algorithms = []string{"HS256"} })}}, want: `auth: issuers[0]: algorithm "HS256" is not supported`},
		{name: "alg-none", cfg: Config{Issuers: []IssuerConfig{with(func(ic *IssuerConfig) { ic.Algorithms = []string{"none"} })}}, want: `auth: issuers[0]: algorithm "none" is not supported`},
		{name: "negative-max-token-bytes", cfg: Config{Issuers: []IssuerConfig{ok}, MaxTokenBytes: -1}, want: "auth: max token bytes must not be negative"},
		{name: "negative-skew", cfg: Config{Issuers: []IssuerConfig{ok}, Skew: -1}, want: "auth: skew must not be negative"},
		{name: "negative-issuer-retry", cfg: Config{Issuers: []IssuerConfig{ok}, IssuerRetryMax: -1}, want: "auth: issuer retry delays must not be negative"},
		{name: "issuer-retry-min-above-max", cfg: Config{Issuers: []IssuerConfig{ok}, IssuerRetryMin: 2 * time.Second, IssuerRetryMax: time.Second}, want: "auth: issuer retry min 2s exceeds max 1s"},
		{name: "verified-cache-too-large", cfg: Config{Issuers: []IssuerConfig{ok}, VerifiedCacheSize: 1<<20 + 1}, want: "auth: verified cache size 1048577 exceeds the limit of 1048576"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := New(t.Context(), tt.cfg)
			if err == nil {
				t.Fatalf("New() = %v, nil, want error %q", v, tt.want)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("New() error = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNewReportsEveryProblem(t *testing.T) {
	_, err := New(t.Context(), Config{Issuers: []IssuerConfig{{}}, Skew: -1})
	if err == nil {
		t.Fatalf("New() error = nil, want errors")
	}
	want := []string{
		"auth: skew must not be negative",
		"auth: issuers[0]: name is required",
		"auth: issuers[0]: url: is required",
		"auth: issuers[0]: at least one audience is required",
	}
	if diff := cmp.Diff(want, strings.Split(err.Error(), "\n")); diff != "" {
		t.Errorf("New() errors mismatch (-want +got):\n%s", diff)
	}
}
