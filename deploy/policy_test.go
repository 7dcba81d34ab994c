package deploy

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// ownerPinned matches a sub pattern that names the owner, group, namespace
// or organisation before any wildcard. The allowed_subjects validation of
// the tooling-account module uses the same expressions
// (TestVariableValidations), and the broker's configuration check the same
// rule (internal/config openSub).
var ownerPinned = regexp.MustCompile(`^(repo:[^*?/@:]+[/@]|repository_owner(_id)?:[^*?:]+:|repository_id:[^*?:]+:|project_path:[^*?/:]+/|system:serviceaccount:[^*?:]+:|organization:[^*?:]+:|org/[^*?/]+/)`)

// bareWildcardSub reports whether a sub pattern has a wildcard before its
// owner is pinned.
func bareWildcardSub(s string) bool {
	return strings.ContainsAny(s, "*?") && !ownerPinned.MatchString(s)
}

// accountID is a bare account principal ("111111111111"), which trusts the
// whole account as ":root" does.
var accountID = regexp.MustCompile(`^[0-9]{12}$`)

// statement is one statement of a jsonencode'd policy document.
type statement struct {
	// Where is file:line: Statement[i].
	Where string
	// Body is the statement's static form, nil if it is not a literal object.
	Body map[string]any
}

// statements returns every statement of every jsonencode'd policy document
// (an object with a Statement key) in f.
func statements(f tfFile) []statement {
	var out []statement
	for _, call := range jsonencodeCalls(f) {
		doc, ok := call.Value.(map[string]any)
		if !ok || doc["Statement"] == nil {
			continue
		}
		stmts, ok := doc["Statement"].([]any)
		if !ok {
			stmts = []any{doc["Statement"]}
		}
		for i, s := range stmts {
			body, _ := s.(map[string]any)
			out = append(out, statement{Where: fmt.Sprintf("%s: Statement[%d]", call.Where, i), Body: body})
		}
	}
	return out
}

// policyProblems checks every statement of every jsonencode'd IAM policy in f:
//   - its Action must be literal (else nothing can be checked);
//   - a web-identity trust (sts:AssumeRoleWithWebIdentity) has a Federated
//     principal, a StringEquals condition on <issuer>:aud and a StringEquals
//     or StringLike condition on <issuer>:sub, none of whose literal values is
//     a bare wildcard;
//   - a cross-account trust (sts:AssumeRole with an AWS principal) has a
//     StringEquals condition on sts:ExternalId and trusts no whole account.
func policyProblems(f tfFile) []string {
	var ps []string
	for _, s := range statements(f) {
		if s.Body == nil {
			ps = append(ps, s.Where+": not a literal object")
			continue
		}
		ps = append(ps, statementProblems(s.Where, s.Body)...)
	}
	return ps
}

// trustKind says which of the two trusts a statement is: "web-identity",
// "cross-account" or "".
func trustKind(stmt map[string]any) string {
	actions, _ := literals(stmt["Action"])
	principal, _ := stmt["Principal"].(map[string]any)
	switch {
	case slices.Contains(actions, "sts:AssumeRoleWithWebIdentity"):
		return "web-identity"
	case slices.Contains(actions, "sts:AssumeRole") && principal["AWS"] != nil:
		return "cross-account"
	}
	return ""
}

func statementProblems(where string, stmt map[string]any) []string {
	if _, ok := literals(stmt["Action"]); !ok {
		return []string{where + ": Action must be literal strings"}
	}
	principal, _ := stmt["Principal"].(map[string]any)
	cond, _ := stmt["Condition"].(map[string]any)
	var ps []string
	switch trustKind(stmt) {
	case "web-identity":
		if principal["Federated"] == nil {
			ps = append(ps, where+": web-identity trust without a Federated principal")
		}
		if _, ok := conditionKey(cond, "StringEquals", ":aud"); !ok {
			ps = append(ps, where+": web-identity trust without a StringEquals condition on <issuer>:aud")
		}
		subs, ok := conditionKey(cond, "StringLike", ":sub")
		if !ok {
			subs, ok = conditionKey(cond, "StringEquals", ":sub")
		}
		if !ok {
			ps = append(ps, where+": web-identity trust without a condition on <issuer>:sub")
		}
		ps = append(ps, wildcardProblems(where+": sub", subs)...)
	case "cross-account":
		if _, ok := conditionKey(cond, "StringEquals", "sts:ExternalId"); !ok {
			ps = append(ps, where+": cross-account trust without a StringEquals condition on sts:ExternalId")
		}
		arns, _ := literals(principal["AWS"])
		for _, a := range arns {
			if a == "*" || strings.HasSuffix(a, ":root") || accountID.MatchString(a) {
				ps = append(ps, fmt.Sprintf("%s: principal %q trusts a whole account: name the tooling role", where, a))
			}
		}
	}
	return ps
}

