package ststest

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestAWSCLI runs the real AWS CLI against the emulator when it is installed: the CLI's
// own SigV4 (botocore) must verify, and its parser must read the XML.
func TestAWSCLI(t *testing.T) {
	cli, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("aws CLI not installed")
	}
	e := newSeedEnv(t)
	const user = "arn:aws:iam::111111111111:user/cli"
	id, secret, err := e.srv.AddAccessKey(user)
	if err != nil {
		t.Fatalf("AddAccessKey() = %v", err)
	}
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(e.iss.mint(t, e.iss.claims())), 0o600); err != nil {
		t.Fatalf("WriteFile() = %v", err)
	}
	dir := t.TempDir()
	run := func(env []string, args ...string) map[string]any {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), cli, append([]string{"--endpoint-url", e.srv.URL(), "--region", "us-east-1", "--output", "json", "sts"}, args...)...)
		cmd.Env = append([]string{
			"HOME=" + dir, "PATH=" + os.Getenv("PATH"),
			"AWS_CONFIG_FILE=" + filepath.Join(dir, "config"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "credentials"),
			"AWS_EC2_METADATA_DISABLED=true", "AWS_PAGER=",
		}, env...)
		if pyenv := os.Getenv("PYENV_ROOT"); pyenv != "" {
			cmd.Env = append(cmd.Env, "PYENV_ROOT="+pyenv)
		}
		out, err := cmd.Output()
		if err != nil {
			var stderr []byte
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = ee.Stderr
			}
			t.Fatalf("aws sts %v = %v: %s", args, err, stderr)
		}
		var m map[string]any
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatalf("aws output %s: %v", out, err)
		}
		return m
	}
	keyEnv := []string{"AWS_ACCESS_KEY_ID=" + id, "AWS_SECRET_ACCESS_KEY=" + secret}
	if got := run(keyEnv, "get-caller-identity")["Arn"]; got != user {
		t.Errorf("aws sts get-caller-identity Arn = %v, want %s", got, user)
	}
	out := run(keyEnv, "assume-role-with-web-identity", "--role-arn", SeedToolingRoleARN,
		"--role-session-name", "cli-1", "--web-identity-token", "file://"+tokenFile)
	creds, _ := out["Credentials"].(map[string]any)
	sessEnv := []string{
		"AWS_ACCESS_KEY_ID=" + asString(creds["AccessKeyId"]), "AWS_SECRET_ACCESS_KEY=" + asString(creds["SecretAccessKey"]),
		"AWS_SESSION_TOKEN=" + asString(creds["SessionToken"]),
	}
	out = run(sessEnv, "assume-role", "--role-arn", SeedTargetRoleARN, "--role-session-name", "cli-2", "--external-id", SeedExternalID)
	user2, _ := out["AssumedRoleUser"].(map[string]any)
	if got, want := user2["Arn"], "arn:aws:sts::222222222222:assumed-role/ci-deploy-role/cli-2"; got != want {
		t.Errorf("aws sts assume-role AssumedRoleUser.Arn = %v, want %s", got, want)
	}
}

func asString(v any) string { s, _ := v.(string); return s }
