package oidctest

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestClaimPresets(t *testing.T) {
	tests := []struct {
		name string
		got  map[string]any
		want map[string]any
	}{
		{
			name: "github-actions-branch",
			got:  GitHubActionsClaims("myorg/app", "refs/heads/main"),
			want: map[string]any{
				"aud":                   "sts.amazonaws.com",
				"sub":                   "repo:myorg/app:ref:refs/heads/main",
				"ref":                   "refs/heads/main",
				"ref_type":              "branch",
				"sha":                   "e8f3b6f6a1e0b0e6c5c1d9a5f6a2b7c3d4e5f6a7",
				"repository":            "myorg/app",
				"repository_id":         "74",
				"repository_owner":      "myorg",
				"repository_owner_id":   "65",
				"repository_visibility": "private",
				"actor":                 "octocat",
				"actor_id":              "12",
				"run_id":                "1658821493",
				"run_number":            "10",
				"run_attempt":           "1",
				"runner_environment":    "github-hosted",
				"workflow":              "deploy",
				"workflow_ref":          "myorg/app/.github/workflows/deploy.yml@refs/heads/main",
				"workflow_sha":          "e8f3b6f6a1e0b0e6c5c1d9a5f6a2b7c3d4e5f6a7",
				"job_workflow_ref":      "myorg/app/.github/workflows/deploy.yml@refs/heads/main",
				"job_workflow_sha":      "e8f3b6f6a1e0b0e6c5c1d9a5f6a2b7c3d4e5f6a7",
				"event_name":            "push",
				"head_ref":              "",
				"base_ref":              "",
			},
		},
		{
			name: "gitlab-ci",
			got:  GitLabCIClaims("group/sub/project", "main"),
			want: map[string]any{
				"aud":                "sts.amazonaws.com",
				"sub":                "project_path:group/sub/project:ref_type:branch:ref:main",
				"namespace_id":       "4",
				"namespace_path":     "group/sub",
				"project_id":         "20",
				"project_path":       "group/sub/project",
				"project_visibility": "private",
				"user_id":            "1",
				"user_login":         "demo-user",
				"user_email":         "demo-user@example.com",
				"user_access_level":  "maintainer",
				"pipeline_id":        "574",
				"pipeline_source":    "push",
				"job_id":             "302",
				"ref":                "main",
				"ref_type":           "branch",
				"ref_path":           "refs/heads/main",
				"ref_protected":      "true",
				"runner_id":          1,
				"runner_environment": "gitlab-hosted",
				"sha":                "714a629c0b401fdce83e847fc9589983fc6f46bc",
				"ci_config_ref_uri":  "gitlab.com/group/sub/project//.gitlab-ci.yml@refs/heads/main",
				"ci_config_sha":      "714a629c0b401fdce83e847fc9589983fc6f46bc",
			},
		},
		{
			name: "kubernetes",
			got:  KubernetesClaims("prod", "deployer", "sts.amazonaws.com"),
			want: map[string]any{
				"aud": []any{"sts.amazonaws.com"},
				"sub": "system:serviceaccount:prod:deployer",
				"kubernetes.io": map[string]any{
					"namespace":      "prod",
					"serviceaccount": map[string]any{"name": "deployer", "uid": "8a5c3f2e-6b1d-4e7a-9c2f-0d4b8e6a1f3c"},
					"pod":            map[string]any{"name": "deployer-7d9f8b6c5d-x2x7q", "uid": "1f0e7c52-3a9b-4d6e-8f21-5b7c9d0e2a4f"},
					"node":           map[string]any{"name": "node-1", "uid": "c3b2a190-8f7e-4d6c-b5a4-9e8d7c6b5a41"},
				},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.got); diff != "" {
				t.Errorf("claims mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGitHubActionsTagRef(t *testing.T) {
	got := GitHubActionsClaims("octo-org/octo-repo", "refs/tags/v1.2.0")
	want := map[string]any{"sub": "repo:octo-org/octo-repo:ref:refs/tags/v1.2.0", "ref_type": "tag", "repository_owner": "octo-org"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("GitHubActionsClaims()[%q] = %v, want %v", k, got[k], v)
		}
	}
}

// TestClaimPresetsOnTheWire mints each preset and checks what a verifier sees: the JSON
// types survive (IDs strings, runner_id a number, k8s aud an array) and the token verifies.
func TestClaimPresetsOnTheWire(t *testing.T) {
	s := Start(t, Options{})
	v := newVerifier(t, s, nil)

	tests := []struct {
		name   string
		claims map[string]any
		want   map[string]any // a subset of the verified payload
	}{
		{
			name:   "github-actions",
			claims: GitHubActionsClaims("myorg/app", "refs/heads/main"),
			want:   map[string]any{"aud": "sts.amazonaws.com", "repository_id": "74", "run_id": "1658821493"},
		},
		{
			name:   "gitlab-ci",
			claims: GitLabCIClaims("myorg/app", "main"),
			want:   map[string]any{"aud": "sts.amazonaws.com", "project_id": "20", "ref_protected": "true", "runner_id": float64(1)},
		},
		{
			name:   "kubernetes",
			claims: KubernetesClaims("prod", "deployer", "sts.amazonaws.com"),
			want:   map[string]any{"aud": []any{"sts.amazonaws.com"}, "sub": "system:serviceaccount:prod:deployer"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := v.Verify(t.Context(), mustMint(t, s, MintOptions{}, tt.claims))
			if err != nil {
				t.Fatalf("Verify() error = %v, want nil", err)
			}
			var all map[string]any
			if err := id.Claims(&all); err != nil {
				t.Fatalf("Claims() error = %v", err)
			}
			got := map[string]any{}
			for k := range tt.want {
				got[k] = all[k]
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("verified claims mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
