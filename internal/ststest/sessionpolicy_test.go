package ststest

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"
)

// sessionPolicyOf is a session policy with one statement whose body (the
// statement's members) is given.
func sessionPolicyOf(body string) string {
	return `{"Version":"2012-10-17","Statement":[{` + body + `}]}`
}

const readStatement = `"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"`

// sessionPolicyTests are Policy parameters and STS's answer to them. An
// empty wantCode means the call succeeds.
var sessionPolicyTests = []struct {
	name        string
	policy      string
	wantCode    string
	wantStatus  int
	wantMessage string // exact when set
}{
	{name: "one-statement", policy: sessionPolicyOf(readStatement)},
	{name: "statement-object", policy: `{"Version":"2012-10-17","Statement":{` + readStatement + `}}`},
	{
		name:   "whole-grammar",
		policy: `{"Version":"2008-10-17","Id":"p","Statement":[{"Sid":"A","Effect":"Deny","NotAction":["s3:DeleteObject"],"NotResource":["arn:aws:s3:::keep/*"],"Condition":{"StringEquals":{"aws:RequestedRegion":"eu-west-1"}}},{` + readStatement + `}]}`,
	},
	{name: "no-version", policy: `{"Statement":[{` + readStatement + `}]}`},
	{name: "latin-1", policy: sessionPolicyOf(`"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/café/*"`)},
	{
		name:   "at-length-limit",
		policy: sessionPolicyOf(`"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/` + strings.Repeat("a", maxPolicyLen-len(sessionPolicyOf(`"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/"`))) + `"`),
	},
	{
		name:       "over-length-limit",
		policy:     sessionPolicyOf(`"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/` + strings.Repeat("a", maxPolicyLen+1-len(sessionPolicyOf(`"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/"`))) + `"`),
		wantCode:   "ValidationError",
		wantStatus: 400,
		wantMessage: "1 validation error detected: Value at 'policy' failed to satisfy constraint: " +
			"Member must have length less than or equal to 2048",
	},
	{
		name:       "character-above-latin-1",
		policy:     sessionPolicyOf(`"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/→/*"`),
		wantCode:   "ValidationError",
		wantStatus: 400,
	},
	{name: "not-json", policy: `{"Version":"2012-10-17",`, wantCode: "MalformedPolicyDocument", wantStatus: 400, wantMessage: msgPolicyNotJSON},
	{name: "array", policy: `[{` + readStatement + `}]`, wantCode: "MalformedPolicyDocument", wantStatus: 400, wantMessage: msgPolicySyntax},
	{name: "unknown-top-level-key", policy: `{"Version":"2012-10-17","Statment":[{` + readStatement + `}]}`, wantCode: "MalformedPolicyDocument", wantStatus: 400, wantMessage: msgPolicySyntax},
	{name: "unknown-version", policy: `{"Version":"2012-10-18","Statement":[{` + readStatement + `}]}`, wantCode: "MalformedPolicyDocument", wantStatus: 400, wantMessage: msgPolicySyntax},
	{name: "id-not-string", policy: `{"Id":1,"Statement":[{` + readStatement + `}]}`, wantCode: "MalformedPolicyDocument", wantStatus: 400, wantMessage: msgPolicySyntax},
	{name: "no-statement", policy: `{"Version":"2012-10-17"}`, wantCode: "MalformedPolicyDocument", wantStatus: 400, wantMessage: msgPolicySyntax},
	{name: "empty-statement", policy: `{"Version":"2012-10-17","Statement":[]}`, wantCode: "MalformedPolicyDocument", wantStatus: 400, wantMessage: msgPolicySyntax},
	{name: "statement-string", policy: `{"Version":"2012-10-17","Statement":"x"}`, wantCode: "MalformedPolicyDocument", wantStatus: 400, wantMessage: msgPolicySyntax},
	{name: "statement-item-null", policy: `{"Version":"2012-10-17","Statement":[{` + readStatement + `},null]}`, wantCode: "MalformedPolicyDocument", wantStatus: 400, wantMessage: msgPolicySyntax},
	{name: "principal", policy: sessionPolicyOf(readStatement + `,"Principal":{"AWS":"111111111111"}`), wantCode: "MalformedPolicyDocument", wantStatus: 400, wantMessage: msgPolicyPrincipal},
	{name: "not-principal", policy: sessionPolicyOf(readStatement + `,"NotPrincipal":"*"`), wantCode: "MalformedPolicyDocument", wantStatus: 400, wantMessage: msgPolicyPrincipal},
	{name: "unknown-statement-key", policy: sessionPolicyOf(`"Effect":"Allow","Action":"s3:GetObject","Resources":"*"`), wantCode: "MalformedPolicyDocument", wantStatus: 400, wantMessage: msgPolicySyntax},
	{name: "effect-lower-case", policy: sessionPolicyOf(`"Effect":"allow","Action":"s3:GetObject","Resource":"*"`), wantCode: "MalformedPolicyDocument", wantStatus: 400, wantMessage: msgPolicySyntax},
	{name: "no-effect", policy: sessionPolicyOf(`"Action":"s3:GetObject","Resource":"*"`), wantCode: "MalformedPolicyDocument", wantStatus: 400, wantMessage: msgPolicySyntax},
	{name: "effect-empty", policy: sessionPolicyOf(`"Effect":"","Action":"s3:GetObject","Resource":"*"`), wantCode: "MalformedPolicyDocument", wantStatus: 400, wantMessage: msgPolicySyntax},
	{name: "no-action", policy: sessionPolicyOf(`"Effect":"Allow","Resource":"*"`), wantCode: "MalformedPolicyDocument", wantStatus: 400, wantMessage: msgPolicyActions},
	{name: "action-and-not-action", policy: sessionPolicyOf(readStatement + `,"NotAction":"s3:PutObject"`), wantCode: "MalformedPolicyDocument", wantStatus: 400, wantMessage: msgPolicySyntax},
	{name: "no-resource", policy: sessionPolicyOf(`"Effect":"Allow","Action":"s3:GetObject"`), wantCode: "MalformedPolicyDocument", wantStatus: 400, wantMessage: msgPolicyResources},
	{name: "resource-and-not-resource", policy: sessionPolicyOf(readStatement + `,"NotResource":"x"`), wantCode: "MalformedPolicyDocument", wantStatus: 400, wantMessage: msgPolicySyntax},
	{name: "action-number", policy: sessionPolicyOf(`"Effect":"Allow","Action":1,"Resource":"*"`), wantCode: "MalformedPolicyDocument", wantStatus: 400, wantMessage: msgPolicySyntax},
	{name: "resource-list-with-null", policy: sessionPolicyOf(`"Effect":"Allow","Action":"s3:GetObject","Resource":["*",null]`), wantCode: "MalformedPolicyDocument", wantStatus: 400, wantMessage: msgPolicySyntax},
	{name: "condition-not-object", policy: sessionPolicyOf(readStatement + `,"Condition":"x"`), wantCode: "MalformedPolicyDocument", wantStatus: 400, wantMessage: msgPolicySyntax},
	{name: "sid-not-string", policy: sessionPolicyOf(readStatement + `,"Sid":1`), wantCode: "MalformedPolicyDocument", wantStatus: 400, wantMessage: msgPolicySyntax},
	// IAM: a Sid is [0-9A-Za-z]*, unique within the policy.
	{name: "sids-alphanumeric", policy: `{"Version":"2012-10-17","Statement":[{"Sid":"Read1",` + readStatement + `},{"Sid":"Read2",` + readStatement + `}]}`},
	{name: "sid-empty", policy: sessionPolicyOf(`"Sid":"",` + readStatement)},
	{name: "sid-hyphen", policy: sessionPolicyOf(`"Sid":"read-1",` + readStatement), wantCode: "MalformedPolicyDocument", wantStatus: 400, wantMessage: msgPolicySidChars},
	{name: "sid-underscore", policy: sessionPolicyOf(`"Sid":"read_1",` + readStatement), wantCode: "MalformedPolicyDocument", wantStatus: 400, wantMessage: msgPolicySidChars},
	{name: "sid-space", policy: sessionPolicyOf(`"Sid":"Read 1",` + readStatement), wantCode: "MalformedPolicyDocument", wantStatus: 400, wantMessage: msgPolicySidChars},
	{name: "sid-latin-1-letter", policy: sessionPolicyOf(`"Sid":"Café",` + readStatement), wantCode: "MalformedPolicyDocument", wantStatus: 400, wantMessage: msgPolicySidChars},
	{name: "sid-escaped-hyphen", policy: sessionPolicyOf(`"Sid":"read\u002d1",` + readStatement), wantCode: "MalformedPolicyDocument", wantStatus: 400, wantMessage: msgPolicySidChars},
	{name: "sid-in-statement-object", policy: `{"Version":"2012-10-17","Statement":{"Sid":"read.1",` + readStatement + `}}`, wantCode: "MalformedPolicyDocument", wantStatus: 400, wantMessage: msgPolicySidChars},
	{
		name:     "sid-repeated",
		policy:   `{"Version":"2012-10-17","Statement":[{"Sid":"Read",` + readStatement + `},{"Sid":"Read",` + readStatement + `}]}`,
		wantCode: "MalformedPolicyDocument", wantStatus: 400, wantMessage: msgPolicySidUnique,
	},
	{
		name:     "sid-repeated-later",
		policy:   `{"Version":"2012-10-17","Statement":[{"Sid":"A",` + readStatement + `},{` + readStatement + `},{"Sid":"B",` + readStatement + `},{"Sid":"A",` + readStatement + `}]}`,
		wantCode: "MalformedPolicyDocument", wantStatus: 400, wantMessage: msgPolicySidUnique,
	},
	{
		// Terraform's aws_iam_policy_document writes "Sid": "" on every
		// statement without one; AWS accepts it.
		name:   "sid-empty-repeated",
		policy: `{"Version":"2012-10-17","Statement":[{"Sid":"",` + readStatement + `},{"Sid":"",` + readStatement + `}]}`,
	},
}

