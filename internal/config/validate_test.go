package config

import (
	"fmt"
	"strings"
	"testing"
)

// validateTests are Parse cases for every validation rule. want lists the
// error lines in order; each line must contain its fragment and there must be
// no other line. An empty want means the configuration is valid.
var validateTests = []struct {
	name string
	yaml string
	want []string
}{
	{name: "valid", yaml: validYAML},
	{
		// A wildcard beside a condition that names the caller is fine.
		name: "valid-wildcard-beside-a-restriction",
		yaml: prof(`{issuer: github, conditions: {StringLike: {sub: "*", workflow_ref: "myorg/*"}}, chain: [` + validHop1 + `]}`),
	},
	{
		// aud is chosen by whoever requests the token; iss is the issuer's.
		name: "conditions-only-aud-and-iss",
		yaml: prof(`{issuer: github, source: ambient, conditions: {StringEquals: {aud: sts.amazonaws.com, iss: "https://token.actions.githubusercontent.com"}, StringLike: {sub: "*"}}, chain: [` + validHop1 + `]}`),
		want: []string{`test.yaml: profiles.p.conditions: no condition says who the caller is`},
	},
	{
		// On any claim: repository_owner is in every GitHub token.
		name: "conditions-wildcard-on-other-claims",
		yaml: prof(`{issuer: github, source: ambient, conditions: {StringLike: {repository_owner: "*", environment: "?*"}}, chain: [` + validHop1 + `]}`),
		want: []string{`test.yaml: profiles.p.conditions: no condition says who the caller is`},
	},
	{
		// sub open right after the issuer's prefix: every repository,
		// project or namespace.
		name: "conditions-open-sub",
		yaml: prof(`{issuer: github, source: ambient, conditions: {StringLike: {sub: ["repo:myorg/app:*", "repo:*"]}, StringEquals: {aud: sts.amazonaws.com}}, chain: [` + validHop1 + `]}`),
		want: []string{`test.yaml: profiles.p.conditions: no condition says who the caller is`},
	},
	{
		name: "conditions-open-sub-gitlab-kubernetes",
		yaml: prof(`{issuer: github, source: ambient, conditions: {StringLike: {sub: ["project_path:*", "system:serviceaccount:?*"]}}, chain: [` + validHop1 + `]}`),
		want: []string{`test.yaml: profiles.p.conditions: no condition says who the caller is`},
	},
	{
		// A leading wildcard, one inside the prefix, or one before the
		// owner ends (repo:myorg* also matches repo:myorg-evil/…).
		name: "conditions-open-sub-owner",
		yaml: prof(`{issuer: github, source: ambient, conditions: {StringLike: {sub: ["*:ref:refs/heads/main", "re*", "repo:myorg*", "project_path:mygroup?*", "system:serviceaccount:ci*"]}}, chain: [` + validHop1 + `]}`),
		want: []string{`test.yaml: profiles.p.conditions: no condition says who the caller is`},
	},
	{
		// Pinned owners in each format (on an issuer other than GitHub's,
		// which asks for GitHub's format).
		name: "valid-sub-pinned",
		yaml: strings.Replace(prof(`{issuer: github, conditions: {StringLike: {sub: ["repo:myorg/*", "repo:myorg@123/*", "project_path:mygroup/*", "system:serviceaccount:ci:*", "organization:acme:pipeline:*"]}}, chain: [`+validHop1+`]}`),
			"https://token.actions.githubusercontent.com", "https://ci.example.com", 1),
	},
	{
		// On GitHub's shared issuer a condition must name the owner:
		// environment, ref, workflow or a custom-format sub are met by
		// anyone's repositories.
		name: "github-owner-not-named",
		yaml: prof(`{issuer: github, conditions: {StringEquals: {environment: prod, ref: refs/heads/main, sub: "environment:prod"}, StringLike: {repository: "*/app", job_workflow_ref: "*"}}, chain: [` + validHop1 + `]}`),
		want: []string{`test.yaml: profiles.p.conditions: issuer "github" is the one of GitHub Actions, which signs tokens for every owner's jobs: a condition must name the owner (repository_owner, repository_owner_id, repository, repository_id, or a sub starting repo:OWNER/)`},
	},
	{
		name: "github-owner-in-one-of-two-values-only",
		yaml: prof(`{issuer: github, conditions: {StringLike: {sub: ["repo:myorg/app:*", "environment:prod"]}}, chain: [` + validHop1 + `]}`),
		want: []string{`test.yaml: profiles.p.conditions: issuer "github" is the one of GitHub Actions`},
	},
	{
		// job_workflow_ref names a called reusable workflow's repository:
		// any repository may call a public one.
		name: "github-owner-not-in-job-workflow-ref",
		yaml: prof(`{issuer: github, conditions: {StringLike: {job_workflow_ref: "myorg/shared/.github/workflows/deploy.yml@*"}}, chain: [` + validHop1 + `]}`),
		want: []string{`test.yaml: profiles.p.conditions: issuer "github" is the one of GitHub Actions`},
	},
	{
		name: "valid-github-owner-in-custom-sub",
		yaml: prof(`{issuer: github, conditions: {StringLike: {sub: "repository_owner:myorg:*"}}, chain: [` + validHop1 + `]}`),
	},
	{
		name: "gitlab-com-group-not-named",
		yaml: strings.Replace(prof(`{issuer: github, conditions: {StringEquals: {environment: production, ref_protected: "true"}}, chain: [`+validHop1+`]}`),
			"https://token.actions.githubusercontent.com", "https://gitlab.com", 1),
		want: []string{`test.yaml: profiles.p.conditions: issuer "github" is the one of GitLab.com, which signs tokens for every group's jobs: a condition must name the group`},
	},
	{
		name: "valid-gitlab-com-subgroups-named",
		yaml: strings.Replace(prof(`{issuer: github, conditions: {StringLike: {namespace_path: ["mygroup", "mygroup/*"]}}, chain: [`+validHop1+`]}`),
			"https://token.actions.githubusercontent.com", "https://gitlab.com", 1),
	},
	{
		name: "valid-gitlab-com-group-named",
		yaml: strings.Replace(prof(`{issuer: github, conditions: {StringLike: {sub: "project_path:mygroup/*:ref_type:branch:ref:main"}}, chain: [`+validHop1+`]}`),
			"https://token.actions.githubusercontent.com", "https://gitlab.com", 1),
	},
	{
		name: "valid-github-owner-named",
		yaml: prof(`{issuer: github, conditions: {StringEquals: {environment: prod, repository_id: "74"}}, chain: [` + validHop1 + `]}`),
	},
	{
		name: "valid-github-owner-in-workflow-ref",
		yaml: prof(`{issuer: github, conditions: {StringLike: {workflow_ref: "myorg/app/.github/workflows/*"}}, chain: [` + validHop1 + `]}`),
	},
	{
		name: "valid-open-sub-beside-a-restriction",
		yaml: prof(`{issuer: github, conditions: {StringLike: {sub: "repo:*"}, StringEquals: {repository_owner: myorg}}, chain: [` + validHop1 + `]}`),
	},
	{
		name: "no-issuers",
		yaml: "profiles: {p: {issuer: github, conditions: " + validCond + ", chain: [" + validHop1 + "]}}",
		want: []string{
			"test.yaml: issuers: at least one issuer is required",
			`test.yaml: profiles.p.issuer: unknown issuer "github"`,
		},
	},
	{
		name: "duplicate-issuer-name",
		yaml: issuersYAML + `  - {name: github, url: "https://gitlab.com", audiences: [x]}` + "\nprofiles: {p: {issuer: github, conditions: " + validCond + ", chain: [" + validHop1 + "]}}",
		want: []string{`test.yaml: issuers[1].name: duplicate issuer name "github" (also issuers[0])`},
	},
	{
		name: "duplicate-issuer-url",
		yaml: issuersYAML + `  - {name: gh2, url: "https://token.actions.githubusercontent.com", audiences: [x]}` + "\nprofiles: {p: {issuer: github, conditions: " + validCond + ", chain: [" + validHop1 + "]}}",
		want: []string{"test.yaml: issuers[1].url: same URL as issuers[0]: a token's iss must select one issuer"},
	},
	{
		name: "issuer-url-not-absolute",
		yaml: strings.Replace(validYAML, "https://token.actions.githubusercontent.com", "token.actions.githubusercontent.com", 1),
		want: []string{"test.yaml: issuers[0].url: must be an absolute http or https URL"},
	},
	{
		name: "issuer-url-missing",
		yaml: strings.Replace(validYAML, "url: https://token.actions.githubusercontent.com", "url: ''", 1),
		want: []string{"test.yaml: issuers[0].url: required"},
	},
	{
		name: "issuer-url-http-not-loopback",
		yaml: strings.Replace(validYAML, "https://token.actions.githubusercontent.com", "http://token.actions.githubusercontent.com", 1),
		want: []string{"test.yaml: issuers[0].url: must use https unless the host is loopback"},
	},
	{
		name: "issuer-url-http-loopback-ipv4",
		yaml: strings.Replace(validYAML, "https://token.actions.githubusercontent.com", "http://127.0.0.1:8081", 1),
	},
	{
		name: "issuer-url-http-loopback-ipv6",
		yaml: strings.Replace(validYAML, "https://token.actions.githubusercontent.com", "http://[::1]:8081", 1),
	},
	{
		name: "issuer-url-http-localhost",
		yaml: strings.Replace(validYAML, "https://token.actions.githubusercontent.com", "http://localhost:8081", 1),
	},
	{
		name: "issuer-url-with-query",
		yaml: strings.Replace(validYAML, "https://token.actions.githubusercontent.com", "https://issuer.example?x=1", 1),
		want: []string{"test.yaml: issuers[0].url: an issuer URL has no query or fragment"},
	},
	{
		name: "issuer-without-audiences",
		yaml: strings.Replace(validYAML, "audiences: [sts.amazonaws.com]", "audiences: []", 1),
		want: []string{"test.yaml: issuers[0].audiences: at least one audience is required"},
	},
	{
		name: "issuer-empty-audience",
		yaml: strings.Replace(validYAML, "audiences: [sts.amazonaws.com]", "audiences: ['']", 1),
		want: []string{"test.yaml: issuers[0].audiences[0]: empty audience"},
	},
	{
		name: "issuer-audience-pattern",
		yaml: strings.Replace(validYAML, "audiences: [sts.amazonaws.com]", "audiences: [sts.amazonaws.com, '*']", 1),
		want: []string{`test.yaml: issuers[0].audiences[1]: "*": audiences are compared literally, not as patterns`},
	},
	{
		name: "env-reference-outside-external-id",
		yaml: strings.Replace(validYAML, "audiences: [sts.amazonaws.com]", "audiences: ['${ENV:AUD}']", 1),
		want: []string{"test.yaml: line 5: issuers[0].audiences[0]: ${env:…} is expanded only in external_id; here it would be taken literally"},
	},
	{
		name: "env-reference-through-an-alias",
		yaml: prof(`{issuer: github, conditions: `+validCond+`, chain: [`+validHop1+`, {role_arn: "arn:aws:iam::222222222222:role/ci-deploy-role", external_id: &ext '${env:TEST_EXTERNAL_ID}'}]}`) +
			"aws: {region: *ext}\n",
		want: []string{"test.yaml: line 8: aws.region: ${env:…} is expanded only in external_id; here it would be taken literally"},
	},
	{
		name: "env-reference-in-a-claim-named-external_id",
		yaml: prof(`{issuer: github, conditions: {StringEquals: {repository_owner: myorg, external_id: '${env:X}'}}, chain: [` + validHop1 + `]}`),
		want: []string{"test.yaml: line 7: profiles.p.conditions.StringEquals.external_id: ${env:…} is expanded only in external_id; here it would be taken literally"},
	},
	{
		name: "policy-not-json",
		yaml: chainOf(validHop1, `{role_arn: "arn:aws:iam::222222222222:role/r", external_id: x-123, policy: "{not json"}`),
		want: []string{"test.yaml: profiles.p.chain[1].policy: not a JSON object"},
	},
	{
		name: "policy-json-not-an-object",
		yaml: chainOf(validHop1, `{role_arn: "arn:aws:iam::222222222222:role/r", external_id: x-123, policy: "[]"}`),
		want: []string{"test.yaml: profiles.p.chain[1].policy: not a JSON object"},
	},
	{
		name: "valid-audience-with-query",
		yaml: strings.Replace(validYAML, "audiences: [sts.amazonaws.com]", "audiences: ['https://broker.example.com/aud?env=prod']", 1),
	},
	{
		// Template actions inside JSON strings: the renderer escapes them.
		name: "valid-policy-template",
		yaml: chainOf(validHop1, `{role_arn: "arn:aws:iam::222222222222:role/r", external_id: x-123, policy: '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::{{ .claims.repository }}/*"}]}'}`),
	},
	{
		// Printed outside a string, a claim could add statements.
		name: "policy-template-action-outside-string",
		yaml: chainOf(validHop1, `{role_arn: "arn:aws:iam::222222222222:role/r", external_id: x-123, policy: '{"Version":"2012-10-17","Statement":[{{ .claims.statement }}]}'}`),
		want: []string{"test.yaml: profiles.p.chain[1].policy: template actions must be inside JSON strings: {{.claims.statement}} at 1:38"},
	},
	{
		name: "policy-template-block-ends-string",
		yaml: chainOf(validHop1, `{role_arn: "arn:aws:iam::222222222222:role/r", external_id: x-123, policy: '{"Version":"2012-10-17","Statement":[{"Effect":"Allow{{ if .claims.admin }}","Action":"*{{ end }}","Resource":"*"}]}'}`),
		want: []string{"test.yaml: profiles.p.chain[1].policy: the text of an if, range or with block must not end the JSON string it is in (at 1:76)"},
	},
	{
		// Checked with its actions removed, a templated policy too.
		name: "policy-template-not-json",
		yaml: chainOf(validHop1, `{role_arn: "arn:aws:iam::222222222222:role/r", external_id: x-123, policy: '{"Version":"2012-10-17","Statement":"{{ .claims.repository }}"'}`),
		want: []string{"test.yaml: profiles.p.chain[1].policy: not a JSON object"},
	},
	{
		// STS accepts at most 2048 characters in a policy: text that is
		// already longer, before any claim is printed, fails every request.
		name: "policy-text-too-long-for-sts",
		yaml: chainOf(validHop1, `{role_arn: "arn:aws:iam::222222222222:role/r", external_id: x-123, policy: '`+sessionPolicy(strings.Repeat("a", 2000)+"{{ .claims.repository }}")+`'}`),
		want: []string{"test.yaml: profiles.p.chain[1].policy: its text without template actions is 2095 characters, over the 2048 STS accepts in a session policy, so STS would refuse every request"},
	},
	{
		name: "policy-text-character-sts-refuses",
		yaml: chainOf(validHop1, `{role_arn: "arn:aws:iam::222222222222:role/r", external_id: x-123, policy: '`+sessionPolicy("build→{{ .claims.repository }}")+`'}`),
		want: []string{"test.yaml: profiles.p.chain[1].policy: U+2192 at 1:97 is a character STS refuses in a policy (it accepts tab, newline, carriage return and U+0020 to U+00FF)"},
	},
	{
		// IAM's grammar: no Principal in a session policy.
		name: "policy-with-principal",
		yaml: chainOf(validHop1, `{role_arn: "arn:aws:iam::222222222222:role/r", external_id: x-123, policy: '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"}]}'}`),
		want: []string{"test.yaml: profiles.p.chain[1].policy: Statement[0] has Principal: a session policy cannot have one (it applies to the session it is passed with), and STS refuses it"},
	},
	{
		// A claim must not choose between Allow and Deny.
		name: "policy-effect-templated",
		yaml: chainOf(validHop1, `{role_arn: "arn:aws:iam::222222222222:role/r", external_id: x-123, policy: '{"Version":"2012-10-17","Statement":[{"Effect":"{{ .claims.effect }}","Action":"s3:GetObject","Resource":"*"}]}'}`),
		want: []string{`test.yaml: profiles.p.chain[1].policy: Statement[0].Effect must be "Allow" or "Deny", written as it is (not printed by a template action)`},
	},
	{
		name: "policy-key-templated",
		yaml: chainOf(validHop1, `{role_arn: "arn:aws:iam::222222222222:role/r", external_id: x-123, policy: '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"StringEquals":{"{{ .claims.key }}":"x"}}}]}'}`),
		want: []string{"test.yaml: profiles.p.chain[1].policy: template actions must not be in a JSON key (keys are IAM's policy grammar: write them as they are): {{.claims.key}} at 1:"},
	},
	{
		// STS counts a hop's policy ARNs and its policy against one limit
		// of 2048 characters: ARNs over it alone fail every request.
		name: "policy-arns-too-long-for-sts",
		yaml: chainOf(validHop1, `{role_arn: "arn:aws:iam::222222222222:role/r", policy_arns: [`+policyARNsOf(2049)+`]}`),
		want: []string{"test.yaml: profiles.p.chain[1].policy_arns: its 4 ARNs are 2049 characters, over the 2048 STS accepts for a hop's policy and policy_arns together, so STS would refuse every request"},
	},
	{
		// Reported once, on the ARNs.
		name: "policy-arns-too-long-for-sts-with-policy",
		yaml: chainOf(validHop1, `{role_arn: "arn:aws:iam::222222222222:role/r", policy_arns: [`+policyARNsOf(2049)+`], policy: '`+sessionPolicy("{{ .claims.repository }}")+`'}`),
		want: []string{"test.yaml: profiles.p.chain[1].policy_arns: its 4 ARNs are 2049 characters, over the 2048 STS accepts for a hop's policy and policy_arns together, so STS would refuse every request"},
	},
	{
		name: "policy-and-policy-arns-at-limit",
		yaml: chainOf(validHop1, `{role_arn: "arn:aws:iam::222222222222:role/r", policy_arns: [`+policyARNsOf(2048-len(sessionPolicy("")))+`], policy: '`+sessionPolicy("{{ .claims.repository }}")+`'}`),
	},
	{
		// The policy's text without template actions, which every
		// rendering holds, fits alone but not with the ARNs.
		name: "policy-and-policy-arns-too-long-for-sts",
		yaml: chainOf(validHop1, `{role_arn: "arn:aws:iam::222222222222:role/r", policy_arns: [`+policyARNsOf(2048-len(sessionPolicy(""))+1)+`], policy: '`+sessionPolicy("{{ .claims.repository }}")+`'}`),
		want: []string{fmt.Sprintf("test.yaml: profiles.p.chain[1].policy: its text without template actions (%d characters) and the hop's policy_arns (%d characters) are 2049 characters together, over the 2048 STS accepts for a hop's policy and policy_arns together, so STS would refuse every request", len(sessionPolicy("")), 2048-len(sessionPolicy(""))+1)},
	},
	{
		// A claim must not decide whether STS refuses the policy.
		name: "policy-sid-templated",
		yaml: chainOf(validHop1, `{role_arn: "arn:aws:iam::222222222222:role/r", external_id: x-123, policy: '{"Version":"2012-10-17","Statement":[{"Sid":"{{ .claims.workflow }}","Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}'}`),
		want: []string{"test.yaml: profiles.p.chain[1].policy: Statement[0].Sid must be written as it is (not printed by a template action)"},
	},
	{
		name: "policy-sid-not-alphanumeric",
		yaml: chainOf(validHop1, `{role_arn: "arn:aws:iam::222222222222:role/r", external_id: x-123, policy: '{"Version":"2012-10-17","Statement":[{"Sid":"read-artifacts","Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}'}`),
		want: []string{`test.yaml: profiles.p.chain[1].policy: Statement[0].Sid "read-artifacts" must be ASCII letters and digits only (IAM's [0-9A-Za-z]*), and STS refuses it`},
	},
	{
		name: "policy-sid-repeated",
		yaml: chainOf(validHop1, `{role_arn: "arn:aws:iam::222222222222:role/r", external_id: x-123, policy: '{"Version":"2012-10-17","Statement":[{"Sid":"Read","Effect":"Allow","Action":"s3:GetObject","Resource":"*"},{"Sid":"Read","Effect":"Deny","Action":"s3:GetObject","Resource":"arn:aws:s3:::secret/*"}]}'}`),
		want: []string{`test.yaml: profiles.p.chain[1].policy: Statement[1].Sid "Read" repeats Statement[0].Sid: IAM requires a statement's Sid to be unique within the policy, and STS refuses it`},
	},
	{
		name: "policy-missing-resource",
		yaml: chainOf(validHop1, `{role_arn: "arn:aws:iam::222222222222:role/r", external_id: x-123, policy: '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject"}]}'}`),
		want: []string{"test.yaml: profiles.p.chain[1].policy: Statement[0] must have exactly one of Resource and NotResource"},
	},
	{
		name: "issuer-symmetric-algorithm",
		yaml: strings.Replace(validYAML, "audiences: [sts.amazonaws.com]", "audiences: [sts.amazonaws.com]\n    algorithms: [RS256, HS256, none]", 1),
		want: []string{
			`test.yaml: issuers[0].algorithms[1]: "HS256" is not supported (want one of [RS256`,
			`test.yaml: issuers[0].algorithms[2]: "none" is not supported`,
		},
	},
	{
		name: "issuer-jwks-url-http",
		yaml: strings.Replace(validYAML, "audiences: [sts.amazonaws.com]", "audiences: [sts.amazonaws.com]\n    jwks_url: http://keys.example/jwks", 1),
		want: []string{"test.yaml: issuers[0].jwks_url: must use https unless the host is loopback"},
	},
	{
		name: "unknown-issuer",
		yaml: prof(`{issuer: gitlab, conditions: ` + validCond + `, chain: [` + validHop1 + `]}`),
		want: []string{`test.yaml: profiles.p.issuer: unknown issuer "gitlab"`},
	},
	{
		name: "missing-issuer",
		yaml: prof(`{conditions: ` + validCond + `, chain: [` + validHop1 + `]}`),
		want: []string{"test.yaml: profiles.p.issuer: required"},
	},
	{
		name: "unknown-source",
		yaml: prof(`{issuer: github, source: assumed, conditions: ` + validCond + `, chain: [` + validHop1 + `]}`),
		want: []string{`test.yaml: profiles.p.source: unknown source "assumed" (want web_identity or ambient)`},
	},
	{
		name: "empty-chain",
		yaml: prof(`{issuer: github, conditions: ` + validCond + `, chain: []}`),
		want: []string{"test.yaml: profiles.p.chain: at least one hop is required"},
	},
	{
		name: "too-many-hops",
		yaml: chainOf(append([]string{validHop1}, repeat(`{role_arn: "arn:aws:iam::222222222222:role/r"}`, 10)...)...),
		want: []string{"test.yaml: profiles.p.chain: 11 hops exceed the limit of 10"},
	},
	{
		name: "role-arn-short-account",
		yaml: chainOf(`{role_arn: "arn:aws:iam::1111:role/r"}`),
		want: []string{`test.yaml: profiles.p.chain[0].role_arn: "arn:aws:iam::1111:role/r" is not a role ARN (want arn:<partition>:iam::<12-digit account>:role/<path/>name)`},
	},
	{
		name: "role-arn-user",
		yaml: chainOf(validHop1, `{role_arn: "arn:aws:iam::222222222222:user/deploy"}`),
		want: []string{`test.yaml: profiles.p.chain[1].role_arn: "arn:aws:iam::222222222222:user/deploy" is not a role ARN`},
	},
	{
		name: "role-arn-no-name",
		yaml: chainOf(`{role_arn: "arn:aws:iam::111111111111:role/"}`),
		want: []string{`test.yaml: profiles.p.chain[0].role_arn: "arn:aws:iam::111111111111:role/" is not a role ARN`},
	},
	{
		name: "role-arn-missing",
		yaml: chainOf(`{duration: 1h}`),
		want: []string{"test.yaml: profiles.p.chain[0].role_arn: required"},
	},
	{
		name: "role-arn-with-path-and-partition",
		yaml: chainOf(`{role_arn: "arn:aws-us-gov:iam::111111111111:role/ci/deploy/github-actions-oidc"}`),
	},
	{
		name: "duration-below-minimum",
		yaml: chainOf(`{role_arn: "arn:aws:iam::111111111111:role/r", duration: 10m}`),
		want: []string{
			"test.yaml: cache.refresh_before: 30m must be shorter than the shortest hop duration (10m at profiles.p.chain[0].duration)",
			"test.yaml: profiles.p.chain[0].duration: 10m is below the 15m STS minimum",
		},
	},
	{
		name: "duration-above-maximum",
		yaml: chainOf(`{role_arn: "arn:aws:iam::111111111111:role/r", duration: 13h}`),
		want: []string{"test.yaml: profiles.p.chain[0].duration: 13h exceeds the 12h STS maximum"},
	},
	{
		name: "web-identity-hop1-12h",
		yaml: chainOf(`{role_arn: "arn:aws:iam::111111111111:role/r", duration: 12h}`),
	},
	{
		name: "chained-hop-over-1h",
		yaml: chainOf(validHop1, `{role_arn: "arn:aws:iam::222222222222:role/ci-deploy-role", duration: 2h}`),
		want: []string{"test.yaml: profiles.p.chain[1].duration: 2h exceeds the 1h role-chaining limit"},
	},
	{
		name: "ambient-hop1-over-1h",
		yaml: prof(`{issuer: github, source: ambient, conditions: ` + validCond + `, chain: [{role_arn: "arn:aws:iam::222222222222:role/r", duration: 2h, external_id: x-123}]}`),
	},
	{
		name: "ambient-hop2-over-1h",
		yaml: prof(`{issuer: github, source: ambient, conditions: ` + validCond + `, chain: [` + validHop1 + `, {role_arn: "arn:aws:iam::222222222222:role/r", duration: 90m}]}`),
		want: []string{"test.yaml: profiles.p.chain[1].duration: 1h30m exceeds the 1h role-chaining limit"},
	},
	{
		name: "external-id-on-web-identity-hop",
		yaml: chainOf(`{role_arn: "arn:aws:iam::111111111111:role/r", external_id: myorg-prod-deploy}`),
		want: []string{"test.yaml: profiles.p.chain[0].external_id: AssumeRoleWithWebIdentity (hop 1 of a web_identity profile) takes no ExternalId"},
	},
	{
		name: "external-id-invalid-characters",
		yaml: chainOf(validHop1, `{role_arn: "arn:aws:iam::222222222222:role/r", external_id: "has spaces!"}`),
		want: []string{"test.yaml: profiles.p.chain[1].external_id: the ExternalId (not shown) must be 2 to 1224 characters"},
	},
	{
		name: "session-tags-on-web-identity-hop",
		yaml: chainOf(`{role_arn: "arn:aws:iam::111111111111:role/r", session_tags: {a: b}, transitive_tag_keys: [a]}`),
		want: []string{
			"test.yaml: profiles.p.chain[0].session_tags: AssumeRoleWithWebIdentity (hop 1 of a web_identity profile) takes no session tags",
			"test.yaml: profiles.p.chain[0].transitive_tag_keys: AssumeRoleWithWebIdentity (hop 1 of a web_identity profile) takes no transitive tag keys",
		},
	},
	{
		name: "session-name-unclosed-action",
		yaml: prof(`{issuer: github, session_name: "gha-{{ .claims.run_id", conditions: ` + validCond + `, chain: [` + validHop1 + `]}`),
		want: []string{"test.yaml: profiles.p.session_name: template: session_name:1: unclosed action"},
	},
	{
		name: "session-name-unknown-function",
		yaml: prof(`{issuer: github, session_name: "{{ lower .claims.actor }}", conditions: ` + validCond + `, chain: [` + validHop1 + `]}`),
		want: []string{`test.yaml: profiles.p.session_name: template: session_name:1: function "lower" not defined`},
	},
	{
		name: "source-identity-bad-template",
		yaml: prof(`{issuer: github, source_identity: "{{ .claims.actor }", conditions: ` + validCond + `, chain: [` + validHop1 + `, ` + validHop2 + `]}`),
		want: []string{"test.yaml: profiles.p.source_identity: template: source_identity:1: "},
	},
	{
		name: "source-identity-aws-prefix",
		yaml: prof(`{issuer: github, source_identity: "AWS:{{ .claims.actor }}", conditions: ` + validCond + `, chain: [` + validHop1 + `, ` + validHop2 + `]}`),
		want: []string{"test.yaml: profiles.p.source_identity: must not start with aws: (reserved by STS)"},
	},
	{
		name: "source-identity-without-assume-role-hop",
		yaml: prof(`{issuer: github, source_identity: "{{ .claims.actor }}", conditions: ` + validCond + `, chain: [` + validHop1 + `]}`),
		want: []string{"test.yaml: profiles.p.source_identity: needs an AssumeRole hop"},
	},
	{
		name: "session-tag-bad-template",
		yaml: chainOf(validHop1, `{role_arn: "arn:aws:iam::222222222222:role/r", session_tags: {repo: "{{ .claims.repository "}}`),
		want: []string{"test.yaml: profiles.p.chain[1].session_tags.repo: template: repo:1: unclosed action"},
	},
	{
		name: "session-tag-bad-key",
		yaml: chainOf(validHop1, `{role_arn: "arn:aws:iam::222222222222:role/r", session_tags: {"a*b": x, "aws:x": y}}`),
		want: []string{
			`test.yaml: profiles.p.chain[1].session_tags: invalid tag key "a*b"`,
			`test.yaml: profiles.p.chain[1].session_tags: tag key "aws:x": the aws: prefix is reserved`,
		},
	},
	{
		name: "too-many-session-tags",
		yaml: chainOf(validHop1, `{role_arn: "arn:aws:iam::222222222222:role/r", session_tags: {`+tags(51)+`}}`),
		want: []string{"test.yaml: profiles.p.chain[1].session_tags: 51 tags exceed the STS limit of 50"},
	},
	{
		name: "fifty-session-tags",
		yaml: chainOf(validHop1, `{role_arn: "arn:aws:iam::222222222222:role/r", session_tags: {`+tags(50)+`}}`),
	},
	{
		// STS refuses an AssumeRole that sets a tag the calling session
		// carries as transitive, case-insensitively, on every request.
		name: "transitive-tag-set-again-on-next-hop",
		yaml: chainOf(validHop1,
			`{role_arn: "arn:aws:iam::222222222222:role/r", session_tags: {repo: "{{ .claims.repository }}", team: x}, transitive_tag_keys: [repo]}`,
			`{role_arn: "arn:aws:iam::333333333333:role/r", session_tags: {Repo: "{{ .claims.repository }}", team: y}}`),
		want: []string{`test.yaml: profiles.p.chain[2].session_tags.Repo: tag key "Repo" repeats "repo", a transitive tag key of chain[1] (tag keys are case-insensitive): the session of chain[1] carries that tag, and STS refuses an AssumeRole that sets it again (ValidationError), so every request for this profile would fail at this hop; remove the tag here, or remove "repo" from chain[1].transitive_tag_keys`},
	},
	{
		// A transitive tag stays for the rest of the chain.
		name: "transitive-tag-set-again-two-hops-later",
		yaml: prof(`{issuer: github, source: ambient, conditions: ` + validCond + `, chain: [` +
			`{role_arn: "arn:aws:iam::111111111111:role/a", session_tags: {env: prod}, transitive_tag_keys: [env]}, ` +
			`{role_arn: "arn:aws:iam::222222222222:role/b"}, ` +
			`{role_arn: "arn:aws:iam::333333333333:role/c", session_tags: {ENV: dev}}]}`),
		want: []string{`test.yaml: profiles.p.chain[2].session_tags.ENV: tag key "ENV" repeats "env", a transitive tag key of chain[0] (tag keys are case-insensitive): the session of chain[1] carries that tag`},
	},
	{
		// Only a transitive tag is carried: a plain one may be set again.
		name: "tag-set-again-not-transitive",
		yaml: chainOf(validHop1,
			`{role_arn: "arn:aws:iam::222222222222:role/r", session_tags: {repo: a, team: x}, transitive_tag_keys: [team]}`,
			`{role_arn: "arn:aws:iam::333333333333:role/r", session_tags: {repo: b}}`),
	},
	{
		name: "transitive-key-not-a-tag",
		yaml: chainOf(validHop1, `{role_arn: "arn:aws:iam::222222222222:role/r", session_tags: {a: b}, transitive_tag_keys: [a, c]}`),
		want: []string{`test.yaml: profiles.p.chain[1].transitive_tag_keys[1]: "c" is not a key of this hop's session_tags`},
	},
	{
		name: "policy-bad-template",
		yaml: chainOf(validHop1, `{role_arn: "arn:aws:iam::222222222222:role/r", policy: "{{ if }}"}`),
		want: []string{"test.yaml: profiles.p.chain[1].policy: template: policy:1: missing value for if"},
	},
	{
		name: "too-many-policy-arns",
		yaml: chainOf(validHop1, `{role_arn: "arn:aws:iam::222222222222:role/r", policy_arns: [`+strings.Join(repeat("arn:aws:iam::aws:policy/ReadOnlyAccess", 11), ", ")+`]}`),
		want: []string{"test.yaml: profiles.p.chain[1].policy_arns: 11 policy ARNs exceed the STS limit of 10"},
	},
	{
		name: "policy-arn-malformed",
		yaml: chainOf(validHop1, `{role_arn: "arn:aws:iam::222222222222:role/r", policy_arns: ["arn:aws:iam::222222222222:policy/team/deploy", "arn:aws:iam::222222222222:role/x"]}`),
		want: []string{`test.yaml: profiles.p.chain[1].policy_arns[1]: "arn:aws:iam::222222222222:role/x" is not a managed policy ARN`},
	},
	{
		// STS: the policies must exist in the same account as the role.
		name: "policy-arn-of-another-account",
		yaml: chainOf(validHop1, `{role_arn: "arn:aws:iam::222222222222:role/r", policy_arns: ["arn:aws:iam::aws:policy/ReadOnlyAccess", "arn:aws:iam::222222222222:policy/own", "arn:aws:iam::333333333333:policy/theirs", "arn:aws-us-gov:iam::aws:policy/ReadOnlyAccess"]}`),
		want: []string{
			`test.yaml: profiles.p.chain[1].policy_arns[2]: "arn:aws:iam::333333333333:policy/theirs" is not in the role's account 222222222222 (partition aws): a managed session policy must be the role account's own or an AWS managed policy (arn:aws:iam::aws:policy/…)`,
			`test.yaml: profiles.p.chain[1].policy_arns[3]: "arn:aws-us-gov:iam::aws:policy/ReadOnlyAccess" is not in the role's account 222222222222 (partition aws)`,
		},
	},
	{
		name: "unknown-condition-operator",
		yaml: prof(`{issuer: github, conditions: {StringNotEquals: {sub: x}}, chain: [` + validHop1 + `]}`),
		want: []string{"test.yaml: line 7: profiles.p.conditions.StringNotEquals: unknown key (known here: StringEquals, StringLike)"},
	},
	{
		name: "condition-empty-value-list",
		yaml: prof(`{issuer: github, conditions: {StringEquals: {aud: []}, StringLike: {sub: ~}}, chain: [` + validHop1 + `]}`),
		want: []string{
			"test.yaml: profiles.p.conditions.StringEquals.aud: empty value list",
			"test.yaml: profiles.p.conditions.StringLike.sub: empty value list",
		},
	},
	{
		name: "no-conditions",
		yaml: prof(`{issuer: github, chain: [` + validHop1 + `]}`),
		want: []string{`test.yaml: profiles.p.conditions: at least one condition is required: without one, every token from issuer "github" could use this profile`},
	},
	{
		name: "conditions-match-any-token",
		yaml: prof(`{issuer: github, source: ambient, conditions: {StringLike: {sub: "*", aud: ["sts.amazonaws.com", "?*"]}}, chain: [` + validHop1 + `]}`),
		want: []string{`test.yaml: profiles.p.conditions: no condition says who the caller is: conditions on iss or aud, StringLike patterns of only * and ?, and sub patterns that leave the owner open (*:ref:refs/heads/main, repo:*, repo:myorg*, system:serviceaccount:*) are met by any token from issuer "github" that carries the claim; name what the caller must be (a repository owner, a namespace, a sub prefix)`},
	},
	{
		name: "ambient-no-conditions",
		yaml: prof(`{issuer: github, source: ambient, conditions: {}, chain: [` + validHop1 + `]}`),
		want: []string{`test.yaml: profiles.p.conditions: at least one condition is required`},
	},
	{
		name: "cache-min-remaining-not-below-refresh-before",
		yaml: "cache: {refresh_before: 20m, min_remaining: 20m}\n" + validYAML,
		want: []string{"test.yaml: cache.min_remaining: 20m must be shorter than cache.refresh_before (20m)"},
	},
	{
		name: "cache-min-remaining-zero",
		yaml: "cache: {min_remaining: 0s}\n" + validYAML,
		want: []string{"test.yaml: cache.min_remaining: 0s must be positive"},
	},
	{
		name: "cache-refresh-before-not-below-shortest-hop",
		yaml: "cache: {refresh_before: 45m, min_remaining: 20m}\n" + chainOf(validHop1, `{role_arn: "arn:aws:iam::222222222222:role/r", duration: 45m}`),
		want: []string{"test.yaml: cache.refresh_before: 45m must be shorter than the shortest hop duration (45m at profiles.p.chain[1].duration)"},
	},
	{
		name: "cache-max-entries-zero",
		yaml: "cache: {max_entries: 0}\n" + validYAML,
		want: []string{"test.yaml: cache.max_entries: 0 must be at least 1"},
	},
	{
		name: "server-addr-not-host-port",
		yaml: "server: {addr: localhost}\n" + validYAML,
		want: []string{`test.yaml: server.addr: "localhost" is not host:port`},
	},
	{
		name: "server-addr-bad-port",
		yaml: "server: {addr: '127.0.0.1:http'}\n" + validYAML,
		want: []string{`test.yaml: server.addr: "127.0.0.1:http": port must be a number from 0 to 65535`},
	},
	{
		name: "server-addr-not-loopback-without-tls",
		yaml: "server: {addr: '0.0.0.0:8080'}\n" + validYAML,
		want: []string{"test.yaml: server.addr: 0.0.0.0:8080 is not a loopback address: configure server.tls, or set server.insecure_plaintext: true"},
	},
	{
		name: "server-addr-all-interfaces-without-tls",
		yaml: "server: {addr: ':8080'}\n" + validYAML,
		want: []string{"test.yaml: server.addr: :8080 is not a loopback address"},
	},
	{
		name: "server-addr-not-loopback-insecure-plaintext",
		yaml: "server: {addr: '0.0.0.0:8080', insecure_plaintext: true}\n" + validYAML,
	},
	{
		name: "server-addr-not-loopback-with-tls",
		yaml: "server: {addr: '0.0.0.0:8443', tls: {cert_file: c.pem, key_file: k.pem}}\n" + validYAML,
	},
	{
		name: "server-tls-missing-files",
		yaml: "server: {addr: '0.0.0.0:8443', tls: {client_ca_file: ca.pem}}\n" + validYAML,
		want: []string{
			"test.yaml: server.tls.cert_file: required when server.tls is set",
			"test.yaml: server.tls.key_file: required when server.tls is set",
		},
	},
	{
		name: "server-tls-and-insecure-plaintext",
		yaml: "server: {tls: {cert_file: c.pem, key_file: k.pem}, insecure_plaintext: true}\n" + validYAML,
		want: []string{"test.yaml: server.insecure_plaintext: contradicts server.tls: remove one"},
	},
	{
		name: "server-metrics-addr",
		yaml: "server: {metrics_addr: '127.0.0.1:8080'}\n" + validYAML,
		want: []string{"test.yaml: server.metrics_addr: must differ from server.addr"},
	},
	{
		name: "server-metrics-addr-both-port-zero",
		yaml: "server: {addr: '127.0.0.1:0', metrics_addr: '127.0.0.1:0'}\n" + validYAML,
	},
	{
		name: "server-limits-zero",
		yaml: "server: {request_timeout: 0s, max_inflight: 0, max_connections: 0}\n" + validYAML,
		want: []string{
			"test.yaml: server.request_timeout: 0s must be positive",
			"test.yaml: server.max_inflight: 0 must be at least 1",
			"test.yaml: server.max_connections: 0 must be at least 1",
		},
	},
	{
		name: "rate-limits-invalid",
		yaml: "server: {rate_limit: {per_identity: -1, global: 5, global_burst: 0}}\n" + validYAML,
		want: []string{
			"test.yaml: server.rate_limit.per_identity: -1 must not be negative (0 disables the limit)",
			"test.yaml: server.rate_limit.global_burst: 0 must be at least 1 when server.rate_limit.global is set",
		},
	},
	{
		name: "rate-limits-disabled",
		yaml: "server: {rate_limit: {per_identity: 0, per_identity_burst: 0, global: 0, global_burst: 0}}\n" + validYAML,
	},
	{
		name: "aws-limits-zero",
		yaml: "aws: {max_concurrent_chains: 0, call_timeout: 0s}\n" + validYAML,
		want: []string{
			"test.yaml: aws.max_concurrent_chains: 0 must be at least 1",
			"test.yaml: aws.call_timeout: 0s must be positive",
		},
	},
	{
		name: "sts-endpoint-http-not-loopback",
		yaml: "aws: {sts_endpoint: 'http://sts.example.com'}\n" + validYAML,
		want: []string{"test.yaml: aws.sts_endpoint: must use https unless the host is loopback"},
	},
	{
		name: "sts-endpoint-other-region",
		yaml: "aws: {region: us-east-1, sts_endpoint: 'https://sts.eu-west-1.amazonaws.com'}\n" + validYAML,
		want: []string{"test.yaml: aws.sts_endpoint: sts.eu-west-1.amazonaws.com is STS in eu-west-1, but aws.region is us-east-1: requests are signed for aws.region, and STS refuses a signature for another region (SignatureDoesNotMatch) on every call; set aws.region: eu-west-1"},
	},
	{
		name: "sts-endpoint-vpce-other-region",
		yaml: "aws: {region: eu-west-1, sts_endpoint: 'https://vpce-0a1b2c3d-x1y2z3.sts.us-gov-west-1.vpce.amazonaws.com'}\n" + validYAML,
		want: []string{"test.yaml: aws.sts_endpoint: vpce-0a1b2c3d-x1y2z3.sts.us-gov-west-1.vpce.amazonaws.com is STS in us-gov-west-1, but aws.region is eu-west-1"},
	},
	{
		name: "sts-endpoint-fqdn-other-region",
		yaml: "aws: {region: us-east-1, sts_endpoint: 'https://sts.eu-west-1.amazonaws.com.'}\n" + validYAML,
		want: []string{"test.yaml: aws.sts_endpoint: sts.eu-west-1.amazonaws.com. is STS in eu-west-1, but aws.region is us-east-1"},
	},
	{
		name: "sts-endpoint-sovereign-other-region",
		yaml: "aws: {region: us-east-1, sts_endpoint: 'https://sts.eusc-de-east-1.amazonaws.eu'}\n" + validYAML,
		want: []string{"test.yaml: aws.sts_endpoint: sts.eusc-de-east-1.amazonaws.eu is STS in eusc-de-east-1, but aws.region is us-east-1"},
	},
	{
		name: "sts-endpoint-iso-same-region",
		yaml: "aws: {region: us-iso-east-1, sts_endpoint: 'https://sts.us-iso-east-1.c2s.ic.gov'}\n" + validYAML,
	},
	{
		name: "sts-endpoint-same-region",
		yaml: "aws: {region: eu-west-1, sts_endpoint: 'https://sts.eu-west-1.amazonaws.com'}\n" + validYAML,
	},
	{
		name: "sts-endpoint-fips-same-region",
		yaml: "aws: {region: us-east-2, sts_endpoint: 'https://sts-fips.us-east-2.amazonaws.com'}\n" + validYAML,
	},
	{
		name: "sts-endpoint-china-same-region",
		yaml: "aws: {region: cn-north-1, sts_endpoint: 'https://sts.cn-north-1.amazonaws.com.cn'}\n" + validYAML,
	},
	{
		// The global endpoint and other hosts name no region.
		name: "sts-endpoint-global",
		yaml: "aws: {region: eu-west-1, sts_endpoint: 'https://sts.amazonaws.com'}\n" + validYAML,
	},
	{
		name: "sts-endpoint-loopback",
		yaml: "aws: {region: eu-west-1, sts_endpoint: 'http://127.0.0.1:4566'}\n" + validYAML,
	},
	{
		name: "invalid-profile-name",
		yaml: issuersYAML + "profiles: {'a/b': {issuer: github, conditions: " + validCond + ", chain: [" + validHop1 + "]}}",
		want: []string{`test.yaml: profiles: invalid profile name "a/b": want 1 to 64 of A-Z a-z 0-9 _ . - and not only dots (names appear in URLs)`},
	},
	{
		name: "dot-dot-profile-name",
		yaml: issuersYAML + "profiles: {'..': {issuer: github, conditions: " + validCond + ", chain: [" + validHop1 + "]}}",
		want: []string{`test.yaml: profiles: invalid profile name ".."`},
	},
	{
		name: "profile-name-too-long",
		yaml: issuersYAML + "profiles: {" + strings.Repeat("a", 65) + ": {issuer: github, conditions: " + validCond + ", chain: [" + validHop1 + "]}}",
		want: []string{`test.yaml: profiles: invalid profile name "` + strings.Repeat("a", 65) + `"`},
	},
	{
		name: "profile-name-64-characters",
		yaml: issuersYAML + "profiles: {" + strings.Repeat("a", 64) + ": {issuer: github, conditions: " + validCond + ", chain: [" + validHop1 + "]}}",
	},
	{
		name: "empty-profile",
		yaml: issuersYAML + "profiles: {p: }",
		want: []string{"test.yaml: profiles.p: empty profile"},
	},
	{
		name: "no-profiles",
		yaml: issuersYAML,
		want: []string{"test.yaml: profiles: at least one profile is required"},
	},
	{
		name: "many-problems",
		yaml: "server: {addr: '0.0.0.0:80'}\ncache: {max_entries: 0}\n" + issuersYAML + `  - {name: github, url: "ftp://x", audiences: []}
profiles:
  prod-deploy:
    issuer: gitlab
    source: magic
    chain:
      - {role_arn: "arn:aws:iam::111111111111:role/a", external_id: x-1, duration: 5m}
      - {role_arn: "not-an-arn", duration: 2h}
`,
		want: []string{
			"test.yaml: server.addr: 0.0.0.0:80 is not a loopback address",
			`test.yaml: issuers[1].name: duplicate issuer name "github" (also issuers[0])`,
			"test.yaml: issuers[1].url: must be an absolute http or https URL",
			"test.yaml: issuers[1].audiences: at least one audience is required",
			"test.yaml: cache.max_entries: 0 must be at least 1",
			"test.yaml: cache.refresh_before: 30m must be shorter than the shortest hop duration (5m at profiles.prod-deploy.chain[0].duration)",
			`test.yaml: profiles.prod-deploy.issuer: unknown issuer "gitlab"`,
			`test.yaml: profiles.prod-deploy.source: unknown source "magic"`,
			`test.yaml: profiles.prod-deploy.conditions: at least one condition is required: without one, every token from issuer "gitlab"`,
			"test.yaml: profiles.prod-deploy.chain[0].duration: 5m is below the 15m STS minimum",
			`test.yaml: profiles.prod-deploy.chain[1].role_arn: "not-an-arn" is not a role ARN`,
			"test.yaml: profiles.prod-deploy.chain[1].duration: 2h exceeds the 1h role-chaining limit",
		},
	},
}

