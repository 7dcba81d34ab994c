package ststest

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"
)

func TestConditionSemantics(t *testing.T) {
	tests := []struct {
		name   string
		policy string // Condition block
		ctx    map[string][]string
		want   bool
	}{
		{name: "equals-match", policy: `{"StringEquals":{"sts:ExternalId":"x1"}}`, ctx: map[string][]string{"sts:externalid": {"x1"}}, want: true},
		{name: "equals-case-sensitive", policy: `{"StringEquals":{"sts:ExternalId":"X1"}}`, ctx: map[string][]string{"sts:externalid": {"x1"}}, want: false},
		{name: "key-name-case-insensitive", policy: `{"StringEquals":{"STS:EXTERNALID":"x1"}}`, ctx: map[string][]string{"sts:externalid": {"x1"}}, want: true},
		{name: "equals-ignore-case", policy: `{"StringEqualsIgnoreCase":{"sts:ExternalId":"X1"}}`, ctx: map[string][]string{"sts:externalid": {"x1"}}, want: true},
		{name: "missing-key-false", policy: `{"StringEquals":{"sts:ExternalId":"x1"}}`, ctx: nil, want: false},
		{name: "missing-key-negated-true", policy: `{"StringNotEquals":{"sts:ExternalId":"x1"}}`, ctx: nil, want: true},
		{name: "missing-key-if-exists-true", policy: `{"StringEqualsIfExists":{"sts:ExternalId":"x1"}}`, ctx: nil, want: true},
		{name: "values-ored", policy: `{"StringEquals":{"sts:ExternalId":["a1","x1"]}}`, ctx: map[string][]string{"sts:externalid": {"x1"}}, want: true},
		{name: "negated-values-none-may-match", policy: `{"StringNotEquals":{"sts:ExternalId":["a1","x1"]}}`, ctx: map[string][]string{"sts:externalid": {"x1"}}, want: false},
		{name: "negated-no-value-matches", policy: `{"StringNotEquals":{"sts:ExternalId":["a1","b1"]}}`, ctx: map[string][]string{"sts:externalid": {"x1"}}, want: true},
		{name: "keys-anded", policy: `{"StringEquals":{"a:aud":"sts","a:sub":"s1"}}`, ctx: map[string][]string{"a:aud": {"sts"}, "a:sub": {"s2"}}, want: false},
		{name: "operators-anded", policy: `{"StringEquals":{"a:aud":"sts"},"StringLike":{"a:sub":"repo:o/*"}}`, ctx: map[string][]string{"a:aud": {"sts"}, "a:sub": {"repo:o/r"}}, want: true},
		{name: "like-star-and-question", policy: `{"StringLike":{"a:sub":"repo:?/*:ref:*"}}`, ctx: map[string][]string{"a:sub": {"repo:o/r:ref:main"}}, want: true},
		{name: "like-case-sensitive", policy: `{"StringLike":{"a:sub":"repo:o/*"}}`, ctx: map[string][]string{"a:sub": {"REPO:o/r"}}, want: false},
		{name: "not-like", policy: `{"StringNotLike":{"a:sub":"repo:o/*"}}`, ctx: map[string][]string{"a:sub": {"repo:x/r"}}, want: true},
		{name: "for-all-values-missing-true", policy: `{"ForAllValues:StringEquals":{"aws:TagKeys":["team"]}}`, ctx: nil, want: true},
		{name: "for-all-values-subset-true", policy: `{"ForAllValues:StringEquals":{"aws:TagKeys":["team","repo"]}}`, ctx: map[string][]string{"aws:tagkeys": {"team"}}, want: true},
		{name: "for-all-values-extra-false", policy: `{"ForAllValues:StringEquals":{"aws:TagKeys":["team"]}}`, ctx: map[string][]string{"aws:tagkeys": {"team", "evil"}}, want: false},
		{name: "for-any-value-missing-false", policy: `{"ForAnyValue:StringEquals":{"aws:TagKeys":["team"]}}`, ctx: nil, want: false},
		{name: "for-any-value-one-match-true", policy: `{"ForAnyValue:StringEquals":{"aws:TagKeys":["team"]}}`, ctx: map[string][]string{"aws:tagkeys": {"evil", "team"}}, want: true},
		{name: "for-any-value-not-equals", policy: `{"ForAnyValue:StringNotEquals":{"aws:TagKeys":["team"]}}`, ctx: map[string][]string{"aws:tagkeys": {"team"}}, want: false},
		{name: "null-true-absent", policy: `{"Null":{"sts:ExternalId":"true"}}`, ctx: nil, want: true},
		{name: "null-false-present", policy: `{"Null":{"sts:ExternalId":"false"}}`, ctx: map[string][]string{"sts:externalid": {"x1"}}, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conds, err := parseConditions([]byte(tt.policy))
			if err != nil {
				t.Fatalf("parseConditions(%s) = %v", tt.policy, err)
			}
			st := statement{conditions: conds}
			if got := st.conditionsHold(tt.ctx); got != tt.want {
				t.Errorf("conditionsHold(%v) = %v, want %v", tt.ctx, got, tt.want)
			}
		})
	}
}