// TestSessionPolicy: both operations check the Policy parameter as STS
// does: ValidationError for its length and characters, then
// MalformedPolicyDocument unless it is a session policy in IAM's grammar;
// the real SDK reads the error.
func TestSessionPolicy(t *testing.T) {
	e := newSeedEnv(t)
	creds := e.hop1Creds(t)
	ops := []struct {
		name string
		call func(t *testing.T, policy string) error
	}{
		{name: "AssumeRoleWithWebIdentity", call: func(t *testing.T, policy string) error {
			return e.arwwi(t, e.iss.mint(t, e.iss.claims()), func(in *sts.AssumeRoleWithWebIdentityInput) { in.Policy = aws.String(policy) })
		}},
		{name: "AssumeRole", call: func(t *testing.T, policy string) error {
			return e.assumeTarget(t, creds, func(in *sts.AssumeRoleInput) { in.Policy = aws.String(policy) })
		}},
	}
	for _, op := range ops {
		for _, tt := range sessionPolicyTests {
			t.Run(op.name+"/"+tt.name, func(t *testing.T) {
				err := op.call(t, tt.policy)
				if tt.wantCode == "" {
					if err != nil {
						t.Fatalf("%s() error = %v, want nil", op.name, err)
					}
					return
				}
				if err == nil {
					t.Fatalf("%s() succeeded, want %s", op.name, tt.wantCode)
				}
				code, msg, status := apiErrorOf(t, err)
				if code != tt.wantCode || status != tt.wantStatus {
					t.Errorf("error = %s (HTTP %d) %q, want %s (HTTP %d)", code, status, msg, tt.wantCode, tt.wantStatus)
				}
				if tt.wantMessage != "" && msg != tt.wantMessage {
					t.Errorf("message = %q, want %q", msg, tt.wantMessage)
				}
			})
		}
	}
}

