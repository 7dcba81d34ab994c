package profile

import (
	"encoding/json"
	"errors"
	"maps"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/stsbroker/broker/internal/profile/policy"
)

// tenantPolicy is the security review's reproduction: a per-repository,
// per-workflow prefix, where workflow is free text chosen by the caller.
const tenantPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::artifacts/{{ .claims.repository }}/{{ .claims.workflow }}/*"}]}`

// breakout is a workflow name that, unescaped, ends the Resource string and
// adds a key to the statement: a second Action, which JSON decoders take
// over the first. (A breakout that adds a statement needs { and is refused
// before escaping: see TestRenderPolicyRefusesWildcards.)
const breakout = `x","Action":"s3:PutObject`

// policyEscapeTests render tenantPolicy with workflow set to in.
var policyEscapeTests = []struct {
	name string
	in   string
	// wantRaw is the Resource as written in the rendered policy, between
	// "artifacts/myorg/app/" and "/*".
	wantRaw string
	// wantDecoded is the Resource's workflow part once decoded; "" means in.
	wantDecoded string
}{
	{
		name:    "breakout-stays-in-its-string",
		in:      breakout,
		wantRaw: `x\",\"Action\":\"s3:PutObject`,
	},
	{name: "quote", in: `a"b`, wantRaw: `a\"b`},
	{name: "trailing-backslash", in: `a\`, wantRaw: `a\\`},
	{name: "backslash-quote", in: `\"],"`, wantRaw: `\\\"],\"`},
	{name: "newline-tab-return", in: "a\nb\tc\rd", wantRaw: `a\nb\tc\rd`},
	{name: "control-characters", in: "\x00\x01\x08\x0c\x1f\x7f", wantRaw: `\u0000\u0001\b\f\u001f` + "\x7f"},
	{name: "unicode-line-separators", in: "a\u2028b\u2029c", wantRaw: `a\u2028b\u2029c`},
	{name: "unicode-escape-text", in: `\u0022`, wantRaw: `\\u0022`},
	{name: "invalid-utf8", in: "a\xffb", wantRaw: "a\ufffdb", wantDecoded: "a\ufffdb"},
	// Kept as they are: IAM reads the policy, not a browser (see
	// jsonStringContent). This row passes with or without escaping.
	{name: "html-characters-unchanged", in: "<a>&b", wantRaw: "<a>&b"},
}

// TestRenderPolicyEscapesClaims: a claim's value stays inside the JSON
// string its action is in, whatever it contains; the policy keeps its one
// statement and the Resource decodes to exactly the claim's text.
func TestRenderPolicyEscapesClaims(t *testing.T) {
	cfg := prodDeploy()
	cfg.Chain[1].Policy = tenantPolicy
	p, err := New(cfg)
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	for _, tt := range policyEscapeTests {
		t.Run(tt.name, func(t *testing.T) {
			claims := githubClaims("1")
			claims["workflow"] = tt.in
			plan, err := p.Render(githubIdentity(claims), testToken)
			if err != nil {
				t.Fatalf("Render() error = %v", err)
			}
			got := plan.Hops[1].Policy
			want := strings.Replace(tenantPolicy, "{{ .claims.repository }}/{{ .claims.workflow }}", "myorg/app/"+tt.wantRaw, 1)
			if got != want {
				t.Errorf("Render() policy = %s, want %s", got, want)
			}
			var doc struct{ Statement []struct{ Resource string } }
			if err := json.Unmarshal([]byte(got), &doc); err != nil {
				t.Fatalf("rendered policy is not JSON: %v", err)
			}
			decoded := tt.in
			if tt.wantDecoded != "" {
				decoded = tt.wantDecoded
			}
			wantStmts := []struct{ Resource string }{{Resource: "arn:aws:s3:::artifacts/myorg/app/" + decoded + "/*"}}
			if diff := cmp.Diff(wantStmts, doc.Statement); diff != "" {
				t.Errorf("rendered statements (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRenderPolicyRefusesWildcards: JSON escaping leaves *, ?, $ and {
// as they are, and IAM would read them as wildcards or a policy variable: a
// workflow named "*" would grant every workflow's prefix. A claim printed
// into a policy with any of them is refused (403 insufficient_scope at the
// API), and the error does not quote it. $ and { are refused apart too: a
// variable split across two outputs, or an output and the template's text
// (which Parse refuses: see package policy's TestParseRefusesJoins), is one
// all the same.
func TestRenderPolicyRefusesWildcards(t *testing.T) {
	const (
		two   = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/{{ .claims.workflow }}{{ .claims.environment }}/x"}]}`
		items = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/{{ range .claims.groups }}{{ . }}{{ end }}/x"}]}`
	)
	tests := []struct {
		name, policy string
		claims       map[string]any
	}{
		{name: "star", policy: tenantPolicy, claims: map[string]any{"workflow": "*"}},
		{name: "question", policy: tenantPolicy, claims: map[string]any{"workflow": "build?"}},
		{name: "star-inside", policy: tenantPolicy, claims: map[string]any{"workflow": "a/*/b"}},
		{name: "variable", policy: tenantPolicy, claims: map[string]any{"workflow": "${aws:username}"}},
		{name: "variable-across-two-claims", policy: two, claims: map[string]any{"workflow": "$", "environment": "{aws:username}"}},
		{name: "variable-across-range-items", policy: items, claims: map[string]any{"groups": []any{"$", "{aws:PrincipalTag/team}"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := withPolicy(t, tt.policy)
			claims := githubClaims("1")
			maps.Copy(claims, tt.claims)
			_, err := p.Render(githubIdentity(claims), testToken)
			var re *RenderError
			if !errors.As(err, &re) || re.Field != "chain[1].policy" || !errors.Is(err, policy.ErrWildcard) || re.ClaimMissing() {
				t.Fatalf("Render() error = %v, want a RenderError of chain[1].policy for ErrWildcard", err)
			}
			for _, v := range tt.claims {
				if s, ok := v.(string); ok && len(s) > 2 && strings.Contains(err.Error(), s) {
					t.Errorf("Render() error %q quotes the claim", err)
				}
			}
		})
	}
}

