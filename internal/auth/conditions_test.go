package auth

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestConditionsMatch(t *testing.T) {
	claims := map[string]any{
		"aud":              []any{"other", "sts.amazonaws.com"},
		"sub":              "repo:myorg/app:ref:refs/heads/main",
		"repository_owner": "myorg",
		"repository_id":    "74",
		"run_attempt":      json.Number("2"),
		"runner_id":        float64(17),
		"ref_protected":    true,
		"kubernetes.io":    map[string]any{"namespace": "ci"},
		"groups":           []any{"dev", map[string]any{"x": "y"}, "ops"},
		"empty_list":       []any{},
		"null_claim":       nil,
	}
	tests := []struct {
		name string
		cond Conditions
		want *ConditionError // nil means match
	}{
		{name: "no-conditions", cond: Conditions{}},
		{name: "equals-string", cond: Conditions{StringEquals: map[string][]string{"repository_owner": {"myorg"}}}},
		{name: "equals-case-sensitive", cond: Conditions{StringEquals: map[string][]string{"repository_owner": {"MyOrg"}}},
			want: &ConditionError{Operator: "StringEquals", Claim: "repository_owner"}},
		{name: "equals-values-are-or", cond: Conditions{StringEquals: map[string][]string{"repository_owner": {"a", "myorg", "b"}}}},
		{name: "equals-list-claim-any-element", cond: Conditions{StringEquals: map[string][]string{"aud": {"sts.amazonaws.com"}}}},
		{name: "equals-list-claim-no-element", cond: Conditions{StringEquals: map[string][]string{"aud": {"x"}}},
			want: &ConditionError{Operator: "StringEquals", Claim: "aud"}},
		{name: "equals-json-number", cond: Conditions{StringEquals: map[string][]string{"run_attempt": {"2"}}}},
		{name: "equals-float", cond: Conditions{StringEquals: map[string][]string{"runner_id": {"17"}}}},
		{name: "equals-bool", cond: Conditions{StringEquals: map[string][]string{"ref_protected": {"true"}}}},
		{name: "equals-bool-mismatch", cond: Conditions{StringEquals: map[string][]string{"ref_protected": {"false"}}},
			want: &ConditionError{Operator: "StringEquals", Claim: "ref_protected"}},
		{name: "equals-string-id", cond: Conditions{StringEquals: map[string][]string{"repository_id": {"74"}}}},
		{name: "missing-claim-fails", cond: Conditions{StringEquals: map[string][]string{"environment": {"prod"}}},
			want: &ConditionError{Operator: "StringEquals", Claim: "environment"}},
		{name: "null-claim-fails", cond: Conditions{StringEquals: map[string][]string{"null_claim": {""}}},
			want: &ConditionError{Operator: "StringEquals", Claim: "null_claim"}},
		{name: "nested-object-fails", cond: Conditions{StringLike: map[string][]string{"kubernetes.io": {"*"}}},
			want: &ConditionError{Operator: "StringLike", Claim: "kubernetes.io"}},
		{name: "list-skips-objects", cond: Conditions{StringEquals: map[string][]string{"groups": {"ops"}}}},
		{name: "empty-list-fails", cond: Conditions{StringLike: map[string][]string{"empty_list": {"*"}}},
			want: &ConditionError{Operator: "StringLike", Claim: "empty_list"}},
		{name: "empty-value-list-fails", cond: Conditions{StringEquals: map[string][]string{"repository_owner": {}}},
			want: &ConditionError{Operator: "StringEquals", Claim: "repository_owner"}},
		{name: "like-star", cond: Conditions{StringLike: map[string][]string{"sub": {"repo:myorg/*:ref:refs/heads/main"}}}},
		{name: "like-no-match", cond: Conditions{StringLike: map[string][]string{"sub": {"repo:myorg/*:environment:prod"}}},
			want: &ConditionError{Operator: "StringLike", Claim: "sub"}},
		{name: "like-number", cond: Conditions{StringLike: map[string][]string{"runner_id": {"1?"}}}},
		{name: "like-list-claim", cond: Conditions{StringLike: map[string][]string{"aud": {"sts.*"}}}},
		{name: "keys-are-and", cond: Conditions{StringEquals: map[string][]string{"repository_owner": {"myorg"}, "repository_id": {"75"}}},
			want: &ConditionError{Operator: "StringEquals", Claim: "repository_id"}},
		{name: "operators-are-and", cond: Conditions{
			StringEquals: map[string][]string{"repository_owner": {"myorg"}},
			StringLike:   map[string][]string{"sub": {"repo:other/*"}}},
			want: &ConditionError{Operator: "StringLike", Claim: "sub"}},
		{name: "first-failing-claim-in-sorted-order", cond: Conditions{StringEquals: map[string][]string{"zeta": {"1"}, "alpha": {"1"}, "mid": {"1"}}},
			want: &ConditionError{Operator: "StringEquals", Claim: "alpha"}},
		{name: "equals-checked-before-like", cond: Conditions{
			StringEquals: map[string][]string{"zzz": {"1"}},
			StringLike:   map[string][]string{"aaa": {"1"}}},
			want: &ConditionError{Operator: "StringEquals", Claim: "zzz"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cond.Match(claims)
			if tt.want == nil {
				if err != nil {
					t.Errorf("Match() error = %v, want nil", err)
				}
				return
			}
			var got *ConditionError
			if !errors.As(err, &got) {
				t.Fatalf("Match() error = %v, want *ConditionError", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Match() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestConditionErrorHidesValues: the message names the operator and claim,
// never the value the claim must match nor the claim's value.
func TestConditionErrorHidesValues(t *testing.T) {
	c := Conditions{StringLike: map[string][]string{"sub": {"repo:secret-org/*"}}}
	err := c.Match(map[string]any{"sub": "repo:caller-org/app"})
	if got, want := err.Error(), "auth: condition StringLike on sub not met"; got != want {
		t.Errorf("Match() error = %q, want %q", got, want)
	}
}
