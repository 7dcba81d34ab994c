package profile

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/stsbroker/broker/internal/auth"
	"github.com/stsbroker/broker/internal/chain"
)

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		config  func(*Config)
		wantErr string // "" for success
	}{
		{name: "design-example"},
		{
			name:   "ambient-source-identity-on-single-hop",
			config: func(c *Config) { c.Source = chain.Ambient; c.Chain = c.Chain[1:] },
		},
		{
			name:    "empty-name",
			config:  func(c *Config) { c.Name = "" },
			wantErr: "profile: : name: empty",
		},
		{
			name:    "empty-issuer",
			config:  func(c *Config) { c.Issuer = "" },
			wantErr: "profile: prod-deploy: issuer: empty",
		},
		{
			name:    "unknown-source",
			config:  func(c *Config) { c.Source = 7 },
			wantErr: "profile: prod-deploy: source: unknown source 7",
		},
		{
			name:    "no-hops",
			config:  func(c *Config) { c.Chain = nil; c.SourceIdentity = "" },
			wantErr: "profile: prod-deploy: chain: no hops",
		},
		{
			name: "too-many-hops",
			config: func(c *Config) {
				for range 9 {
					c.Chain = append(c.Chain, HopConfig{RoleARN: deployRole})
				}
			},
			wantErr: "profile: prod-deploy: chain: 11 hops, at most 10",
		},
		{
			name:    "empty-role-arn",
			config:  func(c *Config) { c.Chain[1].RoleARN = "" },
			wantErr: "profile: prod-deploy: chain[1].role_arn: empty",
		},
		{
			name:    "negative-duration",
			config:  func(c *Config) { c.Chain[0].Duration = -time.Second },
			wantErr: "profile: prod-deploy: chain[0].duration: negative",
		},
		{
			name:    "chained-duration-over-1h",
			config:  func(c *Config) { c.Chain[1].Duration = 2 * time.Hour },
			wantErr: "profile: prod-deploy: chain[1].duration: 2h0m0s exceeds the 1h role-chaining limit",
		},
		{
			name:    "external-id-on-web-identity-hop",
			config:  func(c *Config) { c.Chain[0].ExternalID = "leaky-external-id" },
			wantErr: "profile: prod-deploy: chain[0].external_id: not accepted by AssumeRoleWithWebIdentity",
		},
		{
			name:    "tags-on-web-identity-hop",
			config:  func(c *Config) { c.Chain[0].SessionTags = map[string]string{"k": "v"} },
			wantErr: "profile: prod-deploy: chain[0].session_tags: not accepted by AssumeRoleWithWebIdentity (tags come from the token)",
		},
		{
			name:    "source-identity-without-assume-role-hop",
			config:  func(c *Config) { c.Chain = c.Chain[:1] },
			wantErr: "profile: prod-deploy: source_identity: needs an AssumeRole hop (AssumeRoleWithWebIdentity takes it only from the token)",
		},
		{
			name:    "invalid-tag-key",
			config:  func(c *Config) { c.Chain[1].SessionTags["bad!"] = "v" },
			wantErr: "profile: prod-deploy: chain[1].session_tags.bad!: invalid tag key",
		},
		{
			name:    "tag-keys-case-insensitive",
			config:  func(c *Config) { c.Chain[1].SessionTags["Repo"] = "v" },
			wantErr: `profile: prod-deploy: chain[1].session_tags.repo: repeats key "Repo" (tag keys are case-insensitive)`,
		},
		{
			name: "too-many-tags",
			config: func(c *Config) {
				for i := range 48 {
					c.Chain[1].SessionTags["k"+strings.Repeat("x", i)] = "v"
				}
			},
			wantErr: "profile: prod-deploy: chain[1].session_tags: 51 tags, at most 50",
		},
		{
			name:    "too-many-policy-arns",
			config:  func(c *Config) { c.Chain[1].PolicyARNs = make([]string, 11) },
			wantErr: "profile: prod-deploy: chain[1].policy_arns: 11 ARNs, at most 10",
		},
		{
			name:    "bad-session-name-template",
			config:  func(c *Config) { c.SessionName = "{{ .claims.run_id " },
			wantErr: `profile: prod-deploy: session_name: template: session_name:1: unclosed action`,
		},
		{
			name:    "bad-tag-template",
			config:  func(c *Config) { c.Chain[1].SessionTags["repo"] = "{{ nosuchfunc }}" },
			wantErr: `profile: prod-deploy: chain[1].session_tags.repo: template: chain[1].session_tags.repo:1: function "nosuchfunc" not defined`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := prodDeploy()
			if tt.config != nil {
				tt.config(&cfg)
			}
			p, err := New(cfg)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("New() error = %v, want nil", err)
				}
				if p.Name() != cfg.Name || p.Issuer() != cfg.Issuer {
					t.Errorf("Name(), Issuer() = %q, %q, want %q, %q", p.Name(), p.Issuer(), cfg.Name, cfg.Issuer)
				}
				return
			}
			if err == nil {
				t.Fatalf("New() error = nil, want %q", tt.wantErr)
			}
			if err.Error() != tt.wantErr {
				t.Errorf("New() error = %q, want %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "leaky-external-id") {
				t.Errorf("New() error = %q, want no ExternalId", err)
			}
		})
	}
}

