package deploy

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/stsbroker/broker/internal/config"
)

const exampleDir = "terraform/examples/two-accounts"

// TestExampleBrokerProfile renders the example's broker_profile output with
// its variables' defaults and made-up module outputs, and loads the result
// through the broker's own configuration parser: what Terraform prints must
// be a valid profile that matches the roles it created.
func TestExampleBrokerProfile(t *testing.T) {
	t.Setenv("PROD_EXTERNAL_ID", "example-external-id")
	vars := map[string]cty.Value{}
	for _, b := range parseFile(t, exampleDir+"/variables.tf").Body.Blocks {
		if b.Type != "variable" {
			continue
		}
		v, diags := b.Body.Attributes["default"].Expr.Value(nil)
		if diags.HasErrors() {
			t.Fatalf("variable %s default: %v", b.Labels[0], diags)
		}
		vars[b.Labels[0]] = v
	}
	const (
		toolingARN = "arn:aws:iam::111111111111:role/github-actions-oidc"
		targetARN  = "arn:aws:iam::222222222222:role/ci-deploy-role"
	)
	ctx := &hcl.EvalContext{
		Variables: map[string]cty.Value{
			"var": cty.ObjectVal(vars),
			"module": cty.ObjectVal(map[string]cty.Value{
				"tooling": cty.ObjectVal(map[string]cty.Value{"role_arn": cty.StringVal(toolingARN)}),
				"target":  cty.ObjectVal(map[string]cty.Value{"role_arn": cty.StringVal(targetARN)}),
			}),
		},
		Functions: terraformFunctions(),
	}
	out := findBlock(t, parseFile(t, exampleDir+"/outputs.tf"), "output", "broker_profile")
	v, diags := out.Body.Attributes["value"].Expr.Value(ctx)
	if diags.HasErrors() {
		t.Fatalf("broker_profile: %v", diags)
	}
	cfg, err := config.Parse("broker_profile", []byte(v.AsString()))
	if err != nil {
		t.Fatalf("config.Parse(broker_profile) error:\n%v\n--- rendered:\n%s", err, v.AsString())
	}
	p := cfg.Profiles["prod-deploy"]
	if p == nil {
		t.Fatalf("broker_profile has no profile prod-deploy:\n%s", v.AsString())
	}
	var arns []string
	for _, h := range p.Chain {
		arns = append(arns, h.RoleARN)
	}
	if diff := cmp.Diff([]string{toolingARN, targetARN}, arns); diff != "" {
		t.Errorf("chain role ARNs (-want +got):\n%s", diff)
	}
	if got := p.Chain[1].ExternalID.Reveal(); got != "example-external-id" {
		t.Errorf("chain[1] ExternalId = %q, want it from PROD_EXTERNAL_ID", got)
	}
	wantSubs := []string{}
	for it := vars["allowed_subjects"].ElementIterator(); it.Next(); {
		_, s := it.Element()
		wantSubs = append(wantSubs, s.AsString())
	}
	if diff := cmp.Diff(wantSubs, []string(p.Conditions.StringLike["sub"])); diff != "" {
		t.Errorf("profile sub condition vs allowed_subjects (-want +got):\n%s", diff)
	}
	if got, want := cfg.Issuers[0].URL, vars["issuer_url"].AsString(); got != want {
		t.Errorf("issuer url = %q, want %q", got, want)
	}
}
