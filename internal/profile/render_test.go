package profile

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/stsbroker/broker/internal/auth"
	"github.com/stsbroker/broker/internal/chain"
)

const (
	toolingRole = "arn:aws:iam::111111111111:role/github-actions-oidc"
	deployRole  = "arn:aws:iam::222222222222:role/ci-deploy-role"
	readOnlyARN = "arn:aws:iam::aws:policy/ReadOnlyAccess"
	testToken   = chain.Secret("eyJhbGciOiJSUzI1NiJ9.payload.sig")
	externalID  = chain.Secret("myorg-prod-deploy")
)

// githubClaims returns GitHub-like verified claims with run_id set as given.
func githubClaims(runID any) map[string]any {
	return map[string]any{
		"iss":              "https://token.actions.githubusercontent.com",
		"sub":              "repo:myorg/app:ref:refs/heads/main",
		"aud":              "sts.amazonaws.com",
		"repository":       "myorg/app",
		"repository_owner": "myorg",
		"actor":            "octocat",
		"run_id":           runID,
	}
}

func githubIdentity(claims map[string]any) *auth.Identity {
	return &auth.Identity{
		Issuer:    "github",
		IssuerURL: "https://token.actions.githubusercontent.com",
		Subject:   "repo:myorg/app:ref:refs/heads/main",
		Audience:  []string{"sts.amazonaws.com"},
		Expiry:    tokenExpiry,
		Payload:   payload(claims),
	}
}

// tokenExpiry is githubIdentity's exp, which a web identity plan carries.
var tokenExpiry = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// payload encodes claims as a token's payload.
func payload(claims map[string]any) []byte {
	b, err := json.Marshal(claims)
	if err != nil {
		panic(err)
	}
	return b
}

// prodDeploy is design.md's example profile.
func prodDeploy() Config {
	return Config{
		Name:   "prod-deploy",
		Issuer: "github",
		Source: chain.WebIdentity,
		Conditions: auth.Conditions{
			StringEquals: map[string][]string{"repository_owner": {"myorg"}},
		},
		SessionName:    "gha-{{ .claims.run_id }}",
		SourceIdentity: "{{ .claims.actor }}",
		Chain: []HopConfig{
			{RoleARN: toolingRole, Duration: time.Hour},
			{
				RoleARN:    deployRole,
				ExternalID: externalID,
				Duration:   time.Hour,
				SessionTags: map[string]string{
					"repo":    "{{ .claims.repository }}",
					"actor":   "{{ .claims.actor }}",
					"profile": "{{ .profile }}@{{ .issuer }}",
				},
				TransitiveTagKeys: []string{"repo"},
				PolicyARNs:        []string{readOnlyARN},
				Policy:            `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::{{ .claims.repository_owner }}-*"}]}`,
			},
		},
	}
}

// prodDeployPlan is what prodDeploy renders for githubIdentity.
func prodDeployPlan() chain.Plan {
	return chain.Plan{
		Profile:          "prod-deploy",
		Source:           chain.WebIdentity,
		WebIdentityToken: testToken,
		TokenExpiry:      tokenExpiry,
		Identity:         "https://token.actions.githubusercontent.com\x00repo:myorg/app:ref:refs/heads/main",
		Hops: []chain.Hop{
			{RoleARN: toolingRole, SessionName: "gha-123456789", Duration: time.Hour},
			{
				RoleARN:     deployRole,
				SessionName: "gha-123456789",
				ExternalID:  externalID,
				Duration:    time.Hour,
				Tags: []chain.Tag{
					{Key: "actor", Value: "octocat"},
					{Key: "profile", Value: "prod-deploy@github"},
					{Key: "repo", Value: "myorg/app"},
				},
				TransitiveTagKeys: []string{"repo"},
				SourceIdentity:    "octocat",
				PolicyARNs:        []string{readOnlyARN},
				Policy:            `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::myorg-*"}]}`,
			},
		},
	}
}

// revealSecrets lets cmp compare chain.Secret values (a plain string
// comparison; the test values are not real secrets).
var revealSecrets = cmp.Comparer(func(a, b chain.Secret) bool { return a.Reveal() == b.Reveal() })