func TestParseValidation(t *testing.T) {
	for _, tt := range validateTests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse("test.yaml", []byte(tt.yaml))
			checkErrLines(t, err, tt.want)
			if (cfg == nil) != (len(tt.want) > 0) {
				t.Errorf("Parse() config = %v, want nil exactly when there is an error", cfg)
			}
		})
	}
}

// TestValidatePure checks that Validate on a Config built in Go reports the
// same path-named lines, without a file name.
func TestValidatePure(t *testing.T) {
	cfg, err := Parse("test.yaml", []byte(validYAML))
	if err != nil {
		t.Fatalf("Parse() error = %v", err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate() of a parsed config = %v, want nil", err)
	}
	cfg.Profiles["p"].Chain[1].Duration = Duration(2 * 60 * 60 * 1e9)
	cfg.Cache.MaxEntries = -1
	checkErrLines(t, cfg.Validate(), []string{
		"cache.max_entries: -1 must be at least 1",
		"profiles.p.chain[1].duration: 2h exceeds the 1h role-chaining limit",
	})
	if got := errLines(cfg.Validate())[1]; strings.HasPrefix(got, "test.yaml") {
		t.Errorf("Validate() line = %q, want no file prefix", got)
	}
}

// sessionPolicy is a one-statement session policy whose Resource is
// resource, for a single-quoted YAML scalar.
func sessionPolicy(resource string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"` + resource + `"}]}`
}

// policyARNsOf is a YAML flow list's items: managed policy ARNs of the
// account 222222222222, at most 600 characters each (IAM allows a path of
// 512), total characters long together.
func policyARNsOf(total int) string {
	const head, name = "arn:aws:iam::222222222222:policy/", "/deploy"
	var arns []string
	for i := 0; total > 0; i++ {
		n := min(total, 600)
		total -= n
		arns = append(arns, head+fmt.Sprint(i)+strings.Repeat("p", n-len(head)-len(name)-1)+name)
	}
	return strings.Join(arns, ", ")
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

// tags returns n flow-style session tag entries.
func tags(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "k%d: v", i)
	}
	return b.String()
}

// TestOpenSub: which sub patterns leave open who the caller is.
func TestOpenSub(t *testing.T) {
	for pattern, want := range map[string]bool{
		"*":                          true,
		"*:ref:refs/heads/main":      true, // every repository's main
		"?*:environment:prod":        true,
		"r*":                         true, // inside the prefix
		"repo*":                      true,
		"repo:*":                     true,
		"repo:?*":                    true,
		"repo:myorg*":                true, // repo:myorg-evil/… too
		"repo:myorg?*":               true,
		"project_path:mygroup*":      true,
		"system:serviceaccount:*":    true,
		"system:serviceaccount:ci*":  true,
		"organization:*":             true,
		"org/*":                      true,
		"repo:myorg/*":               false,
		"repo:myorg@123/*":           false,
		"repo:myorg/app:ref:*":       false,
		"project_path:mygroup/*":     false,
		"system:serviceaccount:ci:*": false,
		"organization:acme:*":        false,
		"repo:myorg/app":             false, // no wildcard
		"user:alice*":                false, // an unknown format: only a leading wildcard counts
	} {
		if got := openSub(pattern); got != want {
			t.Errorf("openSub(%q) = %v, want %v", pattern, got, want)
		}
	}
}

// TestSharedIssuerOf: which issuer URLs sign tokens for every tenant of a
// public service.
func TestSharedIssuerOf(t *testing.T) {
	for u, want := range map[string]string{
		"https://token.actions.githubusercontent.com":          "GitHub Actions",
		"https://token.actions.githubusercontent.com/octo-ent": "GitHub Actions",
		"https://token.actions.octocorp.ghe.com":               "GitHub Actions",
		"https://github.example.com/_services/token":           "GitHub Actions", // GHES
		"https://gitlab.com":                                   "GitLab.com",
		"https://agent.buildkite.com":                          "Buildkite",
		"https://gitlab.example.com":                           "", // self-managed: one organisation's
		"https://token.actions.githubusercontent.com.evil.com": "",
		"https://oidc.circleci.com/org/1234":                   "", // one organisation's
		"https://kubernetes.default.svc.cluster.local":         "",
	} {
		got := ""
		if si := sharedIssuerOf(u); si != nil {
			got = si.service
		}
		if got != want {
			t.Errorf("sharedIssuerOf(%q) = %q, want %q", u, got, want)
		}
	}
}
