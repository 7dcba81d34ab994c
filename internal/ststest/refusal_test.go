package ststest

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"
)

// arwwi calls AssumeRoleWithWebIdentity on the seed's tooling role.
func (e *seedEnv) arwwi(t *testing.T, token string, mod func(*sts.AssumeRoleWithWebIdentityInput)) error {
	t.Helper()
	in := &sts.AssumeRoleWithWebIdentityInput{
		RoleArn:          aws.String(SeedToolingRoleARN),
		RoleSessionName:  aws.String("gha-1"),
		WebIdentityToken: aws.String(token),
	}
	if mod != nil {
		mod(in)
	}
	_, err := e.client.AssumeRoleWithWebIdentity(t.Context(), in)
	return err
}

// assumeTarget calls AssumeRole on the seed's target role with the correct ExternalId
// unless mod changes it.
func (e *seedEnv) assumeTarget(t *testing.T, creds func(*sts.Options), mod func(*sts.AssumeRoleInput)) error {
	t.Helper()
	in := &sts.AssumeRoleInput{
		RoleArn:         aws.String(SeedTargetRoleARN),
		RoleSessionName: aws.String("deploy-1"),
		ExternalId:      aws.String(SeedExternalID),
	}
	if mod != nil {
		mod(in)
	}
	_, err := e.client.AssumeRole(t.Context(), in, creds)
	return err
}

