package ststest

import (
	"regexp"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/google/go-cmp/cmp"
)

func TestSeedChain(t *testing.T) {
	e := newSeedEnv(t)
	token := e.iss.mint(t, e.iss.claims())

	out1, err := e.client.AssumeRoleWithWebIdentity(t.Context(), &sts.AssumeRoleWithWebIdentityInput{
		RoleArn:          aws.String(SeedToolingRoleARN),
		RoleSessionName:  aws.String("gha-1"),
		WebIdentityToken: aws.String(token),
	})
	if err != nil {
		t.Fatalf("AssumeRoleWithWebIdentity() = %v", err)
	}
	if got, want := *out1.AssumedRoleUser.Arn, "arn:aws:sts::111111111111:assumed-role/github-actions-oidc/gha-1"; got != want {
		t.Errorf("hop 1 AssumedRoleUser.Arn = %q, want %q", got, want)
	}
	if got, want := *out1.SubjectFromWebIdentityToken, "repo:myorg/app:ref:refs/heads/main"; got != want {
		t.Errorf("SubjectFromWebIdentityToken = %q, want %q", got, want)
	}
	if got, want := *out1.Audience, SeedAudience; got != want {
		t.Errorf("Audience = %q, want %q", got, want)
	}
	if got, want := *out1.Provider, "arn:aws:iam::111111111111:oidc-provider/"+issuerKeyPrefix(e.iss.URL); got != want {
		t.Errorf("Provider = %q, want %q", got, want)
	}
	checkCredentials(t, out1.Credentials.AccessKeyId, out1.Credentials.SecretAccessKey, out1.Credentials.SessionToken)
	if got, want := out1.Credentials.Expiration.Sub(e.clock.Now()), time.Hour; got > want || got < want-5*time.Second {
		t.Errorf("hop 1 lifetime = %v, want about %v", got, want)
	}
	if !regexp.MustCompile(`^AROA[A-Z2-7]{17}:gha-1$`).MatchString(*out1.AssumedRoleUser.AssumedRoleId) {
		t.Errorf("AssumedRoleId = %q, want AROA<17>:gha-1", *out1.AssumedRoleUser.AssumedRoleId)
	}
	c1 := out1.Credentials

	out2, err := e.client.AssumeRole(t.Context(), &sts.AssumeRoleInput{
		RoleArn:         aws.String(SeedTargetRoleARN),
		RoleSessionName: aws.String("deploy-1"),
		ExternalId:      aws.String(SeedExternalID),
		DurationSeconds: aws.Int32(3600),
	}, withCreds(*c1.AccessKeyId, *c1.SecretAccessKey, *c1.SessionToken))
	if err != nil {
		t.Fatalf("AssumeRole() = %v", err)
	}
	c2 := out2.Credentials
	checkCredentials(t, c2.AccessKeyId, c2.SecretAccessKey, c2.SessionToken)

	id, err := e.client.GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{},
		withCreds(*c2.AccessKeyId, *c2.SecretAccessKey, *c2.SessionToken))
	if err != nil {
		t.Fatalf("GetCallerIdentity() = %v", err)
	}
	want := []string{"arn:aws:sts::222222222222:assumed-role/ci-deploy-role/deploy-1", "222222222222", *out2.AssumedRoleUser.AssumedRoleId}
	if diff := cmp.Diff(want, []string{*id.Arn, *id.Account, *id.UserId}); diff != "" {
		t.Errorf("GetCallerIdentity() Arn, Account, UserId mismatch (-want +got):\n%s", diff)
	}

	wantReqs := []Request{
		{
			Action: "AssumeRoleWithWebIdentity", RoleARN: SeedToolingRoleARN, RoleSessionName: "gha-1", Outcome: "ok",
			TokenSHA256: sha256Hex(token), TokenSubject: "repo:myorg/app:ref:refs/heads/main",
		},
		{
			Action: "AssumeRole", RoleARN: SeedTargetRoleARN, RoleSessionName: "deploy-1", Outcome: "ok",
			CallerARN:        "arn:aws:sts::111111111111:assumed-role/github-actions-oidc/gha-1",
			DurationSeconds:  3600,
			ExternalIDSHA256: sha256Hex(SeedExternalID),
			AccessKeyID:      *c1.AccessKeyId,
		},
		{
			Action: "GetCallerIdentity", Outcome: "ok",
			CallerARN:   "arn:aws:sts::222222222222:assumed-role/ci-deploy-role/deploy-1",
			AccessKeyID: *c2.AccessKeyId,
		},
	}
	if diff := cmp.Diff(wantReqs, e.srv.Requests()); diff != "" {
		t.Errorf("Requests() mismatch (-want +got):\n%s", diff)
	}
	for _, a := range []string{"AssumeRoleWithWebIdentity", "AssumeRole", "GetCallerIdentity"} {
		if got := e.srv.Calls(a); got != 1 {
			t.Errorf("Calls(%q) = %d, want 1", a, got)
		}
		if got := e.srv.CallsByOutcome(a, OutcomeOK); got != 1 {
			t.Errorf("CallsByOutcome(%q, ok) = %d, want 1", a, got)
		}
	}
	e.srv.ResetRecords()
	if got := e.srv.Calls("AssumeRole"); got != 0 {
		t.Errorf("Calls(AssumeRole) after ResetRecords = %d, want 0", got)
	}
	if got := len(e.srv.Requests()); got != 0 {
		t.Errorf("len(Requests()) after ResetRecords = %d, want 0", got)
	}
}

func checkCredentials(t *testing.T, akid, secret, token *string) {
	t.Helper()
	if !regexp.MustCompile(`^ASIA[A-Z0-9]{16}$`).MatchString(*akid) {
		t.Errorf("AccessKeyId = %q, want ASIA + 16 uppercase alphanumerics", *akid)
	}
	if len(*secret) != 40 {
		t.Errorf("len(SecretAccessKey) = %d, want 40", len(*secret))
	}
	if len(*token) < 100 {
		t.Errorf("len(SessionToken) = %d, want >= 100", len(*token))
	}
}

func TestSeedTrustPoliciesJSONEncodeShape(t *testing.T) {
	tooling, target := SeedTrustPolicies("https://token.actions.githubusercontent.com")
	wantTooling := `{"Statement":[{"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"},"StringLike":{"token.actions.githubusercontent.com:sub":"repo:myorg/*:ref:refs/heads/main"}},"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com"}}],"Version":"2012-10-17"}`
	wantTarget := `{"Statement":[{"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"myorg-prod-deploy"}},"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:role/github-actions-oidc"}}],"Version":"2012-10-17"}`
	if diff := cmp.Diff(wantTooling, tooling); diff != "" {
		t.Errorf("tooling trust policy mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantTarget, target); diff != "" {
		t.Errorf("target trust policy mismatch (-want +got):\n%s", diff)
	}
}
