// Package ststest is an AWS STS emulator on a local address. The real
// aws-sdk-go-v2 STS client (via BaseEndpoint) and the AWS CLI (via --endpoint-url)
// talk to it unchanged.
//
// It speaks the Query protocol (AssumeRoleWithWebIdentity, AssumeRole,
// GetCallerIdentity) with STS's XML answers and errors; verifies SigV4 on signed
// calls with the SDK's own signer; verifies web identity tokens against registered
// OIDC providers with go-oidc; evaluates role trust policies (Principal, Action,
// String*/Arn*/Null conditions with ForAnyValue/ForAllValues); enforces STS's limits,
// including the 1-hour role-chaining cap and the length (with the PolicyArns),
// characters and IAM grammar of a session policy; and injects faults. It is meant
// to be as strict as STS: what AWS refuses, it refuses.
//
// It ships in the broker binary (broker dev) and is used by tests:
//
//	srv := ststest.Start(t, ststest.Options{})
//	if err := srv.LoadSeed(issuerURL); err != nil {
//		t.Fatal(err)
//	}
//	client := sts.New(sts.Options{
//		Region:       "us-east-1",
//		BaseEndpoint: aws.String(srv.URL()),
//		Credentials:  aws.AnonymousCredentials{},
//	})
//	out, err := client.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
//		RoleArn:          aws.String(ststest.SeedToolingRoleARN),
//		RoleSessionName:  aws.String("ci"),
//		WebIdentityToken: aws.String(jwt),
//	})
//
// Not emulated: presigned (query-string) SigV4, session policies' effect on
// permissions, managed policies (PolicyArns are checked for count and
// length, not for existing or being in the role's account), the signing
// region, MFA, SAML, policy variables, and the GitHub-specific claim keys.
package ststest
