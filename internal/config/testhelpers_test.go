package config

import (
	"strings"
	"testing"
)

// issuersYAML is a valid issuers section.
const issuersYAML = `
issuers:
  - name: github
    url: https://token.actions.githubusercontent.com
    audiences: [sts.amazonaws.com]
`

// validHop1 and validHop2 are the seed's two hops in YAML flow style.
const (
	validHop1 = `{role_arn: "arn:aws:iam::111111111111:role/github-actions-oidc"}`
	validHop2 = `{role_arn: "arn:aws:iam::222222222222:role/ci-deploy-role", external_id: myorg-prod-deploy}`
	validCond = `{StringEquals: {aud: sts.amazonaws.com, repository_owner: myorg}}`
)

// validYAML is a small valid configuration.
const validYAML = issuersYAML + `
profiles:
  p: {issuer: github, conditions: ` + validCond + `, chain: [` + validHop1 + `, ` + validHop2 + `]}
`

// prof returns a configuration with the valid issuers and one profile "p"
// whose body (flow-style YAML) is given.
func prof(body string) string {
	return issuersYAML + "profiles:\n  p: " + body + "\n"
}

// chainOf returns a valid web_identity profile body with the given hops.
func chainOf(hops ...string) string {
	return prof(`{issuer: github, conditions: ` + validCond + `, chain: [` + strings.Join(hops, ", ") + `]}`)
}

// errLines splits a joined error into its lines ("" for nil).
func errLines(err error) []string {
	if err == nil {
		return nil
	}
	return strings.Split(err.Error(), "\n")
}

// checkErrLines asserts that err has exactly len(want) lines and that line i
// contains want[i].
func checkErrLines(t *testing.T, err error, want []string) {
	t.Helper()
	got := errLines(err)
	if len(got) != len(want) {
		t.Fatalf("error has %d lines, want %d:\n%v\nwant fragments:\n%s", len(got), len(want), err, strings.Join(want, "\n"))
	}
	for i := range want {
		if !strings.Contains(got[i], want[i]) {
			t.Errorf("error line %d = %q, want it to contain %q", i, got[i], want[i])
		}
	}
}
