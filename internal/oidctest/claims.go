package oidctest

import "strings"

// Ready-made claim sets shaped like real CI and Kubernetes tokens (wire-facts §6). They hold
// no iss, iat, nbf or exp: [Server.Mint] fills those. IDs are JSON strings, as the issuers
// send them; the values other than the arguments are fixed, so tests can compare them.

// GitHubActionsClaims returns the claims of a GitHub Actions job token for a push to ref
// ("refs/heads/main", "refs/tags/v1") of repository ("octo-org/octo-repo"), with the
// default sub template "repo:<repository>:ref:<ref>" and aud "sts.amazonaws.com", as
// aws-actions/configure-aws-credentials requests it.
func GitHubActionsClaims(repository, ref string) map[string]any {
	owner, _, _ := strings.Cut(repository, "/")
	refType := "branch"
	if strings.HasPrefix(ref, "refs/tags/") {
		refType = "tag"
	}
	const sha = "e8f3b6f6a1e0b0e6c5c1d9a5f6a2b7c3d4e5f6a7"
	return map[string]any{
		"aud":                   DefaultAudience,
		"sub":                   "repo:" + repository + ":ref:" + ref,
		"ref":                   ref,
		"ref_type":              refType,
		"sha":                   sha,
		"repository":            repository,
		"repository_id":         "74",
		"repository_owner":      owner,
		"repository_owner_id":   "65",
		"repository_visibility": "private",
		"actor":                 "octocat",
		"actor_id":              "12",
		"run_id":                "1658821493",
		"run_number":            "10",
		"run_attempt":           "1",
		"runner_environment":    "github-hosted",
		"workflow":              "deploy",
		"workflow_ref":          repository + "/.github/workflows/deploy.yml@" + ref,
		"workflow_sha":          sha,
		"job_workflow_ref":      repository + "/.github/workflows/deploy.yml@" + ref,
		"job_workflow_sha":      sha,
		"event_name":            "push",
		"head_ref":              "",
		"base_ref":              "",
	}
}

// GitLabCIClaims returns the claims of a GitLab CI id_token for a pipeline on branch ref
// ("main") of projectPath ("mygroup/myproject"), with sub
// "project_path:<projectPath>:ref_type:branch:ref:<ref>" and aud "sts.amazonaws.com".
// runner_id is a number; every other ID and boolean is a string, as GitLab sends them.
func GitLabCIClaims(projectPath, ref string) map[string]any {
	namespace := projectPath
	if i := strings.LastIndexByte(projectPath, '/'); i >= 0 {
		namespace = projectPath[:i]
	}
	return map[string]any{
		"aud":                DefaultAudience,
		"sub":                "project_path:" + projectPath + ":ref_type:branch:ref:" + ref,
		"namespace_id":       "4",
		"namespace_path":     namespace,
		"project_id":         "20",
		"project_path":       projectPath,
		"project_visibility": "private",
		"user_id":            "1",
		"user_login":         "demo-user",
		"user_email":         "demo-user@example.com",
		"user_access_level":  "maintainer",
		"pipeline_id":        "574",
		"pipeline_source":    "push",
		"job_id":             "302",
		"ref":                ref,
		"ref_type":           "branch",
		"ref_path":           "refs/heads/" + ref,
		"ref_protected":      "true",
		"runner_id":          1,
		"runner_environment": "gitlab-hosted",
		"sha":                "714a629c0b401fdce83e847fc9589983fc6f46bc",
		"ci_config_ref_uri":  "gitlab.com/" + projectPath + "//.gitlab-ci.yml@refs/heads/" + ref,
		"ci_config_sha":      "714a629c0b401fdce83e847fc9589983fc6f46bc",
	}
}

// KubernetesClaims returns the claims of a projected service-account token of
// serviceAccount in namespace, bound to a pod, with sub
// "system:serviceaccount:<namespace>:<serviceAccount>" and aud the one-element array
// [audience]: Kubernetes always sends aud as an array.
func KubernetesClaims(namespace, serviceAccount, audience string) map[string]any {
	return map[string]any{
		"aud": []any{audience},
		"sub": "system:serviceaccount:" + namespace + ":" + serviceAccount,
		"kubernetes.io": map[string]any{
			"namespace": namespace,
			"serviceaccount": map[string]any{
				"name": serviceAccount,
				"uid":  "8a5c3f2e-6b1d-4e7a-9c2f-0d4b8e6a1f3c",
			},
			"pod": map[string]any{
				"name": serviceAccount + "-7d9f8b6c5d-x2x7q",
				"uid":  "1f0e7c52-3a9b-4d6e-8f21-5b7c9d0e2a4f",
			},
			"node": map[string]any{
				"name": "node-1",
				"uid":  "c3b2a190-8f7e-4d6c-b5a4-9e8d7c6b5a41",
			},
		},
	}
}