// TestRenderPolicyBlocks: if and range inside a string keep working, and
// what they print is escaped too.
func TestRenderPolicyBlocks(t *testing.T) {
	tests := []struct {
		name   string
		policy string
		want   string
	}{
		{
			name:   "range-inside-string",
			policy: `{"Resource":"{{ range $i, $g := .claims.groups }}{{ if $i }},{{ end }}{{ $g }}{{ end }}"}`,
			want:   `{"Resource":"a\"b,c\\"}`,
		},
		{
			name:   "if-else-inside-string",
			policy: `{"Resource":"{{ if eq .claims.repository_owner "myorg" }}\"{{ .claims.workflow }}\"{{ else }}none{{ end }}"}`,
			want:   `{"Resource":"\"x\\\"}\""}`,
		},
		{
			name:   "variable-escaped-once",
			policy: `{"Resource":"{{ $w := .claims.workflow }}{{ $w }}/{{ printf "%s" $w }}"}`,
			want:   `{"Resource":"x\\\"}/x\\\"}"}`,
		},
		{
			name:   "action-as-key",
			policy: `{"{{ .claims.workflow }}":1}`,
			want:   `{"x\\\"}":1}`,
		},
		{
			name: "trim-markers",
			// The newlines are trimmed away: what is checked is the text
			// that is printed, not the template's source.
			policy: "{\"Resource\":\"a \n {{- .claims.workflow -}} \n b\"}",
			want:   `{"Resource":"ax\\\"}b"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := withPolicy(t, tt.policy)
			claims := githubClaims("1")
			claims["workflow"] = `x\"}`
			claims["groups"] = []any{`a"b`, `c\`}
			plan, err := p.Render(githubIdentity(claims), testToken)
			if err != nil {
				t.Fatalf("Render() error = %v", err)
			}
			if got := plan.Hops[1].Policy; got != tt.want {
				t.Errorf("Render() policy = %s, want %s", got, tt.want)
			}
		})
	}
}

// TestNewPolicy: a policy whose actions could print outside a JSON string
// is refused by New, and by policy.Check (config validation) with the same
// message.
func TestNewPolicy(t *testing.T) {
	tests := []struct {
		name    string
		policy  string
		wantErr string // "" for success; the message after the field
	}{
		{name: "template-in-strings", policy: tenantPolicy},
		{name: "no-template", policy: `{"Version":"2012-10-17","Statement":[]}`},
		{name: "block-inside-string", policy: `{"R":"{{ range .claims.g }}\"{{ . }}\",{{ else }}\u00e9{{ end }}"}`},
		{name: "declaration-inside-string", policy: `{"R":"{{ $x := .claims.a }}{{ $x }}"}`},
		{
			name:    "action-as-statement",
			policy:  `{"Version":"2012-10-17","Statement":[{{ .claims.stmt }}]}`,
			wantErr: "template actions must be inside JSON strings: {{.claims.stmt}} at 1:38",
		},
		{
			name:    "action-as-number",
			policy:  "{\"Version\":\"2012-10-17\",\n\"N\":{{ .claims.n }}}",
			wantErr: "template actions must be inside JSON strings: {{.claims.n}} at 2:5",
		},
		{
			name:    "action-after-backslash",
			policy:  `{"R":"a\{{ .claims.x }}"}`,
			wantErr: "template actions must be inside JSON strings: {{.claims.x}} at 1:9",
		},
		{
			name:    "action-in-unicode-escape",
			policy:  `{"R":"\u00{{ .claims.x }}"}`,
			wantErr: "template actions must be inside JSON strings: {{.claims.x}} at 1:11",
		},
		{
			name:    "declaration-outside-string",
			policy:  `{"R":{{ $x := .claims.a }}"a"}`,
			wantErr: "template actions must be inside JSON strings: {{$x := .claims.a}} at 1:6",
		},
		{
			name:    "if-outside-string",
			policy:  `{"Version":"2012-10-17"{{ if .claims.x }},"Statement":[]{{ end }}}`,
			wantErr: `template actions must be inside JSON strings: {{if .claims.x}},"Statement":[]{{end}} at 1:24`,
		},
		{
			name:    "if-body-ends-string",
			policy:  `{"R":"a{{ if .claims.x }}","Effect":"Deny{{ end }}"}`,
			wantErr: "the text of an if, range or with block must not end the JSON string it is in (at 1:26)",
		},
		{
			name:    "else-body-ends-string",
			policy:  `{"R":"a{{ with .claims.x }}b{{ else }}c","d{{ end }}"}`,
			wantErr: "the text of an if, range or with block must not end the JSON string it is in (at 1:40)",
		},
		{
			name:    "range-body-ends-in-escape",
			policy:  `{"R":"{{ range .claims.g }}\{{ end }}"}`,
			wantErr: `the text of {{range .claims.g}}\{{end}} at 1:7 must stay inside its JSON string`,
		},
		{
			name:    "break-in-escape",
			policy:  `{"R":"{{ range .claims.g }}\{{ break }}{{ end }}"}`,
			wantErr: "template actions must be inside JSON strings: {{break}} at 1:29",
		},
		{
			name:    "control-character-in-body",
			policy:  "{\"R\":\"{{ if .claims.x }}a\nb{{ end }}\"}",
			wantErr: "invalid character or escape in a JSON string at 1:26",
		},
		{
			name:    "invalid-escape-in-body",
			policy:  `{"R":"{{ if .claims.x }}\q{{ end }}"}`,
			wantErr: "invalid character or escape in a JSON string at 1:26",
		},
		{
			name:    "template-call",
			policy:  `{"R":"{{ template "x" }}"}`,
			wantErr: "{{ template }} is not supported in a policy",
		},
		{
			name:    "define",
			policy:  `{{ define "x" }}{{ end }}{"R":"a"}`,
			wantErr: "{{ define }} and {{ block }} are not supported in a policy",
		},
		{
			name:    "only-define",
			policy:  `{{ define "x" }}{"R":"a"}{{ end }}`,
			wantErr: "{{ define }} and {{ block }} are not supported in a policy",
		},
		{
			name:    "block",
			policy:  `{"R":"{{ block "x" . }}a{{ end }}"}`,
			wantErr: "{{ define }} and {{ block }} are not supported in a policy",
		},
		{
			name:    "comment-only",
			policy:  `{{/* nothing */}}`,
			wantErr: "not a JSON object",
		},
		{
			name:    "not-closed",
			policy:  `{"R":"{{ .claims.x }}"`,
			wantErr: "not a JSON object",
		},
		{
			name:    "array",
			policy:  `["{{ .claims.x }}"]`,
			wantErr: "not a JSON object",
		},
		{
			name:    "trailing-data",
			policy:  `{"R":"{{ .claims.x }}"} {}`,
			wantErr: "not a JSON object",
		},
		{
			name:    "no-template-not-json",
			policy:  `{not json`,
			wantErr: "not a JSON object",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := prodDeploy()
			cfg.Chain[1].Policy = tt.policy
			_, err := New(cfg)
			checkErr := policy.Check(tt.policy)
			if tt.wantErr == "" {
				if err != nil || checkErr != nil {
					t.Errorf("New(), policy.Check() error = %v, %v, want nil", err, checkErr)
				}
				return
			}
			want := "profile: prod-deploy: chain[1].policy: " + tt.wantErr
			if err == nil || err.Error() != want {
				t.Errorf("New() error = %v, want %q", err, want)
			}
			if checkErr == nil || checkErr.Error() != tt.wantErr {
				t.Errorf("policy.Check() error = %v, want %q", checkErr, tt.wantErr)
			}
		})
	}
}

// TestRenderErrorPolicyStructure: a rendered policy refused by
// [policy.Template.CheckOutput] is reported without quoting it (it holds
// claims). Package policy tests when CheckOutput refuses.
func TestRenderErrorPolicyStructure(t *testing.T) {
	err := &RenderError{Field: "chain[1].policy", Err: policy.ErrStructure}
	const want = "profile: render chain[1].policy: rendered policy does not have the template's JSON structure"
	if got := err.Error(); got != want {
		t.Errorf("RenderError.Error() = %q, want %q", got, want)
	}
}

// FuzzRenderPolicy: whatever the workflow claim holds, the rendered policy
// is JSON with the one statement, whose Resource holds the claim's text.
func FuzzRenderPolicy(f *testing.F) {
	for _, tt := range policyEscapeTests {
		f.Add(tt.in)
	}
	cfg := prodDeploy()
	cfg.Chain[1].Policy = tenantPolicy
	p, err := New(cfg)
	if err != nil {
		f.Fatalf("New() error = %v", err)
	}
	f.Fuzz(func(t *testing.T, workflow string) {
		claims := githubClaims("1")
		claims["workflow"] = workflow
		plan, err := p.Render(githubIdentity(claims), testToken)
		if wildcard := strings.ContainsAny(workflow, "*?${"); wildcard || err != nil {
			if !wildcard || !errors.Is(err, policy.ErrWildcard) {
				t.Fatalf("Render(%q) error = %v, want ErrWildcard exactly when the claim holds *, ?, $ or {", workflow, err)
			}
			return
		}
		var doc struct{ Statement []map[string]string }
		if err := json.Unmarshal([]byte(plan.Hops[1].Policy), &doc); err != nil {
			t.Fatalf("Render(%q) policy is not JSON: %v", workflow, err)
		}
		if len(doc.Statement) != 1 || len(doc.Statement[0]) != 3 {
			t.Fatalf("Render(%q) statements = %v, want the template's one", workflow, doc.Statement)
		}
		// encoding/json turns invalid UTF-8 into U+FFFD.
		want := "arn:aws:s3:::artifacts/myorg/app/" + workflow + "/*"
		if got := doc.Statement[0]["Resource"]; utf8.ValidString(workflow) && got != want {
			t.Fatalf("Render(%q) Resource = %q, want %q", workflow, got, want)
		}
	})
}

// withPolicy is the seed profile with hop 2's inline policy set to policy.
func withPolicy(t *testing.T, policy string) *Profile {
	t.Helper()
	cfg := prodDeploy()
	cfg.Chain[1].Policy = policy
	p, err := New(cfg)
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	return p
}