func TestParsePolicyRefuses(t *testing.T) {
	tests := []struct {
		name   string
		policy string
	}{
		{name: "not-json", policy: `{`},
		{name: "wrong-version", policy: `{"Version":"2012-10-18","Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"}]}`},
		{name: "resource", policy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Resource":"*"}]}`},
		{name: "not-principal", policy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotPrincipal":{"AWS":"1"},"Action":"sts:AssumeRole"}]}`},
		{name: "no-principal", policy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole"}]}`},
		{name: "wildcard-in-principal-arn", policy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:role/*"},"Action":"sts:AssumeRole"}]}`},
		{name: "bad-effect", policy: `{"Version":"2012-10-17","Statement":[{"Effect":"allow","Principal":"*","Action":"sts:AssumeRole"}]}`},
		{name: "unknown-operator", policy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"StringSortOf":{"a":"b"}}}]}`},
		{name: "unknown-top-level", policy: `{"Version":"2012-10-17","Statment":[]}`},
		{name: "empty-action", policy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":[]}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := parsePolicy(tt.policy); err == nil {
				t.Errorf("parsePolicy(%s) = nil error, want an error", tt.policy)
			}
		})
	}
}

func TestGlobMatch(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"repo:myorg/*:ref:refs/heads/main", "repo:myorg/app:ref:refs/heads/main", true},
		{"repo:myorg/*:ref:refs/heads/main", "repo:myorg/app:ref:refs/heads/main2", false},
		{"*", "", true},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
	}
	for _, tt := range tests {
		if got := globMatch(tt.pattern, tt.s); got != tt.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}

// TestTrustPolicies drives custom roles through the real client with an ambient base key.
func TestTrustPolicies(t *testing.T) {
	const (
		user    = "arn:aws:iam::333333333333:user/deployer"
		roleARN = "arn:aws:iam::444444444444:role/app/target"
	)
	tests := []struct {
		name     string
		policy   string
		in       sts.AssumeRoleInput
		wantCode string // "" = success
	}{
		{
			name:   "account-root-trusts-base-key",
			policy: `{"Statement":[{"Action":"sts:AssumeRole","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::333333333333:root"}}],"Version":"2012-10-17"}`,
		},
		{
			name:   "bare-account-id-trusts-base-key",
			policy: `{"Statement":[{"Action":["sts:AssumeRole"],"Effect":"Allow","Principal":{"AWS":["333333333333"]}}],"Version":"2012-10-17"}`,
		},
		{
			name:     "other-account-root",
			policy:   `{"Statement":[{"Action":"sts:AssumeRole","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::555555555555:root"}}],"Version":"2012-10-17"}`,
			wantCode: "AccessDenied",
		},
		{
			name:   "user-arn",
			policy: `{"Statement":[{"Action":"sts:AssumeRole","Effect":"Allow","Principal":{"AWS":"` + user + `"}}],"Version":"2012-10-17"}`,
		},
		{
			name: "explicit-deny-wins",
			policy: `{"Statement":[{"Action":"sts:AssumeRole","Effect":"Allow","Principal":{"AWS":"333333333333"}},` +
				`{"Action":"sts:*","Effect":"Deny","Principal":"*","Condition":{"StringEquals":{"sts:RoleSessionName":"s1"}}}],"Version":"2012-10-17"}`,
			wantCode: "AccessDenied",
		},
		{
			name: "deny-not-applicable",
			policy: `{"Statement":[{"Action":"sts:AssumeRole","Effect":"Allow","Principal":{"AWS":"333333333333"}},` +
				`{"Action":"sts:*","Effect":"Deny","Principal":"*","Condition":{"StringEquals":{"sts:RoleSessionName":"other"}}}],"Version":"2012-10-17"}`,
		},
		{
			name: "for-all-values-allows-listed-tags",
			policy: `{"Statement":[{"Action":["sts:AssumeRole","sts:TagSession"],"Effect":"Allow","Principal":{"AWS":"333333333333"},` +
				`"Condition":{"ForAllValues:StringEquals":{"aws:TagKeys":["team","repo"]}}}],"Version":"2012-10-17"}`,
			in: sts.AssumeRoleInput{Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("a")}}},
		},
		{
			name: "for-all-values-refuses-extra-tag",
			policy: `{"Statement":[{"Action":["sts:AssumeRole","sts:TagSession"],"Effect":"Allow","Principal":{"AWS":"333333333333"},` +
				`"Condition":{"ForAllValues:StringEquals":{"aws:TagKeys":["team","repo"]}}}],"Version":"2012-10-17"}`,
			in:       sts.AssumeRoleInput{Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("a")}, {Key: aws.String("evil"), Value: aws.String("b")}}},
			wantCode: "AccessDenied",
		},
		{
			name: "for-any-value-refuses-no-tags",
			policy: `{"Statement":[{"Action":["sts:AssumeRole","sts:TagSession"],"Effect":"Allow","Principal":{"AWS":"333333333333"},` +
				`"Condition":{"ForAnyValue:StringEquals":{"aws:TagKeys":"team"}}}],"Version":"2012-10-17"}`,
			wantCode: "AccessDenied",
		},
		{
			name: "for-any-value-allows-one-match",
			policy: `{"Statement":[{"Action":["sts:AssumeRole","sts:TagSession"],"Effect":"Allow","Principal":{"AWS":"333333333333"},` +
				`"Condition":{"ForAnyValue:StringEquals":{"aws:TagKeys":"team"},"StringEquals":{"aws:RequestTag/team":"a"}}}],"Version":"2012-10-17"}`,
			in: sts.AssumeRoleInput{Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("a")}, {Key: aws.String("x"), Value: aws.String("b")}}},
		},
		{
			name: "principal-arn-condition",
			policy: `{"Statement":[{"Action":"sts:AssumeRole","Effect":"Allow","Principal":{"AWS":"*"},` +
				`"Condition":{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::333333333333:user/deploy*"}}}],"Version":"2012-10-17"}`,
		},
		{
			name:     "duration-over-role-max",
			policy:   `{"Statement":[{"Action":"sts:AssumeRole","Effect":"Allow","Principal":{"AWS":"333333333333"}}],"Version":"2012-10-17"}`,
			in:       sts.AssumeRoleInput{DurationSeconds: aws.Int32(7200)},
			wantCode: "ValidationError",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := Start(t, Options{})
			if err := srv.AddRole(Role{ARN: roleARN, TrustPolicy: tt.policy}); err != nil {
				t.Fatalf("AddRole() = %v", err)
			}
			id, secret, err := srv.AddAccessKey(user)
			if err != nil {
				t.Fatalf("AddAccessKey() = %v", err)
			}
			in := tt.in
			in.RoleArn, in.RoleSessionName = aws.String(roleARN), aws.String("s1")
			out, err := newClient(srv).AssumeRole(t.Context(), &in, withCreds(id, secret, ""))
			if tt.wantCode != "" {
				if err == nil {
					t.Fatalf("AssumeRole() succeeded, want %s", tt.wantCode)
				}
				if code, msg, _ := apiErrorOf(t, err); code != tt.wantCode {
					t.Errorf("AssumeRole() error = %s %q, want %s", code, msg, tt.wantCode)
				}
				return
			}
			if err != nil {
				t.Fatalf("AssumeRole() = %v", err)
			}
			if got, want := *out.AssumedRoleUser.Arn, "arn:aws:sts::444444444444:assumed-role/target/s1"; got != want {
				t.Errorf("AssumedRoleUser.Arn = %q, want %q (role path dropped)", got, want)
			}
		})
	}
}

func TestBaseKeyCallerIdentity(t *testing.T) {
	srv := Start(t, Options{})
	const user = "arn:aws:iam::333333333333:user/ci/deployer"
	id, secret, err := srv.AddAccessKey(user)
	if err != nil {
		t.Fatalf("AddAccessKey() = %v", err)
	}
	out, err := newClient(srv).GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{}, withCreds(id, secret, ""))
	if err != nil {
		t.Fatalf("GetCallerIdentity() = %v", err)
	}
	if *out.Arn != user || *out.Account != "333333333333" || len(*out.UserId) != 21 || (*out.UserId)[:4] != "AIDA" {
		t.Errorf("GetCallerIdentity() = %s %s %s, want %s 333333333333 AIDA…", *out.Arn, *out.Account, *out.UserId, user)
	}
}