func TestSeedRefusals(t *testing.T) {
	tests := []struct {
		name        string
		call        func(t *testing.T, e *seedEnv) error
		wantCode    string
		wantStatus  int
		wantMessage string // exact when set
	}{
		{
			name: "wrong-external-id",
			call: func(t *testing.T, e *seedEnv) error {
				return e.assumeTarget(t, e.hop1Creds(t), func(in *sts.AssumeRoleInput) { in.ExternalId = aws.String("myorg-prod-deployX") })
			},
			wantCode: "AccessDenied", wantStatus: 403,
			wantMessage: "User: arn:aws:sts::111111111111:assumed-role/github-actions-oidc/gha-1 is not authorized to perform: sts:AssumeRole on resource: " + SeedTargetRoleARN,
		},
		{
			name: "no-external-id",
			call: func(t *testing.T, e *seedEnv) error {
				return e.assumeTarget(t, e.hop1Creds(t), func(in *sts.AssumeRoleInput) { in.ExternalId = nil })
			},
			wantCode: "AccessDenied", wantStatus: 403,
		},
		{
			name: "external-id-bad-characters",
			call: func(t *testing.T, e *seedEnv) error {
				return e.assumeTarget(t, e.hop1Creds(t), func(in *sts.AssumeRoleInput) { in.ExternalId = aws.String("has space") })
			},
			wantCode: "ValidationError", wantStatus: 400,
			wantMessage: `1 validation error detected: Value at 'externalId' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@:/-]*`,
		},
		{
			name: "wrong-audience",
			call: func(t *testing.T, e *seedEnv) error {
				c := e.iss.claims()
				c["aud"] = []string{"https://github.com/myorg"}
				return e.arwwi(t, e.iss.mint(t, c), nil)
			},
			wantCode: "InvalidIdentityToken", wantStatus: 400, wantMessage: "Incorrect token audience",
		},
		{
			name: "sub-not-matching",
			call: func(t *testing.T, e *seedEnv) error {
				c := e.iss.claims()
				c["sub"] = "repo:myorg/app:ref:refs/heads/feature"
				return e.arwwi(t, e.iss.mint(t, c), nil)
			},
			wantCode: "AccessDenied", wantStatus: 403, wantMessage: "Not authorized to perform sts:AssumeRoleWithWebIdentity",
		},
		{
			name: "sub-other-org",
			call: func(t *testing.T, e *seedEnv) error {
				c := e.iss.claims()
				c["sub"] = "repo:MYORG/app:ref:refs/heads/main" // StringLike is case-sensitive
				return e.arwwi(t, e.iss.mint(t, c), nil)
			},
			wantCode: "AccessDenied", wantStatus: 403,
		},
		{
			name: "unregistered-issuer",
			call: func(t *testing.T, e *seedEnv) error {
				other := startIssuer(t)
				return e.arwwi(t, other.mint(t, other.claims()), nil)
			},
			wantCode: "InvalidIdentityToken", wantStatus: 400,
		},
		{
			name: "expired-token",
			call: func(t *testing.T, e *seedEnv) error {
				c := e.iss.claims()
				c["exp"] = time.Now().Add(-time.Minute).Unix()
				return e.arwwi(t, e.iss.mint(t, c), nil)
			},
			wantCode: "ExpiredTokenException", wantStatus: 400,
		},
		{
			name: "token-expired-by-injected-clock",
			call: func(t *testing.T, e *seedEnv) error {
				tok := e.iss.mint(t, e.iss.claims())
				e.clock.Advance(10 * time.Minute)
				return e.arwwi(t, tok, nil)
			},
			wantCode: "ExpiredTokenException", wantStatus: 400,
		},
		{
			name: "tampered-signature",
			call: func(t *testing.T, e *seedEnv) error {
				tok := e.iss.mint(t, e.iss.claims())
				i := strings.LastIndex(tok, ".")
				sig, _ := base64.RawURLEncoding.DecodeString(tok[i+1:])
				sig[10] ^= 0xff
				return e.arwwi(t, tok[:i+1]+base64.RawURLEncoding.EncodeToString(sig), nil)
			},
			wantCode: "InvalidIdentityToken", wantStatus: 400, wantMessage: msgNoVerificationKey,
		},
		{
			name: "tampered-claims",
			call: func(t *testing.T, e *seedEnv) error {
				tok := e.iss.mint(t, e.iss.claims())
				parts := strings.Split(tok, ".")
				c := e.iss.claims()
				c["sub"] = "repo:myorg/evil:ref:refs/heads/main"
				forged := strings.Split(e.iss.mint(t, c), ".")[1]
				return e.arwwi(t, parts[0]+"."+forged+"."+parts[2], nil)
			},
			wantCode: "InvalidIdentityToken", wantStatus: 400,
		},
		{
			name:     "not-a-jwt",
			call:     func(t *testing.T, e *seedEnv) error { return e.arwwi(t, "not-a-jwt", nil) },
			wantCode: "InvalidIdentityToken", wantStatus: 400, wantMessage: msgNotJWT,
		},
		{
			name:     "token-too-short",
			call:     func(t *testing.T, e *seedEnv) error { return e.arwwi(t, "abc", nil) },
			wantCode: "ValidationError", wantStatus: 400,
			wantMessage: "1 validation error detected: Value at 'webIdentityToken' failed to satisfy constraint: Member must have length greater than or equal to 4",
		},
		{
			name: "web-identity-duration-over-role-max",
			call: func(t *testing.T, e *seedEnv) error {
				return e.arwwi(t, e.iss.mint(t, e.iss.claims()), func(in *sts.AssumeRoleWithWebIdentityInput) { in.DurationSeconds = aws.Int32(7200) })
			},
			wantCode: "ValidationError", wantStatus: 400, wantMessage: msgMaxSessionDuration,
		},
		{
			name: "web-identity-unknown-role",
			call: func(t *testing.T, e *seedEnv) error {
				return e.arwwi(t, e.iss.mint(t, e.iss.claims()), func(in *sts.AssumeRoleWithWebIdentityInput) {
					in.RoleArn = aws.String("arn:aws:iam::111111111111:role/nope")
				})
			},
			wantCode: "AccessDenied", wantStatus: 403,
		},
		{
			name: "provider-in-other-account",
			call: func(t *testing.T, e *seedEnv) error {
				// The target role's account has no provider for this issuer.
				return e.arwwi(t, e.iss.mint(t, e.iss.claims()), func(in *sts.AssumeRoleWithWebIdentityInput) {
					in.RoleArn = aws.String(SeedTargetRoleARN)
				})
			},
			wantCode: "InvalidIdentityToken", wantStatus: 400,
		},
		{
			name: "unknown-access-key",
			call: func(t *testing.T, e *seedEnv) error {
				return e.assumeTarget(t, withCreds("AKIAAAAAAAAAAAAAAAAA", "x/secret/x", ""), nil)
			},
			wantCode: "InvalidClientTokenId", wantStatus: 403, wantMessage: msgInvalidClientTokenID,
		},
		{
			name: "wrong-secret",
			call: func(t *testing.T, e *seedEnv) error {
				out := e.hop1(t).Credentials
				return e.assumeTarget(t, withCreds(*out.AccessKeyId, *out.SecretAccessKey+"x", *out.SessionToken), nil)
			},
			wantCode: "SignatureDoesNotMatch", wantStatus: 403, wantMessage: msgSignatureDoesNotMatch,
		},
		{
			name: "wrong-session-token",
			call: func(t *testing.T, e *seedEnv) error {
				out := e.hop1(t).Credentials
				return e.assumeTarget(t, withCreds(*out.AccessKeyId, *out.SecretAccessKey, *out.SessionToken+"x"), nil)
			},
			wantCode: "InvalidClientTokenId", wantStatus: 403,
		},
		{
			name: "session-key-without-token",
			call: func(t *testing.T, e *seedEnv) error {
				out := e.hop1(t).Credentials
				return e.assumeTarget(t, withCreds(*out.AccessKeyId, *out.SecretAccessKey, ""), nil)
			},
			wantCode: "InvalidClientTokenId", wantStatus: 403,
		},
		{
			name: "expired-session",
			call: func(t *testing.T, e *seedEnv) error {
				creds := e.hop1Creds(t)
				e.clock.Advance(time.Hour + time.Second)
				return e.assumeTarget(t, creds, nil)
			},
			wantCode: "ExpiredToken", wantStatus: 403, wantMessage: msgExpiredToken,
		},
		{
			name: "signature-clock-skew",
			call: func(t *testing.T, e *seedEnv) error {
				creds := e.hop1Creds(t)
				e.clock.Advance(-20 * time.Minute) // server clock behind the signer
				return e.assumeTarget(t, creds, nil)
			},
			wantCode: "SignatureDoesNotMatch", wantStatus: 403,
		},
		{
			name: "chained-hop-over-one-hour",
			call: func(t *testing.T, e *seedEnv) error {
				return e.assumeTarget(t, e.hop1Creds(t), func(in *sts.AssumeRoleInput) { in.DurationSeconds = aws.Int32(7200) })
			},
			wantCode: "ValidationError", wantStatus: 400, wantMessage: msgChainingLimit,
		},
		{
			name: "duration-below-minimum",
			call: func(t *testing.T, e *seedEnv) error {
				return e.assumeTarget(t, e.hop1Creds(t), func(in *sts.AssumeRoleInput) { in.DurationSeconds = aws.Int32(899) })
			},
			wantCode: "ValidationError", wantStatus: 400,
			wantMessage: "1 validation error detected: Value '899' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900",
		},
		{
			name: "tags-without-tag-session",
			call: func(t *testing.T, e *seedEnv) error {
				return e.assumeTarget(t, e.hop1Creds(t), func(in *sts.AssumeRoleInput) {
					in.Tags = []types.Tag{{Key: aws.String("repo"), Value: aws.String("myorg/app")}}
				})
			},
			wantCode: "AccessDenied", wantStatus: 403,
		},
		{
			name: "source-identity-without-set-source-identity",
			call: func(t *testing.T, e *seedEnv) error {
				return e.assumeTarget(t, e.hop1Creds(t), func(in *sts.AssumeRoleInput) { in.SourceIdentity = aws.String("alice") })
			},
			wantCode: "AccessDenied", wantStatus: 403,
		},
		{
			name: "malformed-session-name",
			call: func(t *testing.T, e *seedEnv) error {
				return e.assumeTarget(t, e.hop1Creds(t), func(in *sts.AssumeRoleInput) { in.RoleSessionName = aws.String("a:b") })
			},
			wantCode: "ValidationError", wantStatus: 400,
			wantMessage: `1 validation error detected: Value 'a:b' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]*`,
		},
		{
			name: "session-name-too-long",
			call: func(t *testing.T, e *seedEnv) error {
				return e.arwwi(t, e.iss.mint(t, e.iss.claims()), func(in *sts.AssumeRoleWithWebIdentityInput) {
					in.RoleSessionName = aws.String(strings.Repeat("s", 65))
				})
			},
			wantCode: "ValidationError", wantStatus: 400,
			wantMessage: "1 validation error detected: Value '" + strings.Repeat("s", 65) + "' at 'roleSessionName' failed to satisfy constraint: Member must have length less than or equal to 64",
		},
		{
			name: "too-many-policy-arns",
			call: func(t *testing.T, e *seedEnv) error {
				return e.assumeTarget(t, e.hop1Creds(t), func(in *sts.AssumeRoleInput) {
					for range 11 {
						in.PolicyArns = append(in.PolicyArns, types.PolicyDescriptorType{Arn: aws.String("arn:aws:iam::aws:policy/ReadOnlyAccess")})
					}
				})
			},
			wantCode: "ValidationError", wantStatus: 400,
		},
		{
			name: "unknown-target-role",
			call: func(t *testing.T, e *seedEnv) error {
				return e.assumeTarget(t, e.hop1Creds(t), func(in *sts.AssumeRoleInput) {
					in.RoleArn = aws.String("arn:aws:iam::222222222222:role/nope")
				})
			},
			wantCode: "AccessDenied", wantStatus: 403,
		},
		{
			name: "web-identity-session-of-other-role",
			call: func(t *testing.T, e *seedEnv) error {
				// A base key of another tooling-account role is not the trusted role.
				id, secret, err := e.srv.AddAccessKey("arn:aws:iam::111111111111:role/other")
				if err != nil {
					t.Fatalf("AddAccessKey() = %v", err)
				}
				return e.assumeTarget(t, withCreds(id, secret, ""), nil)
			},
			wantCode: "AccessDenied", wantStatus: 403,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newSeedEnv(t)
			err := tt.call(t, e)
			if err == nil {
				t.Fatalf("call succeeded, want %s", tt.wantCode)
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

// TestRoleKeyIsChained: a base key of a role stands for role credentials
// (an instance profile, IRSA, ECS), which in AWS are a session of the role:
// AssumeRole with them is role chaining, so more than an hour is refused
// even where the target role allows longer. A user's key may ask for it.
func TestRoleKeyIsChained(t *testing.T) {
	e := newSeedEnv(t)
	const target = "arn:aws:iam::333333333333:role/long-sessions"
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111111111111:role/broker","arn:aws:iam::111111111111:user/broker"]},"Action":"sts:AssumeRole"}]}`
	if err := e.srv.AddRole(Role{ARN: target, TrustPolicy: trust, MaxSessionDuration: 4 * time.Hour}); err != nil {
		t.Fatalf("AddRole() = %v", err)
	}
	for _, tt := range []struct {
		principal string
		wantCode  string
	}{
		{principal: "arn:aws:iam::111111111111:role/broker", wantCode: "ValidationError"},
		{principal: "arn:aws:iam::111111111111:user/broker"},
	} {
		id, secret, err := e.srv.AddAccessKey(tt.principal)
		if err != nil {
			t.Fatalf("AddAccessKey() = %v", err)
		}
		out, err := e.client.AssumeRole(t.Context(), &sts.AssumeRoleInput{
			RoleArn: aws.String(target), RoleSessionName: aws.String("broker"), DurationSeconds: aws.Int32(7200),
		}, withCreds(id, secret, ""))
		if tt.wantCode == "" {
			if err != nil {
				t.Errorf("%s: AssumeRole(7200s) = %v, want credentials", tt.principal, err)
			} else if got := out.Credentials.Expiration.Sub(e.clock.Now()); got > 2*time.Hour || got < 2*time.Hour-2*time.Second {
				t.Errorf("%s: credentials last %v, want 2h (to the second)", tt.principal, got)
			}
			continue
		}
		if err == nil {
			t.Fatalf("%s: AssumeRole(7200s) succeeded, want %s", tt.principal, tt.wantCode)
		}
		if code, msg, _ := apiErrorOf(t, err); code != tt.wantCode || msg != msgChainingLimit {
			t.Errorf("%s: AssumeRole(7200s) = %s %q, want %s %q", tt.principal, code, msg, tt.wantCode, msgChainingLimit)
		}
	}
}
