package profile

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/stsbroker/broker/internal/chain"
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
	// Latin-1 is within what STS accepts in a policy, as it is. (Invalid
	// UTF-8 and characters above U+00FF are refused: see
	// TestRenderPolicyLimits.)
	{name: "latin-1", in: "café ÿ", wantRaw: "café ÿ"},
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
			wantStmts := []struct{ Resource string }{{Resource: "arn:aws:s3:::artifacts/myorg/app/" + tt.in + "/*"}}
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
		name     string
		resource string // the Resource's template
		want     string // the Resource as rendered
	}{
		{
			name:     "range-inside-string",
			resource: `{{ range $i, $g := .claims.groups }}{{ if $i }},{{ end }}{{ $g }}{{ end }}`,
			want:     `a\"b,c\\`,
		},
		{
			name:     "if-else-inside-string",
			resource: `{{ if eq .claims.repository_owner "myorg" }}\"{{ .claims.workflow }}\"{{ else }}none{{ end }}`,
			want:     `\"x\\\"}\"`,
		},
		{
			name:     "variable-escaped-once",
			resource: `{{ $w := .claims.workflow }}{{ $w }}/{{ printf "%s" $w }}`,
			want:     `x\\\"}/x\\\"}`,
		},
		{
			name: "trim-markers",
			// The newlines are trimmed away: what is checked is the text
			// that is printed, not the template's source.
			resource: "a \n {{- .claims.workflow -}} \n b",
			want:     `ax\\\"}b`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := withPolicy(t, resourcePolicy(tt.resource))
			claims := githubClaims("1")
			claims["workflow"] = `x\"}`
			claims["groups"] = []any{`a"b`, `c\`}
			plan, err := p.Render(githubIdentity(claims), testToken)
			if err != nil {
				t.Fatalf("Render() error = %v", err)
			}
			if got, want := plan.Hops[1].Policy, resourcePolicy(tt.want); got != want {
				t.Errorf("Render() policy = %s, want %s", got, want)
			}
		})
	}
}

// resourcePolicy is a one-statement session policy whose Resource is
// resource.
func resourcePolicy(resource string) string {
	return `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"` + resource + `"}}`
}

// TestNewPolicy: a policy whose actions could print outside a JSON string
// or into a key, or that STS would refuse whatever the claims (too long, a
// character outside its set, not a session policy in IAM's grammar), is
// refused by New, and by policy.Check (config validation) with the same
// message.
func TestNewPolicy(t *testing.T) {
	// atLimit pads resourcePolicy's skeleton to policy.MaxLen characters;
	// the action after it prints nothing into the skeleton.
	atLimit := strings.Repeat("a", policy.MaxLen-len(resourcePolicy(""))) + "{{ .claims.x }}"
	const (
		stmt    = `"Effect":"Allow","Action":"s3:GetObject","Resource":"*"`
		version = `{"Version":"2012-10-17",`
	)
	tests := []struct {
		name    string
		policy  string
		wantErr string // "" for success; the message after the field
	}{
		{name: "template-in-strings", policy: tenantPolicy},
		{name: "no-template", policy: `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","NotAction":["s3:DeleteObject"],"NotResource":"arn:aws:s3:::keep/*"}]}`},
		{name: "block-inside-string", policy: resourcePolicy(`{{ range .claims.g }}\"{{ . }}\",{{ else }}\u00e9{{ end }}`)},
		{name: "declaration-inside-string", policy: resourcePolicy(`{{ $x := .claims.a }}{{ $x }}`)},
		{
			name:   "whole-grammar",
			policy: `{"Version":"2008-10-17","Id":"p1","Statement":[{"Sid":"Read","Effect":"Allow","Action":["s3:GetObject","s3:ListBucket"],"Resource":["arn:aws:s3:::b","arn:aws:s3:::b/{{ .claims.repository }}/*"],"Condition":{"StringEquals":{"aws:RequestedRegion":"{{ .claims.region }}"}}},{"Effect":"Deny","Action":"s3:DeleteObject","Resource":"*"}]}`,
		},
		{name: "no-version", policy: `{"Statement":{` + stmt + `}}`},
		{name: "latin-1-text", policy: resourcePolicy("café")},
		{name: "skeleton-at-limit", policy: resourcePolicy(atLimit)},
		{
			// A block's body may not run: only the skeleton is counted.
			name:   "long-block-body",
			policy: resourcePolicy("{{ if .claims.x }}" + strings.Repeat("a", policy.MaxLen) + "{{ end }}"),
		},
		{
			name:    "skeleton-over-limit",
			policy:  resourcePolicy("a" + atLimit),
			wantErr: "its text without template actions is 2049 characters, over the 2048 STS accepts in a session policy, so STS would refuse every request (whitespace counts: write the JSON compactly)",
		},
		{
			name:    "character-above-latin-1",
			policy:  resourcePolicy("ā"),
			wantErr: "U+0101 at 1:91 is a character STS refuses in a policy (it accepts tab, newline, carriage return and U+0020 to U+00FF)",
		},
		{
			name:    "character-above-latin-1-in-block",
			policy:  resourcePolicy("{{ if .claims.x }}→{{ end }}"),
			wantErr: "U+2192 at 1:109 is a character STS refuses in a policy (it accepts tab, newline, carriage return and U+0020 to U+00FF)",
		},
		{
			name:    "action-as-key",
			policy:  `{"{{ .claims.workflow }}":1}`,
			wantErr: "template actions must not be in a JSON key (keys are IAM's policy grammar: write them as they are): {{.claims.workflow}} at 1:3",
		},
		{
			name:    "action-as-condition-key",
			policy:  version + `"Statement":{` + stmt + `,"Condition":{"StringEquals":{"{{ .claims.k }}":"x"}}}}`,
			wantErr: "template actions must not be in a JSON key (keys are IAM's policy grammar: write them as they are): {{.claims.k}} at 1:124",
		},
		{
			name:    "action-in-part-of-key",
			policy:  version + `"Statement":{` + stmt + `,"Condition":{"StringEquals":{"aws:PrincipalTag/{{ .claims.k }}":"x"}}}}`,
			wantErr: "template actions must not be in a JSON key (keys are IAM's policy grammar: write them as they are): {{.claims.k}} at 1:141",
		},
		{
			name:    "block-in-key",
			policy:  version + `"{{ if .claims.x }}Id{{ end }}":"x","Statement":{` + stmt + `}}`,
			wantErr: `template actions must not be in a JSON key (keys are IAM's policy grammar: write them as they are): {{if .claims.x}}Id{{end}} at 1:26`,
		},
		{
			name:    "unknown-top-level-key",
			policy:  version + `"Statement":{` + stmt + `},"Extra":"x"}`,
			wantErr: `the policy has key "Extra", which IAM's policy grammar does not allow there (want Version, Id, Statement)`,
		},
		{
			name:    "version-unknown",
			policy:  `{"Version":"2012-10-18","Statement":{` + stmt + `}}`,
			wantErr: `the policy's Version must be "2012-10-17" or "2008-10-17", written as it is (not printed by a template action)`,
		},
		{
			name:    "version-printed",
			policy:  `{"Version":"2012-10-17{{ .claims.v }}","Statement":{` + stmt + `}}`,
			wantErr: `the policy's Version must be "2012-10-17" or "2008-10-17", written as it is (not printed by a template action)`,
		},
		{
			name:    "id-not-string",
			policy:  version + `"Id":1,"Statement":{` + stmt + `}}`,
			wantErr: "the policy's Id must be a string",
		},
		{
			name:    "no-statement",
			policy:  `{"Version":"2012-10-17"}`,
			wantErr: "the policy has no Statement, which IAM requires",
		},
		{
			name:    "empty-statement-array",
			policy:  version + `"Statement":[]}`,
			wantErr: "the policy's Statement must be an object or a non-empty array of objects",
		},
		{
			name:    "statement-string",
			policy:  version + `"Statement":"{{ .claims.s }}"}`,
			wantErr: "the policy's Statement must be an object or a non-empty array of objects",
		},
		{
			name:    "statement-item-not-object",
			policy:  version + `"Statement":[{` + stmt + `},["x"]]}`,
			wantErr: "Statement[1] must be an object",
		},
		{
			name:    "principal",
			policy:  version + `"Statement":[{` + stmt + `,"Principal":{"AWS":"111111111111"}}]}`,
			wantErr: "Statement[0] has Principal: a session policy cannot have one (it applies to the session it is passed with), and STS refuses it",
		},
		{
			name:    "not-principal",
			policy:  version + `"Statement":{"NotPrincipal":"*",` + stmt + `}}`,
			wantErr: "Statement has NotPrincipal: a session policy cannot have one (it applies to the session it is passed with), and STS refuses it",
		},
		{
			name:    "unknown-statement-key",
			policy:  version + `"Statement":{"Effect":"Allow","Action":"s3:GetObject","Resources":"*"}}`,
			wantErr: `Statement has key "Resources", which IAM's policy grammar does not allow there (want Sid, Effect, Action, NotAction, Resource, NotResource, Condition)`,
		},
		{
			name:    "effect-printed",
			policy:  version + `"Statement":{"Effect":"{{ .claims.effect }}","Action":"s3:GetObject","Resource":"*"}}`,
			wantErr: `Statement.Effect must be "Allow" or "Deny", written as it is (not printed by a template action)`,
		},
		{
			name:    "effect-partly-printed",
			policy:  version + `"Statement":[{"Effect":"Allow{{ .claims.x }}","Action":"s3:GetObject","Resource":"*"}]}`,
			wantErr: `Statement[0].Effect must be "Allow" or "Deny", written as it is (not printed by a template action)`,
		},
		{
			name:    "effect-lower-case",
			policy:  version + `"Statement":{"Effect":"allow","Action":"s3:GetObject","Resource":"*"}}`,
			wantErr: `Statement.Effect must be "Allow" or "Deny", written as it is (not printed by a template action)`,
		},
		{
			name:    "no-effect",
			policy:  version + `"Statement":{"Action":"s3:GetObject","Resource":"*"}}`,
			wantErr: `Statement.Effect must be "Allow" or "Deny", written as it is (not printed by a template action)`,
		},
		{
			name:    "action-and-not-action",
			policy:  version + `"Statement":{` + stmt + `,"NotAction":"s3:PutObject"}}`,
			wantErr: "Statement must have exactly one of Action and NotAction",
		},
		{
			name:    "no-action",
			policy:  version + `"Statement":{"Effect":"Allow","Resource":"*"}}`,
			wantErr: "Statement must have exactly one of Action and NotAction",
		},
		{
			name:    "no-resource",
			policy:  version + `"Statement":{"Effect":"Allow","Action":"s3:GetObject"}}`,
			wantErr: "Statement must have exactly one of Resource and NotResource",
		},
		{
			name:    "action-number",
			policy:  version + `"Statement":{"Effect":"Allow","Action":1,"Resource":"*"}}`,
			wantErr: "Statement.Action must be a string or an array of strings",
		},
		{
			name:    "not-resource-list-with-object",
			policy:  version + `"Statement":{"Effect":"Allow","Action":"s3:GetObject","NotResource":["a",{}]}}`,
			wantErr: "Statement.NotResource must be a string or an array of strings",
		},
		{
			name:    "condition-not-object",
			policy:  version + `"Statement":{` + stmt + `,"Condition":"{{ .claims.c }}"}}`,
			wantErr: "Statement.Condition must be an object",
		},
		{
			name:    "sid-not-string",
			policy:  version + `"Statement":{"Sid":1,` + stmt + `}}`,
			wantErr: "Statement.Sid must be a string",
		},
		{name: "sid-alphanumeric", policy: version + `"Statement":[{"Sid":"ReadArtifacts2",` + stmt + `},{"Sid":"ReadArtifacts3",` + stmt + `}]}`},
		{name: "sid-empty", policy: version + `"Statement":{"Sid":"",` + stmt + `}}`},
		{
			// A claim would decide whether STS refuses the policy.
			name:    "sid-printed",
			policy:  version + `"Statement":{"Sid":"{{ .claims.sid }}",` + stmt + `}}`,
			wantErr: "Statement.Sid must be written as it is (not printed by a template action)",
		},
		{
			name:    "sid-partly-printed",
			policy:  version + `"Statement":[{"Sid":"Read{{ .claims.workflow }}",` + stmt + `}]}`,
			wantErr: "Statement[0].Sid must be written as it is (not printed by a template action)",
		},
		{
			name:    "sid-printed-by-block",
			policy:  version + `"Statement":[{` + stmt + `},{"Sid":"{{ if .claims.x }}A{{ end }}",` + stmt + `}]}`,
			wantErr: "Statement[1].Sid must be written as it is (not printed by a template action)",
		},
		{
			name:    "sid-hyphen",
			policy:  version + `"Statement":{"Sid":"read-artifacts",` + stmt + `}}`,
			wantErr: `Statement.Sid "read-artifacts" must be ASCII letters and digits only (IAM's [0-9A-Za-z]*), and STS refuses it`,
		},
		{
			name:    "sid-underscore",
			policy:  version + `"Statement":[{"Sid":"read_artifacts",` + stmt + `}]}`,
			wantErr: `Statement[0].Sid "read_artifacts" must be ASCII letters and digits only (IAM's [0-9A-Za-z]*), and STS refuses it`,
		},
		{
			name:    "sid-space",
			policy:  version + `"Statement":[{"Sid":"Read artifacts",` + stmt + `}]}`,
			wantErr: `Statement[0].Sid "Read artifacts" must be ASCII letters and digits only (IAM's [0-9A-Za-z]*), and STS refuses it`,
		},
		{
			name:    "sid-latin-1-letter",
			policy:  version + `"Statement":[{"Sid":"Café",` + stmt + `}]}`,
			wantErr: `Statement[0].Sid "Café" must be ASCII letters and digits only (IAM's [0-9A-Za-z]*), and STS refuses it`,
		},
		{
			// Escaped, the hyphen is the same Sid to IAM.
			name:    "sid-escaped-hyphen",
			policy:  version + `"Statement":[{"Sid":"read\u002dartifacts",` + stmt + `}]}`,
			wantErr: `Statement[0].Sid "read-artifacts" must be ASCII letters and digits only (IAM's [0-9A-Za-z]*), and STS refuses it`,
		},
		{
			name:    "sid-repeated",
			policy:  version + `"Statement":[{"Sid":"Read",` + stmt + `},{"Sid":"Read",` + stmt + `}]}`,
			wantErr: `Statement[1].Sid "Read" repeats Statement[0].Sid: IAM requires a statement's Sid to be unique within the policy, and STS refuses it`,
		},
		{
			name:    "sid-repeated-later",
			policy:  version + `"Statement":[{"Sid":"A",` + stmt + `},{` + stmt + `},{"Sid":"B",` + stmt + `},{"Sid":"A",` + stmt + `}]}`,
			wantErr: `Statement[3].Sid "A" repeats Statement[0].Sid: IAM requires a statement's Sid to be unique within the policy, and STS refuses it`,
		},
		{
			// Terraform's aws_iam_policy_document writes "Sid": "" on
			// every statement without one; AWS accepts it.
			name:   "sid-empty-repeated",
			policy: version + `"Statement":[{"Sid":"",` + stmt + `},{"Sid":"",` + stmt + `}]}`,
		},
		{
			name:    "repeated-key",
			policy:  version + `"Statement":{` + stmt + `,"Effect":"Deny"}}`,
			wantErr: `key "Effect" appears twice in one object: which one IAM applies is not defined`,
		},
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
			cfg.Chain[1].PolicyARNs = nil // see TestNewPolicyWithPolicyARNs
			_, err := New(cfg)
			checkErr := policy.Check(tt.policy, nil)
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

// TestNewPolicyWithPolicyARNs: STS counts a hop's policy ARNs and its
// policy against one limit of 2048 characters, so New refuses a hop whose
// ARNs alone, or whose ARNs and policy text without template actions, are
// already over it, as policy.CheckARNs and policy.Check (config
// validation) do, with the same messages.
func TestNewPolicyWithPolicyARNs(t *testing.T) {
	// arn is a managed policy ARN of n characters.
	arn := func(n int) string {
		const head = "arn:aws:iam::222222222222:policy/"
		return head + strings.Repeat("p", n-len(head))
	}
	skeleton := len(resourcePolicy(""))
	tests := []struct {
		name          string
		policy        string // "" for none
		arns          []string
		wantARNsErr   string // the policy_arns message; "" for none
		wantPolicyErr string // the policy message; "" for none
	}{
		{name: "arns-at-limit-without-policy", arns: []string{arn(1000), arn(1048)}},
		{name: "policy-and-arns-at-limit", policy: resourcePolicy("{{ .claims.x }}"), arns: []string{arn(100), arn(policy.MaxLen - skeleton - 100)}},
		{
			name:        "arns-over-limit-without-policy",
			arns:        []string{arn(1000), arn(1049)},
			wantARNsErr: "its 2 ARNs are 2049 characters, over the 2048 STS accepts for a hop's policy and policy_arns together, so STS would refuse every request",
		},
		{
			// Reported once, on the ARNs, not again on the policy.
			name:        "arns-over-limit-with-policy",
			policy:      resourcePolicy("{{ .claims.x }}"),
			arns:        []string{arn(2049)},
			wantARNsErr: "its 1 ARNs are 2049 characters, over the 2048 STS accepts for a hop's policy and policy_arns together, so STS would refuse every request",
		},
		{
			name:          "policy-and-arns-over-limit",
			policy:        resourcePolicy("{{ .claims.x }}"),
			arns:          []string{arn(100), arn(policy.MaxLen - skeleton - 99)},
			wantPolicyErr: fmt.Sprintf("its text without template actions (%d characters) and the hop's policy_arns (%d characters) are 2049 characters together, over the 2048 STS accepts for a hop's policy and policy_arns together, so STS would refuse every request", skeleton, policy.MaxLen-skeleton+1),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := prodDeploy()
			cfg.Chain[1].Policy = tt.policy
			cfg.Chain[1].PolicyARNs = tt.arns
			_, err := New(cfg)
			var want []string
			if tt.wantARNsErr != "" {
				want = append(want, "profile: prod-deploy: chain[1].policy_arns: "+tt.wantARNsErr)
			}
			if tt.wantPolicyErr != "" {
				want = append(want, "profile: prod-deploy: chain[1].policy: "+tt.wantPolicyErr)
			}
			var got []string
			if err != nil {
				got = strings.Split(err.Error(), "\n")
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("New() errors (-want +got):\n%s", diff)
			}
			if err, want := policy.CheckARNs(tt.arns), tt.wantARNsErr; err == nil && want != "" || err != nil && err.Error() != want {
				t.Errorf("policy.CheckARNs() error = %v, want %q", err, want)
			}
			if tt.policy != "" && tt.wantARNsErr == "" {
				if err, want := policy.Check(tt.policy, tt.arns), tt.wantPolicyErr; err == nil && want != "" || err != nil && err.Error() != want {
					t.Errorf("policy.Check() error = %v, want %q", err, want)
				}
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
// is JSON with the one statement, whose Resource holds the claim's text, and
// fits STS's limits; or Render refuses the claim for a reason it holds: a
// wildcard, a character STS refuses, or a length.
func FuzzRenderPolicy(f *testing.F) {
	for _, tt := range policyEscapeTests {
		f.Add(tt.in)
	}
	for _, tt := range policyLimitTests(policy.MaxLen - len(resourcePolicy("")) - len(readOnlyARN)) {
		f.Add(tt.workflow)
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
		wildcard := strings.ContainsAny(workflow, "*?${")
		switch {
		case wildcard || errors.Is(err, policy.ErrWildcard):
			if !wildcard || !errors.Is(err, policy.ErrWildcard) {
				t.Fatalf("Render(%q) error = %v, want ErrWildcard exactly when the claim holds *, ?, $ or {", workflow, err)
			}
			return
		case errors.Is(err, policy.ErrCharset):
			// The escaping writes control characters, U+2028 and U+2029 as
			// ASCII escapes; any other character above U+00FF stays as it
			// is. Invalid UTF-8 in the claim is U+FFFD once the payload is
			// decoded (ContainsFunc sees it as U+FFFD too).
			if !strings.ContainsFunc(workflow, func(r rune) bool { return r > 0xff && r != 0x2028 && r != 0x2029 }) {
				t.Fatalf("Render(%q) error = %v, but the claim has no character STS refuses", workflow, err)
			}
			return
		case errors.Is(err, policy.ErrTooLong):
			// Escaping at most sextuples a character (\u001f); the hop's
			// policy ARNs count too.
			if len(tenantPolicy)+6*utf8.RuneCountInString(workflow)+len(readOnlyARN) <= policy.MaxLen {
				t.Fatalf("Render(%q) error = %v, but the claim is too short for that", workflow, err)
			}
			return
		case err != nil:
			t.Fatalf("Render(%q) error = %v", workflow, err)
		}
		if err := policy.CheckLimits(plan.Hops[1].Policy, len(readOnlyARN)); err != nil {
			t.Fatalf("Render(%q) policy does not fit STS: %v", workflow, err)
		}
		var doc struct{ Statement []map[string]string }
		if err := json.Unmarshal([]byte(plan.Hops[1].Policy), &doc); err != nil {
			t.Fatalf("Render(%q) policy is not JSON: %v", workflow, err)
		}
		if len(doc.Statement) != 1 || len(doc.Statement[0]) != 3 {
			t.Fatalf("Render(%q) statements = %v, want the template's one", workflow, doc.Statement)
		}
		want := "arn:aws:s3:::artifacts/myorg/app/" + workflow + "/*"
		if got := doc.Statement[0]["Resource"]; got != want {
			t.Fatalf("Render(%q) Resource = %q, want %q", workflow, got, want)
		}
	})
}

// policyLimitTests render resourcePolicy("{{ .claims.workflow }}") on a
// hop where room characters are left for the workflow: MaxLen less the
// policy's text without the action and the hop's policy ARNs.
func policyLimitTests(room int) []struct {
	name     string
	workflow string
	wantErr  error // nil for success
} {
	return []struct {
		name     string
		workflow string
		wantErr  error
	}{
		{name: "at-limit", workflow: strings.Repeat("w", room)},
		{name: "latin-1-at-limit", workflow: strings.Repeat("ÿ", room)},
		{name: "over-limit", workflow: strings.Repeat("w", room+1), wantErr: policy.ErrTooLong},
		{
			// Short enough as the claim, too long once escaped.
			name:     "over-limit-once-escaped",
			workflow: strings.Repeat(`"`, room/2+1),
			wantErr:  policy.ErrTooLong,
		},
		{name: "above-latin-1", workflow: "deploy\u0100", wantErr: policy.ErrCharset},
		{name: "arrow", workflow: "build→deploy", wantErr: policy.ErrCharset},
		{name: "astral", workflow: "ship-\U0001F680", wantErr: policy.ErrCharset},
		{
			// A token's payload is JSON: its invalid UTF-8 is U+FFFD once
			// decoded (here json.Marshal writes \ufffd for it, which
			// decodes the same), a character STS refuses.
			name:     "invalid-utf8",
			workflow: "a\xffb",
			wantErr:  policy.ErrCharset,
		},
		{name: "replacement-character", workflow: "a\ufffdb", wantErr: policy.ErrCharset},
		{
			// Both too long and outside the set: the character is reported.
			name:     "long-and-above-latin-1",
			workflow: strings.Repeat("→", policy.MaxLen),
			wantErr:  policy.ErrCharset,
		},
		{name: "line-separators-escaped", workflow: "a\u2028b\u2029c"},
	}
}

// TestRenderPolicyLimits: STS refuses a policy over 2048 characters, counted
// with the hop's policy ARNs, or with a character outside tab, newline,
// carriage return and U+0020 to U+00FF, on every call. A claim that makes
// the rendered policy so is refused by Render, before any STS call, with a
// RenderError of the policy that does not quote the claim (403
// insufficient_scope at the API) and says whether the ARNs counted.
func TestRenderPolicyLimits(t *testing.T) {
	const toolingPolicyARN = "arn:aws:iam::222222222222:policy/ci/deploy-artifacts"
	for _, arns := range []struct {
		name string
		arns []string
		len  int // of the ARNs, in characters
	}{
		{name: "no-policy-arns"},
		{name: "one-policy-arn", arns: []string{readOnlyARN}, len: len(readOnlyARN)},
		{name: "two-policy-arns", arns: []string{readOnlyARN, toolingPolicyARN}, len: len(readOnlyARN) + len(toolingPolicyARN)},
	} {
		cfg := prodDeploy()
		cfg.Chain[1].Policy = resourcePolicy("{{ .claims.workflow }}")
		cfg.Chain[1].PolicyARNs = arns.arns
		p, err := New(cfg)
		if err != nil {
			t.Fatalf("New() error = %v", err)
		}
		room := policy.MaxLen - len(resourcePolicy("")) - arns.len
		for _, tt := range policyLimitTests(room) {
			t.Run(arns.name+"/"+tt.name, func(t *testing.T) {
				claims := githubClaims("1")
				claims["workflow"] = tt.workflow
				plan, err := p.Render(githubIdentity(claims), testToken)
				if tt.wantErr == nil {
					if err != nil {
						t.Fatalf("Render() error = %v, want nil", err)
					}
					if got := utf8.RuneCountInString(plan.Hops[1].Policy) + arns.len; got > policy.MaxLen {
						t.Errorf("rendered policy and policy ARNs are %d characters, want at most %d", got, policy.MaxLen)
					}
					return
				}
				var re *RenderError
				if !errors.As(err, &re) || re.Field != "chain[1].policy" || !errors.Is(err, tt.wantErr) || re.ClaimMissing() {
					t.Fatalf("Render() error = %v, want a RenderError of chain[1].policy for %v", err, tt.wantErr)
				}
				want := "profile: render chain[1].policy: " + tt.wantErr.Error()
				if le, ok := errors.AsType[*policy.LengthError](err); ok {
					if le.Managed != arns.len {
						t.Errorf("LengthError.Managed = %d, want %d", le.Managed, arns.len)
					}
					if arns.len > 0 {
						want = "profile: render chain[1].policy: the claims make the rendered policy, together with the hop's policy_arns, longer than the 2048 characters STS accepts for both ("
					}
				}
				if !strings.HasPrefix(err.Error(), want) || strings.Contains(err.Error(), tt.workflow) {
					t.Errorf("Render() error = %q, want it to start with %q and not quote the claim", err, want)
				}
				if diff := cmp.Diff(chain.Plan{}, plan, revealSecrets); diff != "" {
					t.Errorf("Render() plan on error mismatch (-want +got):\n%s", diff)
				}
			})
		}
	}
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