// wildcardProblems reports each literal value of v that is a bare wildcard.
func wildcardProblems(where string, v any) []string {
	var ps []string
	values, _ := literals(v)
	for _, s := range values {
		if bareWildcardSub(s) {
			ps = append(ps, fmt.Sprintf("%s %q is a bare wildcard: pin the owner and repository", where, s))
		}
	}
	return ps
}

// conditionKey returns the value of the first key of cond[op] that ends
// with suffix, and whether there is one with a non-empty value.
func conditionKey(cond map[string]any, op, suffix string) (any, bool) {
	m, _ := cond[op].(map[string]any)
	for k, v := range m {
		if strings.HasSuffix(k, suffix) && v != "" {
			return v, true
		}
	}
	return nil, false
}

// literals returns the literal strings of a string or list value, and false
// if any part of it is not literal.
func literals(v any) ([]string, bool) {
	switch v := v.(type) {
	case string:
		return []string{v}, true
	case []any:
		var out []string
		for _, x := range v {
			s, ok := x.(string)
			if !ok {
				return out, false
			}
			out = append(out, s)
		}
		return out, true
	}
	return nil, false
}

// subjectProblems reports bare-wildcard subjects written as literals where a
// module is called or configured: allowed_subjects arguments of module
// blocks, variable defaults and tfvars.
func subjectProblems(f tfFile) []string {
	var ps []string
	check := func(where string, attrs map[string]any) {
		if v, ok := attrs["allowed_subjects"]; ok {
			ps = append(ps, wildcardProblems(where+": allowed_subjects", v)...)
		}
	}
	check(f.Path, attributes(f))
	for _, b := range f.Body.Blocks {
		where := fmt.Sprintf("%s:%d", f.Path, b.DefRange().Start.Line)
		switch {
		case b.Type == "module":
			check(where, blockAttributes(f, b))
		case b.Type == "variable" && len(b.Labels) == 1 && b.Labels[0] == "allowed_subjects":
			if d, ok := blockAttributes(f, b)["default"]; ok {
				check(where, map[string]any{"allowed_subjects": d})
			}
		}
	}
	return ps
}

func attributes(f tfFile) map[string]any {
	m := map[string]any{}
	for name, a := range f.Body.Attributes {
		m[name] = static(a.Expr, f.Src)
	}
	return m
}

func blockAttributes(f tfFile, b *hclsyntax.Block) map[string]any {
	return attributes(tfFile{Path: f.Path, Src: f.Src, Body: b.Body})
}

func TestPolicies(t *testing.T) {
	files := parseTerraform(t)
	kinds := map[string]int{}
	for _, f := range files {
		for _, p := range policyProblems(f) {
			t.Errorf("%s", p)
		}
		for _, p := range subjectProblems(f) {
			t.Errorf("%s", p)
		}
		for _, s := range statements(f) {
			kinds[trustKind(s.Body)]++
		}
	}
	// The checks must have seen both trusts and the permission policy, or
	// they prove nothing.
	want := map[string]int{"web-identity": 1, "cross-account": 1, "": 1}
	if diff := cmp.Diff(want, kinds); diff != "" {
		t.Errorf("policy statements by kind (-want +got):\n%s", diff)
	}
}