// TestSessionPolicyWithPolicyArns: STS counts the inline policy and the
// managed policies' ARNs against one limit: "The plaintext that you use for
// both inline and managed session policies can't exceed 2,048 characters".
// Both operations refuse a Policy and PolicyArns over it together, though
// each fits on its own, with a ValidationError.
func TestSessionPolicyWithPolicyArns(t *testing.T) {
	e := newSeedEnv(t)
	creds := e.hop1Creds(t)
	// arn is a managed policy ARN of n characters.
	arn := func(n int) string {
		const head = "arn:aws:iam::222222222222:policy/"
		return head + strings.Repeat("p", n-len(head))
	}
	// policyOf is a session policy of n characters.
	policyOf := func(n int) string {
		body := func(pad int) string {
			return `"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/` + strings.Repeat("a", pad) + `"`
		}
		return sessionPolicyOf(body(n - len(sessionPolicyOf(body(0)))))
	}
	tests := []struct {
		name        string
		policy      string // "" for none
		arns        []string
		wantMessage string // "" for success
	}{
		{name: "policy-and-arns-at-limit", policy: policyOf(1000), arns: []string{arn(500), arn(548)}},
		{name: "arns-at-limit", arns: []string{arn(1024), arn(1024)}},
		{name: "latin-1-policy-and-arns-at-limit", policy: strings.Replace(policyOf(1000), "aaa", "ééé", 1), arns: []string{arn(1048)}},
		{
			name:        "policy-and-arns-over-limit",
			policy:      policyOf(1000),
			arns:        []string{arn(500), arn(549)},
			wantMessage: "The plaintext of the inline and managed session policies (Policy and PolicyArns together) is 2049 characters, over the 2048 allowed.",
		},
		{
			name:        "policy-at-limit-with-one-arn",
			policy:      policyOf(maxPolicyLen),
			arns:        []string{"arn:aws:iam::aws:policy/ReadOnlyAccess"},
			wantMessage: "The plaintext of the inline and managed session policies (Policy and PolicyArns together) is 2086 characters, over the 2048 allowed.",
		},
		{
			name:        "arns-over-limit",
			arns:        []string{arn(1024), arn(1025)},
			wantMessage: "The plaintext of the inline and managed session policies (Policy and PolicyArns together) is 2049 characters, over the 2048 allowed.",
		},
	}
	descriptors := func(arns []string) []types.PolicyDescriptorType {
		var out []types.PolicyDescriptorType
		for _, a := range arns {
			out = append(out, types.PolicyDescriptorType{Arn: aws.String(a)})
		}
		return out
	}
	ops := []struct {
		name string
		call func(t *testing.T, policy string, arns []string) error
	}{
		{name: "AssumeRoleWithWebIdentity", call: func(t *testing.T, policy string, arns []string) error {
			return e.arwwi(t, e.iss.mint(t, e.iss.claims()), func(in *sts.AssumeRoleWithWebIdentityInput) {
				if policy != "" {
					in.Policy = aws.String(policy)
				}
				in.PolicyArns = descriptors(arns)
			})
		}},
		{name: "AssumeRole", call: func(t *testing.T, policy string, arns []string) error {
			return e.assumeTarget(t, creds, func(in *sts.AssumeRoleInput) {
				if policy != "" {
					in.Policy = aws.String(policy)
				}
				in.PolicyArns = descriptors(arns)
			})
		}},
	}
	for _, op := range ops {
		for _, tt := range tests {
			t.Run(op.name+"/"+tt.name, func(t *testing.T) {
				err := op.call(t, tt.policy, tt.arns)
				if tt.wantMessage == "" {
					if err != nil {
						t.Fatalf("%s() error = %v, want nil", op.name, err)
					}
					return
				}
				if err == nil {
					t.Fatalf("%s() succeeded, want ValidationError", op.name)
				}
				code, msg, status := apiErrorOf(t, err)
				if code != "ValidationError" || status != 400 || msg != tt.wantMessage {
					t.Errorf("error = %s (HTTP %d) %q, want ValidationError (HTTP 400) %q", code, status, msg, tt.wantMessage)
				}
			})
		}
	}
}
