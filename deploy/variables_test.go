package deploy

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/tryfunc"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// terraformFunctions are the Terraform functions the modules' validations
// and the example's outputs use, from go-cty's standard library.
func terraformFunctions() map[string]function.Function {
	return map[string]function.Function{
		"alltrue":    allTrueFunc,
		"can":        tryfunc.CanFunc,
		"jsonencode": stdlib.JSONEncodeFunc,
		"length":     stdlib.LengthFunc,
		"regex":      stdlib.RegexFunc,
	}
}

// allTrueFunc is Terraform's alltrue: true if every element is true.
var allTrueFunc = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "list", Type: cty.List(cty.Bool)}},
	Type:   function.StaticReturnType(cty.Bool),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		for it := args[0].ElementIterator(); it.Next(); {
			_, v := it.Element()
			if v.IsNull() || !v.True() {
				return cty.False, nil
			}
		}
		return cty.True, nil
	},
})

// findBlock returns the first block of type typ whose labels are labels.
func findBlock(t *testing.T, f tfFile, typ string, labels ...string) *hclsyntax.Block {
	t.Helper()
	for _, b := range f.Body.Blocks {
		if b.Type == typ && equalStrings(b.Labels, labels) {
			return b
		}
	}
	t.Fatalf("%s: no %s block %v", f.Path, typ, labels)
	return nil
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// validate evaluates every validation condition of variable name in the
// module at dir with the variable set to v, and returns the error messages of
// those that fail.
func validate(t *testing.T, dir, name string, v cty.Value) []string {
	t.Helper()
	f := parseFile(t, filepath.Join(dir, "variables.tf"))
	block := findBlock(t, f, "variable", name)
	ctx := &hcl.EvalContext{
		Variables: map[string]cty.Value{"var": cty.ObjectVal(map[string]cty.Value{name: v})},
		Functions: terraformFunctions(),
	}
	var failed []string
	n := 0
	for _, b := range block.Body.Blocks {
		if b.Type != "validation" {
			continue
		}
		n++
		got, diags := b.Body.Attributes["condition"].Expr.Value(ctx)
		if diags.HasErrors() {
			t.Fatalf("%s: variable %s: condition: %v", dir, name, diags)
		}
		if got.IsNull() || !got.True() {
			msg, _ := b.Body.Attributes["error_message"].Expr.Value(nil)
			failed = append(failed, msg.AsString())
		}
	}
	if n == 0 {
		t.Fatalf("%s: variable %s has no validation", dir, name)
	}
	return failed
}

// parseFile parses one Terraform file.
func parseFile(t *testing.T, path string) tfFile {
	t.Helper()
	for _, f := range parseTerraform(t) {
		if f.Path == path {
			return f
		}
	}
	t.Fatalf("no Terraform file %s", path)
	return tfFile{}
}

func strs(ss ...string) cty.Value {
	if len(ss) == 0 {
		return cty.ListValEmpty(cty.String)
	}
	vs := make([]cty.Value, len(ss))
	for i, s := range ss {
		vs[i] = cty.StringVal(s)
	}
	return cty.ListVal(vs)
}

const (
	toolingModule = "terraform/modules/tooling-account"
	targetModule  = "terraform/modules/target-account"
)

func TestVariableValidations(t *testing.T) {
	const wildcard = "A subject with a wildcard must pin the owner before it (repo:OWNER/…, project_path:GROUP/…, system:serviceaccount:NAMESPACE:…): *, repo:*, repo:myorg* and *:ref:refs/heads/main let other owners' repositories in. E.g. repo:myorg/app:ref:refs/heads/main."
	const badTrust = "At least one role ARN (arn:<partition>:iam::<12-digit account>:role/<name>) is required; account principals (:root) are not accepted."
	const badExternalID = "The ExternalId must be 2 to 1000 characters of letters, digits and _+=,.@:/- (STS allows 1224, Terraform's regex engine counts to 1000)."
	tests := []struct {
		name     string
		dir      string
		variable string
		value    cty.Value
		want     []string
	}{
		{name: "github-repo-branch", dir: toolingModule, variable: "allowed_subjects", value: strs("repo:myorg/app:ref:refs/heads/main")},
		{name: "github-org-main", dir: toolingModule, variable: "allowed_subjects", value: strs("repo:myorg/*:ref:refs/heads/main")},
		{name: "gitlab-project", dir: toolingModule, variable: "allowed_subjects", value: strs("project_path:mygroup/app:ref_type:branch:ref:main")},
		{name: "kubernetes-service-account", dir: toolingModule, variable: "allowed_subjects", value: strs("system:serviceaccount:ci:ci-runner")},
		{name: "bare-star", dir: toolingModule, variable: "allowed_subjects", value: strs("repo:myorg/app:*", "*"), want: []string{wildcard}},
		{name: "repo-star", dir: toolingModule, variable: "allowed_subjects", value: strs("repo:*"), want: []string{wildcard}},
		{name: "any-owner", dir: toolingModule, variable: "allowed_subjects", value: strs("repo:*/app:ref:refs/heads/main"), want: []string{wildcard}},
		{name: "project-path-star", dir: toolingModule, variable: "allowed_subjects", value: strs("project_path:*"), want: []string{wildcard}},
		{name: "any-namespace", dir: toolingModule, variable: "allowed_subjects", value: strs("system:serviceaccount:*"), want: []string{wildcard}},
		{name: "question-mark", dir: toolingModule, variable: "allowed_subjects", value: strs("repo:?yorg/app:*"), want: []string{wildcard}},
		{name: "owner-prefix-only", dir: toolingModule, variable: "allowed_subjects", value: strs("repo:myorg*"), want: []string{wildcard}},
		{name: "wildcard-first", dir: toolingModule, variable: "allowed_subjects", value: strs("*:ref:refs/heads/main"), want: []string{wildcard}},
		{name: "prefix-cut-short", dir: toolingModule, variable: "allowed_subjects", value: strs("re*"), want: []string{wildcard}},
		{name: "namespace-prefix-only", dir: toolingModule, variable: "allowed_subjects", value: strs("system:serviceaccount:ci*"), want: []string{wildcard}},
		{name: "github-immutable-owner", dir: toolingModule, variable: "allowed_subjects", value: strs("repo:myorg@123456/*")},
		{name: "namespace-any-account", dir: toolingModule, variable: "allowed_subjects", value: strs("system:serviceaccount:ci:*")},
		{name: "no-subjects", dir: toolingModule, variable: "allowed_subjects", value: strs(), want: []string{"At least one subject is required."}},
		{name: "issuer-github", dir: toolingModule, variable: "issuer_url", value: cty.StringVal("https://token.actions.githubusercontent.com")},
		{name: "issuer-eks", dir: toolingModule, variable: "issuer_url", value: cty.StringVal("https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE")},
		{name: "issuer-trailing-slash", dir: toolingModule, variable: "issuer_url", value: cty.StringVal("https://gitlab.com/"),
			want: []string{"The issuer_url must be an https URL without port, query, fragment or trailing slash (IAM compares it with the token's iss)."}},
		{name: "issuer-http", dir: toolingModule, variable: "issuer_url", value: cty.StringVal("http://gitlab.com"),
			want: []string{"The issuer_url must be an https URL without port, query, fragment or trailing slash (IAM compares it with the token's iss)."}},
		{name: "trusted-role", dir: targetModule, variable: "trusted_role_arns", value: strs("arn:aws:iam::111111111111:role/github-actions-oidc")},
		{name: "trusted-root", dir: targetModule, variable: "trusted_role_arns", value: strs("arn:aws:iam::111111111111:root"), want: []string{badTrust}},
		{name: "trusted-account-id", dir: targetModule, variable: "trusted_role_arns", value: strs("111111111111"), want: []string{badTrust}},
		{name: "external-id-generated", dir: targetModule, variable: "external_id", value: cty.NullVal(cty.String)},
		{name: "external-id-given", dir: targetModule, variable: "external_id", value: cty.StringVal("myorg-prod-deploy")},
		{name: "external-id-space", dir: targetModule, variable: "external_id", value: cty.StringVal("my org"), want: []string{badExternalID}},
		{name: "external-id-longest", dir: targetModule, variable: "external_id", value: cty.StringVal(strings.Repeat("a", 1000))},
		{name: "external-id-too-long", dir: targetModule, variable: "external_id", value: cty.StringVal(strings.Repeat("a", 1001)), want: []string{badExternalID}},
		{name: "external-id-short", dir: targetModule, variable: "external_id", value: cty.StringVal("x"), want: []string{badExternalID}},
		{name: "chained-session-1h", dir: targetModule, variable: "max_session_duration", value: cty.NumberIntVal(3600)},
		{name: "session-too-short", dir: targetModule, variable: "max_session_duration", value: cty.NumberIntVal(900),
			want: []string{"The max_session_duration must be between 3600 and 43200 seconds."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := validate(t, tt.dir, tt.variable, tt.value)
			if !equalStrings(got, tt.want) {
				t.Errorf("validation of %s = %q, want %q", tt.variable, got, tt.want)
			}
		})
	}
}

// TestValidationMatchesCheck keeps the module's validation and the policy
// test's bareWildcardSub in step: every subject one refuses, the other does.
func TestValidationMatchesCheck(t *testing.T) {
	subjects := []string{"*", "?", "repo:*", "repo:myorg/*", "project_path:*", "project_path:g/p:*",
		"system:serviceaccount:*", "system:serviceaccount:ci:*", "repo:*/x", "x:*",
		"repo:myorg*", "repo:myorg@1/*", "re*", "*:ref:refs/heads/main", "organization:acme:*", "repo:myorg/app",
		"repository_owner:myorg:*", "repository_owner_id:123:*", "repository_id:456:*", "repository_owner:*"}
	for _, s := range subjects {
		refused := len(validate(t, toolingModule, "allowed_subjects", strs(s))) > 0
		if want := bareWildcardSub(s); refused != want {
			t.Errorf("validation refuses %q = %v, policy check = %v", s, refused, want)
		}
	}
}