func TestPolicyChecksFail(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{
			name: "good-web-identity-trust",
			src: `resource "aws_iam_role" "r" {
  assume_role_policy = jsonencode({
    Statement = [{
      Principal = { Federated = aws_iam_openid_connect_provider.p.arn }
      Action    = "sts:AssumeRoleWithWebIdentity"
      Condition = {
        StringEquals = { "${local.host}:aud" = "sts.amazonaws.com" }
        StringLike   = { "token.actions.githubusercontent.com:sub" = "repo:myorg/app:*" }
      }
    }]
  })
}`,
		},
		{
			name: "web-identity-without-federated-principal",
			src: `resource "aws_iam_role" "r" {
  assume_role_policy = jsonencode({
    Statement = [{
      Principal = { AWS = "arn:aws:iam::111111111111:role/x" }
      Action    = "sts:AssumeRoleWithWebIdentity"
      Condition = {
        StringEquals = { "gitlab.com:aud" = "sts.amazonaws.com", "gitlab.com:sub" = "project_path:g/p:ref_type:branch:ref:main" }
      }
    }]
  })
}`,
			want: []string{"bad.tf:2: Statement[0]: web-identity trust without a Federated principal"},
		},
		{
			name: "web-identity-without-aud",
			src: `resource "aws_iam_role" "r" {
  assume_role_policy = jsonencode({
    Statement = [{
      Principal = { Federated = "arn" }
      Action    = "sts:AssumeRoleWithWebIdentity"
      Condition = { StringLike = { "gitlab.com:sub" = "project_path:g/p:*" } }
    }]
  })
}`,
			want: []string{"bad.tf:2: Statement[0]: web-identity trust without a StringEquals condition on <issuer>:aud"},
		},
		{
			name: "web-identity-without-sub",
			src: `resource "aws_iam_role" "r" {
  assume_role_policy = jsonencode({
    Statement = {
      Principal = { Federated = "arn" }
      Action    = ["sts:AssumeRoleWithWebIdentity"]
      Condition = { StringEquals = { "gitlab.com:aud" = "sts.amazonaws.com" } }
    }
  })
}`,
			want: []string{"bad.tf:2: Statement[0]: web-identity trust without a condition on <issuer>:sub"},
		},
		{
			name: "web-identity-bare-wildcard-sub",
			src: `resource "aws_iam_role" "r" {
  assume_role_policy = jsonencode({
    Statement = [{
      Principal = { Federated = "arn" }
      Action    = "sts:AssumeRoleWithWebIdentity"
      Condition = {
        StringEquals = { "token.actions.githubusercontent.com:aud" = "sts.amazonaws.com" }
        StringLike   = { "token.actions.githubusercontent.com:sub" = ["repo:myorg/app:*", "repo:*"] }
      }
    }]
  })
}`,
			want: []string{`bad.tf:2: Statement[0]: sub "repo:*" is a bare wildcard: pin the owner and repository`},
		},
		{
			name: "cross-account-without-external-id",
			src: `resource "aws_iam_role" "r" {
  assume_role_policy = jsonencode({
    Statement = [{
      Principal = { AWS = "arn:aws:iam::111111111111:role/github-actions-oidc" }
      Action    = "sts:AssumeRole"
    }]
  })
}`,
			want: []string{"bad.tf:2: Statement[0]: cross-account trust without a StringEquals condition on sts:ExternalId"},
		},
		{
			name: "cross-account-whole-account",
			src: `resource "aws_iam_role" "r" {
  assume_role_policy = jsonencode({
    Statement = [{
      Principal = { "AWS" : "arn:aws:iam::111111111111:root" }
      Action    = ["sts:AssumeRole", "sts:TagSession"]
      Condition = { StringEquals = { "sts:ExternalId" = var.external_id } }
    }]
  })
}`,
			want: []string{`bad.tf:2: Statement[0]: principal "arn:aws:iam::111111111111:root" trusts a whole account: name the tooling role`},
		},
		{
			name: "action-not-literal",
			src: `resource "aws_iam_role" "r" {
  assume_role_policy = jsonencode({
    Statement = [{ Principal = { AWS = "x" }, Action = local.actions }]
  })
}`,
			want: []string{"bad.tf:2: Statement[0]: Action must be literal strings"},
		},
		{
			name: "module-argument-bare-wildcard",
			src: `module "tooling" {
  source           = "../../modules/tooling-account"
  allowed_subjects = ["*"]
}`,
			want: []string{`bad.tf:1: allowed_subjects "*" is a bare wildcard: pin the owner and repository`},
		},
		{
			name: "variable-default-bare-wildcard",
			src: `variable "allowed_subjects" {
  type    = list(string)
  default = ["project_path:*"]
}`,
			want: []string{`bad.tf:1: allowed_subjects "project_path:*" is a bare wildcard: pin the owner and repository`},
		},
		{
			name: "tfvars-bare-wildcard",
			src:  `allowed_subjects = ["system:serviceaccount:*:runner"]`,
			want: []string{`bad.tf: allowed_subjects "system:serviceaccount:*:runner" is a bare wildcard: pin the owner and repository`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := parseSnippet(t, "bad.tf", tt.src)
			got := append(policyProblems(f), subjectProblems(f)...)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}