func TestRender(t *testing.T) {
	tests := []struct {
		name   string
		config func(*Config)
		claims map[string]any
		want   func(*chain.Plan)
	}{
		{
			name:   "run-id-json-number",
			claims: githubClaims(json.Number("123456789")),
		},
		{
			name:   "run-id-string",
			claims: githubClaims("123456789"),
		},
		{
			name:   "default-session-name-is-sanitized-sub",
			config: func(c *Config) { c.SessionName = "" },
			claims: githubClaims("123456789"),
			want: func(p *chain.Plan) {
				for i := range p.Hops {
					p.Hops[i].SessionName = "repo-myorg-app-ref-refs-heads-main-0e549879bd"
				}
			},
		},
		{
			name:   "session-name-and-source-identity-sanitized",
			config: func(c *Config) { c.SourceIdentity = "aws:{{ .claims.actor }}" },
			claims: func() map[string]any {
				c := githubClaims("1")
				c["actor"] = "a"
				return c
			}(),
			want: func(p *chain.Plan) {
				for i := range p.Hops {
					p.Hops[i].SessionName = "gha-1"
				}
				p.Hops[1].SourceIdentity = "aws-a-bdf2463fa7"
				p.Hops[1].Tags[0].Value = "a"
			},
		},
		{
			name: "tag-values-sanitized-and-truncated",
			claims: func() map[string]any {
				c := githubClaims("123456789")
				c["repository"] = `my"org/app!` + strings.Repeat("x", 300)
				return c
			}(),
			want: func(p *chain.Plan) {
				p.Hops[1].Tags[2].Value = ("my_org/app_" + strings.Repeat("x", 300))[:256]
			},
		},
		{
			name: "ambient-has-no-token-and-source-identity-on-hop-1",
			config: func(c *Config) {
				c.Source = chain.Ambient
				c.Chain = c.Chain[1:]
			},
			claims: githubClaims("123456789"),
			want: func(p *chain.Plan) {
				p.Source = chain.Ambient
				p.WebIdentityToken = ""
				p.TokenExpiry = time.Time{}
				p.Hops = p.Hops[1:]
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := prodDeploy()
			if tt.config != nil {
				tt.config(&cfg)
			}
			p, err := New(cfg)
			if err != nil {
				t.Fatalf("New() error = %v", err)
			}
			want := prodDeployPlan()
			if tt.want != nil {
				tt.want(&want)
			}
			got, err := p.Render(githubIdentity(tt.claims), testToken)
			if err != nil {
				t.Fatalf("Render() error = %v", err)
			}
			if diff := cmp.Diff(want, got, revealSecrets); diff != "" {
				t.Errorf("Render() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRenderDoesNotShareSlices: a caller that changes its plan does not
// change the next caller's.
func TestRenderDoesNotShareSlices(t *testing.T) {
	p, err := New(prodDeploy())
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	id := githubIdentity(githubClaims("123456789"))
	first, err := p.Render(id, testToken)
	if err != nil {
		t.Fatalf("Render() error = %v", err)
	}
	first.Hops[1].PolicyARNs[0] = "changed"
	first.Hops[1].TransitiveTagKeys[0] = "changed"
	second, err := p.Render(id, testToken)
	if err != nil {
		t.Fatalf("Render() error = %v", err)
	}
	if diff := cmp.Diff(prodDeployPlan(), second, revealSecrets); diff != "" {
		t.Errorf("Render() after changing an earlier plan mismatch (-want +got):\n%s", diff)
	}
}

func TestRenderDifferentCallersDifferentSessionNames(t *testing.T) {
	cfg := prodDeploy()
	cfg.SessionName = "" // {{ .claims.sub }}
	p, err := New(cfg)
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	render := func(sub string) string {
		t.Helper()
		c := githubClaims("1")
		c["sub"] = sub
		plan, err := p.Render(githubIdentity(c), testToken)
		if err != nil {
			t.Fatalf("Render() error = %v", err)
		}
		return plan.Hops[0].SessionName
	}
	// Both become "repo-org-a-b" before the hash.
	a, b := render("repo:org/a-b"), render("repo:org/a:b")
	if a == b {
		t.Errorf("Render() session names = %q and %q, want different", a, b)
	}
}

func TestRenderError(t *testing.T) {
	tests := []struct {
		name      string
		config    func(*Config)
		claims    func(map[string]any)
		wantField string
		wantMsg   string
		// causeHas is text the wrapped template error contains but the
		// message must not (proves the case exercises a leaking message).
		causeHas string
	}{
		{
			name:      "missing-claim-in-session-name",
			claims:    func(c map[string]any) { delete(c, "run_id") },
			wantField: "session_name",
			wantMsg:   `profile: render session_name: template: session_name:1:14: executing "session_name" at <.claims.run_id>: missing key "run_id"`,
		},
		{
			name:      "missing-claim-in-source-identity",
			claims:    func(c map[string]any) { delete(c, "actor") },
			wantField: "source_identity",
			wantMsg:   `profile: render source_identity: template: source_identity:1:10: executing "source_identity" at <.claims.actor>: missing key "actor"`,
		},
		{
			name:      "missing-claim-in-tag",
			claims:    func(c map[string]any) { delete(c, "repository") },
			wantField: "chain[1].session_tags.repo",
			wantMsg:   `profile: render chain[1].session_tags.repo: template: chain[1].session_tags.repo:1:10: executing "chain[1].session_tags.repo" at <.claims.repository>: missing key "repository"`,
		},
		{
			name:      "missing-claim-in-policy",
			claims:    func(c map[string]any) { delete(c, "repository_owner") },
			wantField: "chain[1].policy",
			wantMsg:   `profile: render chain[1].policy: template: chain[1].policy:1:106: executing "chain[1].policy" at <.claims.repository_owner>: missing key "repository_owner"`,
		},
		{
			name:      "null-claim-in-session-name",
			claims:    func(c map[string]any) { c["run_id"] = nil },
			wantField: "session_name",
			wantMsg:   `profile: render session_name: template: session_name:1:14: executing "session_name" at <.claims.run_id>: missing key "run_id"`,
		},
		{
			name:      "null-claim-in-nested-object",
			config:    func(c *Config) { c.SessionName = "gha-{{ .claims.ctx.env }}" },
			claims:    func(c map[string]any) { c["ctx"] = map[string]any{"env": nil, "other": "x"} },
			wantField: "session_name",
			wantMsg:   `profile: render session_name: template: session_name:1:14: executing "session_name" at <.claims.ctx.env>: missing key "env"`,
		},
		{
			name:      "index-of-missing-claim",
			config:    func(c *Config) { c.SessionName = `gha-{{ index .claims "nope" }}` },
			wantField: "session_name",
			wantMsg:   `profile: render session_name: template: session_name:1:7: executing "session_name" at <index .claims "nope">: execution failed`,
		},
		{
			name:      "index-of-null-claim",
			config:    func(c *Config) { c.SessionName = `gha-{{ index .claims "run_id" }}` },
			claims:    func(c map[string]any) { c["run_id"] = nil },
			wantField: "session_name",
			wantMsg:   `profile: render session_name: template: session_name:1:7: executing "session_name" at <index .claims "run_id">: execution failed`,
		},
		{
			name:      "null-in-object-in-list",
			config:    func(c *Config) { c.SessionName = `gha-{{ (index .claims.groups 0).env }}` },
			claims:    func(c map[string]any) { c["groups"] = []any{map[string]any{"env": nil}} },
			wantField: "session_name",
			wantMsg:   `profile: render session_name: template: session_name:1:29: executing "session_name" at <0>: missing key "env"`,
		},
		{
			name:      "null-list-element",
			config:    func(c *Config) { c.SessionName = `gha-{{ index .claims.groups 1 }}` },
			claims:    func(c map[string]any) { c["groups"] = []any{"a", nil} },
			wantField: "session_name",
			wantMsg:   `profile: render session_name: template: session_name:1:7: executing "session_name" at <index .claims.groups 1>: execution failed`,
		},
		{
			name:      "null-through-range-and-index",
			config:    func(c *Config) { c.SessionName = `gha-{{ range .claims.groups }}{{ index . }}{{ end }}` },
			claims:    func(c map[string]any) { c["groups"] = []any{"a", nil} },
			wantField: "session_name",
			wantMsg:   `profile: render session_name: template: session_name:1:33: executing "session_name" at <index .>: execution failed`,
		},
		{
			name:      "index-out-of-range",
			config:    func(c *Config) { c.SessionName = `gha-{{ index .claims.groups 5 }}` },
			claims:    func(c map[string]any) { c["groups"] = []any{"a"} },
			wantField: "session_name",
			wantMsg:   `profile: render session_name: template: session_name:1:7: executing "session_name" at <index .claims.groups 5>: execution failed`,
		},
		{
			// The key comes from a claim: the message must not quote it.
			name:      "index-key-from-claim",
			config:    func(c *Config) { c.SessionName = `gha-{{ index .claims .claims.repository }}` },
			wantField: "session_name",
			wantMsg:   `profile: render session_name: template: session_name:1:7: executing "session_name" at <index .claims .claims.repository>: execution failed`,
		},
		{
			// text/template's own message would quote the claim's value.
			name:      "value-never-in-message",
			config:    func(c *Config) { c.SessionName = "{{ range .claims.sub }}x{{ end }}" },
			wantField: "session_name",
			wantMsg:   `profile: render session_name: template: session_name:1:16: executing "session_name" at <.claims.sub>: execution failed`,
			causeHas:  "repo:myorg/app:ref:refs/heads/main",
		},
		{
			// STS accepts at most 2048 characters in a policy: refused
			// before any STS call, without quoting the claim.
			name: "policy-too-long-for-sts",
			config: func(c *Config) {
				c.Chain[1].Policy = resourcePolicy("{{ .claims.workflow }}")
				c.Chain[1].PolicyARNs = nil
			},
			claims:    func(c map[string]any) { c["workflow"] = "wf-" + strings.Repeat("w", 2100) },
			wantField: "chain[1].policy",
			wantMsg:   fmt.Sprintf(`profile: render chain[1].policy: the claims make the rendered policy longer than the 2048 characters STS accepts (%d characters)`, len(resourcePolicy(""))+2103),
		},
		{
			// The 2048 characters are for the policy and the hop's policy
			// ARNs together: a policy that fits alone is refused with them.
			name:      "policy-too-long-with-policy-arns",
			config:    func(c *Config) { c.Chain[1].Policy = resourcePolicy("{{ .claims.workflow }}") },
			claims:    func(c map[string]any) { c["workflow"] = strings.Repeat("w", 2048-len(resourcePolicy(""))) },
			wantField: "chain[1].policy",
			wantMsg:   fmt.Sprintf(`profile: render chain[1].policy: the claims make the rendered policy, together with the hop's policy_arns, longer than the 2048 characters STS accepts for both (2048 characters of policy, %d of policy ARNs)`, len(readOnlyARN)),
		},
		{
			// STS accepts tab, newline, carriage return and U+0020 to
			// U+00FF in a policy.
			name:      "policy-character-sts-refuses",
			config:    func(c *Config) { c.Chain[1].Policy = resourcePolicy("{{ .claims.workflow }}") },
			claims:    func(c map[string]any) { c["workflow"] = "wf-build→deploy" },
			wantField: "chain[1].policy",
			wantMsg:   `profile: render chain[1].policy: the claims put characters into the rendered policy that STS refuses (it accepts tab, newline, carriage return and U+0020 to U+00FF)`,
		},
		{
			name:      "output-too-large",
			config:    func(c *Config) { c.SessionName = `{{ printf "%099999d" 1 }}` },
			wantField: "session_name",
			wantMsg:   `profile: render session_name: output exceeds 65536 bytes`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := prodDeploy()
			if tt.config != nil {
				tt.config(&cfg)
			}
			p, err := New(cfg)
			if err != nil {
				t.Fatalf("New() error = %v", err)
			}
			claims := githubClaims("123456789")
			if tt.claims != nil {
				tt.claims(claims)
			}
			got, err := p.Render(githubIdentity(claims), testToken)
			var re *RenderError
			if !errors.As(err, &re) {
				t.Fatalf("Render() error = %v, want *RenderError", err)
			}
			if re.Field != tt.wantField {
				t.Errorf("RenderError.Field = %q, want %q", re.Field, tt.wantField)
			}
			if msg := err.Error(); msg != tt.wantMsg {
				t.Errorf("Render() error = %q, want %q", msg, tt.wantMsg)
			}
			if tt.causeHas != "" && !strings.Contains(re.Err.Error(), tt.causeHas) {
				t.Errorf("RenderError.Err = %q, want it to contain %q", re.Err, tt.causeHas)
			}
			if msg := err.Error(); strings.Contains(msg, "myorg/app") || strings.Contains(msg, "octocat") || strings.Contains(msg, "refs/heads") || strings.Contains(msg, "wf-") {
				t.Errorf("Render() error = %q, want no claim value", msg)
			}
			if diff := cmp.Diff(chain.Plan{}, got, revealSecrets); diff != "" {
				t.Errorf("Render() plan on error mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRenderNilIdentity(t *testing.T) {
	p, err := New(prodDeploy())
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	if _, err := p.Render(nil, testToken); err == nil || err.Error() != "profile: render: no identity" {
		t.Errorf("Render(nil) error = %v, want profile: render: no identity", err)
	}
}

// TestRenderIndex: index reaches claims whose names are not identifiers
// (AWS's principal tags claim) and list elements, as text/template's does.
func TestRenderIndex(t *testing.T) {
	cfg := prodDeploy()
	cfg.SessionName = `{{ index .claims "https://aws.amazon.com/tags" "principal_tags" "team" 0 }}-{{ index .claims.groups 1 }}`
	p, err := New(cfg)
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	claims := githubClaims("1")
	claims["https://aws.amazon.com/tags"] = map[string]any{"principal_tags": map[string]any{"team": []any{"platform", "sre"}}}
	claims["groups"] = []any{"a", "b", nil}
	plan, err := p.Render(githubIdentity(claims), testToken)
	if err != nil {
		t.Fatalf("Render() = %v", err)
	}
	if got := plan.Hops[0].SessionName; got != "platform-b" {
		t.Errorf("session name = %q, want platform-b", got)
	}
}

// TestWithoutNulls: null members go at every depth, objects inside lists
// included; null list elements stay; what has no null is shared, not
// copied; the input is never modified.
func TestWithoutNulls(t *testing.T) {
	unchanged := map[string]any{"h": "i"}
	sibling := []any{"p", "q"}
	in := map[string]any{
		"a": map[string]any{"b": nil, "c": "x", "l": sibling},
		"d": []any{map[string]any{"e": nil}, "f", nil},
		"g": unchanged,
		"n": nil,
	}
	before := fmt.Sprint(in)
	got := withoutNulls(in)
	want := map[string]any{
		"a": map[string]any{"c": "x", "l": []any{"p", "q"}},
		"d": []any{map[string]any{}, "f", nil},
		"g": map[string]any{"h": "i"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("withoutNulls() (-want +got):\n%s", diff)
	}
	if fmt.Sprint(in) != before {
		t.Errorf("withoutNulls modified its input: %v, was %v", in, before)
	}
	if reflect.ValueOf(got["g"]).UnsafePointer() != reflect.ValueOf(unchanged).UnsafePointer() {
		t.Errorf("withoutNulls copied an object without nulls, want it shared")
	}
	if l := got["a"].(map[string]any)["l"].([]any); &l[0] != &sibling[0] {
		t.Errorf("withoutNulls copied a list without nulls beside a removed null, want it shared")
	}
	if noNull := map[string]any{"a": []any{"b", map[string]any{"c": 1}}}; reflect.ValueOf(withoutNulls(noNull)).UnsafePointer() != reflect.ValueOf(noNull).UnsafePointer() {
		t.Errorf("withoutNulls copied claims without a null, want them returned as they are")
	}

	// A hostile token can nest deeply (encoding/json allows 10 000 levels):
	// one pass, whatever the depth.
	var deep any = map[string]any{"x": nil}
	for range 5000 {
		deep = []any{deep}
	}
	v := withoutNulls(map[string]any{"deep": deep})["deep"]
	for range 5000 {
		v = v.([]any)[0]
	}
	if m := v.(map[string]any); len(m) != 0 {
		t.Errorf("innermost object = %v, want its null member removed", m)
	}
}

// FuzzRenderClaims renders templates that use index, field access and range
// over fuzzed claims (decoded as the verifier decodes them): no panic, and
// a RenderError never quotes a claim value.
func FuzzRenderClaims(f *testing.F) {
	for _, s := range []string{
		`{"a":[{"b":"secret-value-1"}],"k":"a"}`, `{"a":null,"k":"zz"}`, `{"a":[null,"x"],"k":"a"}`,
		`{"a":{"b":null},"k":"secret-key-value"}`, `{"a":[[[{"b":null}]]]}`, `{"a":1.5,"k":7}`, `{}`,
	} {
		f.Add(s)
	}
	templates := []string{
		`{{ index .claims "a" }}`, `{{ index .claims "a" 0 "b" }}`, `{{ .claims.a.b }}`,
		`{{ range .claims.a }}{{ index . }}{{ end }}`, `{{ index .claims .claims.k }}`, `{{ index .claims.a 1 }}`,
	}
	var profiles []*Profile
	for _, tmpl := range templates {
		p, err := New(Config{Name: "fuzz", Issuer: "github", SessionName: tmpl, Chain: []HopConfig{{RoleARN: "arn:aws:iam::111111111111:role/r"}}})
		if err != nil {
			f.Fatalf("New(%s) = %v", tmpl, err)
		}
		profiles = append(profiles, p)
	}
	f.Fuzz(func(t *testing.T, payload string) {
		dec := json.NewDecoder(strings.NewReader(payload))
		dec.UseNumber()
		var claims map[string]any
		if dec.Decode(&claims) != nil || claims == nil {
			return
		}
		values := claimStrings(claims, nil)
		for i, p := range profiles {
			_, err := p.Render(&auth.Identity{Issuer: "github", Subject: "s", Payload: []byte(payload)}, "token")
			if err == nil {
				continue
			}
			var re *RenderError
			if !errors.As(err, &re) {
				t.Fatalf("Render(%s) error = %v, want a RenderError", templates[i], err)
			}
			for _, v := range values {
				if len(v) >= 8 && strings.Contains(err.Error(), v) && !strings.Contains(templates[i], v) {
					t.Fatalf("Render(%s) error %q quotes the claim value %q", templates[i], err, v)
				}
			}
		}
	})
}

// claimStrings collects the strings in a decoded JSON value, keys included.
func claimStrings(v any, out []string) []string {
	switch v := v.(type) {
	case string:
		out = append(out, v)
	case json.Number:
		out = append(out, v.String())
	case map[string]any:
		for k, e := range v {
			out = claimStrings(e, append(out, k))
		}
	case []any:
		for _, e := range v {
			out = claimStrings(e, out)
		}
	}
	return out
}

func TestStrictIndex(t *testing.T) {
	claims := map[string]any{"a": []any{"x", nil, map[string]any{"b": "y"}}, "n": json.Number("7"), "s": "str"}
	tests := []struct {
		name    string
		item    any
		keys    []any
		want    any
		wantErr string
	}{
		{name: "object-key", item: claims, keys: []any{"s"}, want: "str"},
		{name: "chained", item: claims, keys: []any{"a", 2, "b"}, want: "y"},
		{name: "no-keys", item: "str", want: "str"},
		{name: "missing-key", item: claims, keys: []any{"z"}, wantErr: "missing key"},
		{name: "null-element", item: claims, keys: []any{"a", 1}, wantErr: "null value"},
		{name: "null-item", item: nil, wantErr: "null value"},
		{name: "out-of-range", item: claims, keys: []any{"a", 3}, wantErr: "list index out of range"},
		{name: "negative", item: claims, keys: []any{"a", -1}, wantErr: "list index out of range"},
		{name: "list-index-not-int", item: claims, keys: []any{"a", "0"}, wantErr: "list index is not an integer"},
		{name: "object-index-not-string", item: claims, keys: []any{1}, wantErr: "object index is not a string"},
		{name: "scalar", item: claims, keys: []any{"n", 0}, wantErr: "cannot index a json.Number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := strictIndex(tt.item, tt.keys...)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr || got != nil {
					t.Errorf("strictIndex() = %v, %v; want nil, %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("strictIndex() = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}