func TestNewReportsEveryProblem(t *testing.T) {
	cfg := prodDeploy()
	cfg.Issuer = ""
	cfg.Chain[0].ExternalID = "x"
	cfg.Chain[1].Duration = 2 * time.Hour
	cfg.SessionName = "{{"
	_, err := New(cfg)
	want := strings.Join([]string{
		"profile: prod-deploy: issuer: empty",
		"profile: prod-deploy: session_name: template: session_name:1: unclosed action",
		"profile: prod-deploy: chain[0].external_id: not accepted by AssumeRoleWithWebIdentity",
		"profile: prod-deploy: chain[1].duration: 2h0m0s exceeds the 1h role-chaining limit",
	}, "\n")
	if err == nil || err.Error() != want {
		t.Errorf("New() error = %v, want %q", err, want)
	}
}

func TestAuthorize(t *testing.T) {
	tests := []struct {
		name string
		id   func() *auth.Identity
		want *auth.ConditionError // nil: authorized
	}{
		{
			name: "authorized",
			id:   func() *auth.Identity { return githubIdentity(githubClaims("1")) },
		},
		{
			name: "wrong-issuer",
			id: func() *auth.Identity {
				id := githubIdentity(githubClaims("1"))
				id.Issuer = "gitlab"
				return id
			},
			want: &auth.ConditionError{Operator: "issuer", Claim: "iss"},
		},
		{
			name: "nil-identity",
			id:   func() *auth.Identity { return nil },
			want: &auth.ConditionError{Operator: "issuer", Claim: "iss"},
		},
		{
			name: "condition-not-met",
			id: func() *auth.Identity {
				c := githubClaims("1")
				c["repository_owner"] = "evilorg"
				return githubIdentity(c)
			},
			want: &auth.ConditionError{Operator: "StringEquals", Claim: "repository_owner"},
		},
	}
	p, err := New(prodDeploy())
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := p.Authorize(tt.id())
			if tt.want == nil {
				if err != nil {
					t.Errorf("Authorize() error = %v, want nil", err)
				}
				return
			}
			var got *auth.ConditionError
			if !errors.As(err, &got) {
				t.Fatalf("Authorize() error = %v, want *auth.ConditionError", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Authorize() error mismatch (-want +got):\n%s", diff)
			}
			if strings.Contains(err.Error(), "evilorg") || strings.Contains(err.Error(), "myorg") {
				t.Errorf("Authorize() error = %q, want no claim or condition value", err)
			}
		})
	}
}

// TestNewCopiesConditions: changing the configuration's condition maps or
// lists after New does not change what the profile allows.
func TestNewCopiesConditions(t *testing.T) {
	cfg := prodDeploy()
	cfg.Conditions.StringLike = map[string][]string{"sub": {"repo:myorg/*"}}
	p, err := New(cfg)
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	cfg.Conditions.StringEquals["repository_owner"][0] = "evil"
	cfg.Conditions.StringLike["sub"] = []string{"repo:evil/*"}
	cfg.Conditions.StringEquals["actor"] = []string{"nobody"}
	if err := p.Authorize(githubIdentity(githubClaims("1"))); err != nil {
		t.Errorf("Authorize() after the config changed = %v, want allowed by the conditions given to New", err)
	}
}

// TestProfileFormat: no fmt verb prints a profile's ExternalId.
func TestProfileFormat(t *testing.T) {
	p, err := New(prodDeploy())
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%q"} {
		if s := fmt.Sprintf(verb, p); strings.Contains(s, string(externalID)) || strings.Contains(s, fmt.Sprintf("%x", string(externalID))) {
			t.Errorf("Sprintf(%s, profile) = %.120s, contains the ExternalId", verb, s)
		}
	}
	if got, want := fmt.Sprint(p), `profile.Profile{name: "prod-deploy", issuer: "github", hops: 2}`; got != want {
		t.Errorf("Sprint(profile) = %s, want %s", got, want)
	}
}
