package ststest

import (
	"encoding/json"
	"fmt"
)

// The seed scenario (seeds/oidc-role-chaining-terraform.txt): a GitHub-style OIDC
// provider and role in a tooling account, and a deploy role in a target account trusted
// from the tooling role with an ExternalId.
const (
	SeedToolingAccount = "111111111111"
	SeedTargetAccount  = "222222222222"
	SeedToolingRoleARN = "arn:aws:iam::111111111111:role/github-actions-oidc"
	SeedTargetRoleARN  = "arn:aws:iam::222222222222:role/ci-deploy-role"
	SeedExternalID     = "myorg-prod-deploy"
	SeedAudience       = "sts.amazonaws.com"
	SeedSubjectPattern = "repo:myorg/*:ref:refs/heads/main"
)

// SeedTrustPolicies returns the seed's two trust policies for issuerURL, as Terraform's
// jsonencode writes them (keys sorted, compact).
func SeedTrustPolicies(issuerURL string) (tooling, target string) {
	prefix := issuerKeyPrefix(issuerURL)
	providerARN := "arn:aws:iam::" + SeedToolingAccount + ":oidc-provider/" + prefix
	tooling = jsonencode(map[string]any{
		"Version": "2012-10-17",
		"Statement": []any{map[string]any{
			"Effect":    "Allow",
			"Principal": map[string]any{"Federated": providerARN},
			"Action":    "sts:AssumeRoleWithWebIdentity",
			"Condition": map[string]any{
				"StringLike":   map[string]any{prefix + ":sub": SeedSubjectPattern},
				"StringEquals": map[string]any{prefix + ":aud": SeedAudience},
			},
		}},
	})
	target = jsonencode(map[string]any{
		"Version": "2012-10-17",
		"Statement": []any{map[string]any{
			"Effect":    "Allow",
			"Principal": map[string]any{"AWS": SeedToolingRoleARN},
			"Action":    "sts:AssumeRole",
			"Condition": map[string]any{"StringEquals": map[string]any{"sts:ExternalId": SeedExternalID}},
		}},
	})
	return tooling, target
}

// jsonencode marshals like Terraform's jsonencode: sorted keys, no spaces, <>& escaped.
func jsonencode(v any) string {
	b, err := json.Marshal(v)
	if err != nil { // maps of strings only: cannot fail
		return ""
	}
	return string(b)
}

// LoadSeed registers the seed: the OIDC provider for issuerURL (client id
// sts.amazonaws.com) in the tooling account, the tooling role github-actions-oidc and the
// target role ci-deploy-role, with the seed's trust policies.
func (s *Server) LoadSeed(issuerURL string) error {
	if _, err := s.AddOIDCProvider(SeedToolingAccount, issuerURL, SeedAudience); err != nil {
		return fmt.Errorf("ststest: load seed: %w", err)
	}
	tooling, target := SeedTrustPolicies(issuerURL)
	if err := s.AddRole(Role{ARN: SeedToolingRoleARN, TrustPolicy: tooling}); err != nil {
		return fmt.Errorf("ststest: load seed: %w", err)
	}
	if err := s.AddRole(Role{ARN: SeedTargetRoleARN, TrustPolicy: target}); err != nil {
		return fmt.Errorf("ststest: load seed: %w", err)
	}
	return nil
}
