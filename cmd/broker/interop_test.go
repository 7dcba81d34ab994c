package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/stsbroker/broker/internal/oidctest"
)

// awsCLI is one real AWS CLI found on this machine.
type awsCLI struct {
	Major int // 1 or 2
	Path  string
}

// findCLIs finds AWS CLI v1 and v2 explicitly (every `aws` on PATH and
// Debian's /usr/bin/aws) rather than trusting whichever comes first. In CI
// (BROKER_REQUIRE_INTEROP=1) a missing CLI fails the test; elsewhere it skips.
func findCLIs(t *testing.T) []awsCLI {
	t.Helper()
	candidates := []string{"/usr/bin/aws"}
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		candidates = append(candidates, filepath.Join(dir, "aws"))
	}
	found := map[int]awsCLI{}
	for _, c := range candidates {
		if _, err := os.Stat(c); err != nil {
			continue
		}
		out, err := exec.Command(c, "--version").CombinedOutput()
		if err != nil {
			continue
		}
		m := regexp.MustCompile(`aws-cli/(\d)\.`).FindSubmatch(out)
		if m == nil {
			continue
		}
		major := int(m[1][0] - '0')
		if _, ok := found[major]; !ok {
			found[major] = awsCLI{Major: major, Path: c}
		}
	}
	var clis []awsCLI
	for _, major := range []int{1, 2} {
		cli, ok := found[major]
		if !ok {
			if os.Getenv("BROKER_REQUIRE_INTEROP") != "" {
				t.Fatalf("AWS CLI v%d not found (CI installs it: apt-get install awscli for v2; v1 comes with the image's Python)", major)
			}
			t.Logf("AWS CLI v%d not found; its cases are skipped", major)
			continue
		}
		clis = append(clis, cli)
	}
	if len(clis) == 0 {
		t.Skip("no AWS CLI on this machine")
	}
	return clis
}

// cliEnv is a clean environment for an AWS CLI: no AWS_* variable of the
// developer's, no ~/.aws, no instance metadata; plus extra.
func cliEnv(t *testing.T, extra ...string) []string {
	t.Helper()
	home := t.TempDir()
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "AWS_") || strings.HasPrefix(kv, "HOME=") {
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "HOME="+home, "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(home, "no-credentials"),
		"AWS_EC2_METADATA_DISABLED=true", "AWS_PAGER=", "AWS_DEFAULT_REGION=us-east-1")
	return append(env, extra...)
}

func callerIdentityARN(t *testing.T, cli awsCLI, stsURL string, env []string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, cli.Path, "sts", "get-caller-identity", "--endpoint-url", stsURL, "--query", "Arn", "--output", "text")
	cmd.Env = env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	return strings.TrimSpace(string(out)), stderr.String(), err
}

// writeAWSConfig writes a shared config whose profile runs the broker binary
// as credential_process, as README shows.
func writeAWSConfig(t *testing.T, dir, brokerURL, tokenFile string) string {
	t.Helper()
	path := filepath.Join(dir, "aws-config")
	cfg := fmt.Sprintf("[profile prod-deploy]\nregion = us-east-1\ncredential_process = %s credential-process --url %s --profile prod-deploy --token-file %s\n",
		brokerBin, brokerURL, tokenFile)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestAWSCLIInterop(t *testing.T) {
	clis := findCLIs(t)
	s := startStack(t)
	claims := oidctest.GitHubActionsClaims("myorg/app", "refs/heads/main")
	tokenFile := s.writeToken(t, "token", claims)
	token, _ := os.ReadFile(tokenFile)
	deniedFile := s.writeToken(t, "denied", oidctest.GitHubActionsClaims("myorg/app", "refs/heads/feature"))
	wantARN := "arn:aws:sts::222222222222:assumed-role/ci-deploy-role/gha-" + claims["run_id"].(string)
	awsConfig := writeAWSConfig(t, s.Dir, s.URL, tokenFile)
	deniedConfig := writeAWSConfig(t, t.TempDir(), s.URL, deniedFile)
	emptyConfig := filepath.Join(s.Dir, "empty-config")
	if err := os.WriteFile(emptyConfig, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	container := s.URL + "/v1/container/prod-deploy"

	for _, cli := range clis {
		tests := []struct {
			name string
			env  []string
			skip string
		}{
			{name: "credential-process", env: []string{"AWS_CONFIG_FILE=" + awsConfig, "AWS_PROFILE=prod-deploy"}},
			{name: "container-token", env: []string{"AWS_CONFIG_FILE=" + emptyConfig, "AWS_CONTAINER_CREDENTIALS_FULL_URI=" + container,
				"AWS_CONTAINER_AUTHORIZATION_TOKEN=" + string(token)}},
			{name: "container-token-file", env: []string{"AWS_CONFIG_FILE=" + emptyConfig, "AWS_CONTAINER_CREDENTIALS_FULL_URI=" + container,
				"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=" + tokenFile},
				skip: map[int]string{2: "AWS CLI v2.9 does not read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"}[cli.Major]},
		}
		for _, tt := range tests {
			t.Run(fmt.Sprintf("v%d/%s", cli.Major, tt.name), func(t *testing.T) {
				if tt.skip != "" {
					t.Skip(tt.skip)
				}
				arn, stderr, err := callerIdentityARN(t, cli, s.STS.URL(), cliEnv(t, tt.env...))
				if err != nil || arn != wantARN {
					t.Errorf("aws sts get-caller-identity = %q, %v, want %q; stderr:\n%s", arn, err, wantARN, stderr)
				}
			})
		}
		t.Run(fmt.Sprintf("v%d/denied-profile", cli.Major), func(t *testing.T) {
			arn, stderr, err := callerIdentityARN(t, cli, s.STS.URL(), cliEnv(t, "AWS_CONFIG_FILE="+deniedConfig, "AWS_PROFILE=prod-deploy"))
			if err == nil {
				t.Fatalf("aws exited 0 with %q for a denied token", arn)
			}
			if !strings.Contains(stderr, "insufficient_scope: condition StringLike on sub not met") {
				t.Errorf("aws stderr does not show the broker's message:\n%s", stderr)
			}
			if strings.Contains(stderr, string(token)) {
				t.Errorf("aws stderr contains a token")
			}
		})
	}

	t.Run("curl-env", func(t *testing.T) {
		if _, err := exec.LookPath("curl"); err != nil {
			t.Skip("curl not installed")
		}
		script := readmeCurl + ` && "$AWS_CLI" sts get-caller-identity --endpoint-url "$STS_URL" --query Arn --output text`
		cmd := exec.CommandContext(t.Context(), "sh", "-c", script)
		cmd.Env = cliEnv(t, "AWS_CONFIG_FILE="+emptyConfig, "TOKEN_FILE="+tokenFile, "BROKER_URL="+s.URL, "STS_URL="+s.STS.URL(), "AWS_CLI="+clis[0].Path)
		out, err := cmd.CombinedOutput()
		if got := strings.TrimSpace(string(out)); err != nil || got != wantARN {
			t.Errorf("curl | sh: %q, %v, want %q", got, err, wantARN)
		}
	})
}

func TestGoSDKInterop(t *testing.T) {
	s := startStack(t)
	claims := oidctest.GitHubActionsClaims("myorg/app", "refs/heads/main")
	tokenFile := s.writeToken(t, "token", claims)
	wantARN := "arn:aws:sts::222222222222:assumed-role/ci-deploy-role/gha-" + claims["run_id"].(string)
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"} {
		t.Setenv(k, "")
	}
	empty := filepath.Join(s.Dir, "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	callerARN := func(t *testing.T, opts ...func(*config.LoadOptions) error) string {
		t.Helper()
		cfg, err := config.LoadDefaultConfig(t.Context(), append(opts, config.WithRegion("us-east-1"))...)
		if err != nil {
			t.Fatalf("LoadDefaultConfig() = %v", err)
		}
		out, err := sts.NewFromConfig(cfg, func(o *sts.Options) { o.BaseEndpoint = aws.String(s.STS.URL()) }).
			GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{})
		if err != nil {
			t.Fatalf("GetCallerIdentity() = %v", err)
		}
		return aws.ToString(out.Arn)
	}
	t.Run("credential-process", func(t *testing.T) {
		awsConfig := writeAWSConfig(t, t.TempDir(), s.URL, tokenFile)
		got := callerARN(t, config.WithSharedConfigFiles([]string{awsConfig}), config.WithSharedCredentialsFiles([]string{empty}),
			config.WithSharedConfigProfile("prod-deploy"))
		if got != wantARN {
			t.Errorf("ARN = %q, want %q", got, wantARN)
		}
	})
	t.Run("container-token-file", func(t *testing.T) {
		t.Setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", s.URL+"/v1/container/prod-deploy")
		t.Setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", tokenFile)
		got := callerARN(t, config.WithSharedConfigFiles([]string{empty}), config.WithSharedCredentialsFiles([]string{empty}))
		if got != wantARN {
			t.Errorf("ARN = %q, want %q", got, wantARN)
		}
	})
}

// TestDevProcess starts `broker dev` as a process, checks the files it
// writes, runs the commands it prints with each AWS CLI, and stops it with
// SIGINT.
func TestDevProcess(t *testing.T) {
	clis := findCLIs(t)
	dir := filepath.Join(t.TempDir(), "dev")
	cmd := exec.Command(brokerBin, "dev", "--addr", "127.0.0.1:0", "--dir", dir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	devLines := make(chan []string, 1)
	go func() {
		// Read what dev prints, then wait for it to exit.
		sc := bufio.NewScanner(stdout)
		var lines []string
		for sc.Scan() {
			lines = append(lines, sc.Text())
			if sc.Text() == "Try it:" {
				devLines <- lines
			}
		}
		done <- cmd.Wait()
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	select {
	case <-devLines:
	case <-time.After(30 * time.Second):
		t.Fatalf("broker dev did not become ready; stderr:\n%s", stderr.String())
	}

	token, err := os.ReadFile(filepath.Join(dir, "token"))
	if err != nil {
		t.Fatalf("token file: %v", err)
	}
	if strings.HasSuffix(string(token), "\n") || strings.Count(string(token), ".") != 2 {
		t.Errorf("token file = %q…, want a compact JWS without trailing newline", string(token)[:20])
	}
	for _, f := range []string{"aws-config", "env"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		want := map[string]string{"aws-config": "credential_process = " + brokerBin + " credential-process", "env": "export AWS_ENDPOINT_URL_STS="}[f]
		if !strings.Contains(string(b), want) {
			t.Errorf("%s = %q, want it to contain %q", f, b, want)
		}
	}

	// A second dev on the same address and directory cannot bind, and
	// leaves the running one's files alone.
	t.Run("second-instance", func(t *testing.T) {
		env, err := os.ReadFile(filepath.Join(dir, "env"))
		if err != nil {
			t.Fatal(err)
		}
		m := regexp.MustCompile(`BROKER_URL='?http://([^'\n]+)`).FindSubmatch(env)
		if m == nil {
			t.Fatalf("no BROKER_URL in env file %q", env)
		}
		out, err := exec.CommandContext(t.Context(), brokerBin, "dev", "--addr", string(m[1]), "--dir", dir).CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != exitFailure || !strings.Contains(string(out), "address already in use") {
			t.Errorf("second broker dev = %v, %q; want exit %d, address already in use", err, out, exitFailure)
		}
		for _, f := range []string{"token", "env"} {
			b, err := os.ReadFile(filepath.Join(dir, f))
			want := map[string][]byte{"token": token, "env": env}[f]
			if err != nil || !bytes.Equal(b, want) {
				t.Errorf("%s changed after the second dev (read error: %v), want it unchanged", f, err)
			}
		}
	})

	wantARN := regexp.MustCompile(`^arn:aws:sts::222222222222:assumed-role/ci-deploy-role/gha-\d+$`)
	for _, cli := range clis {
		t.Run(fmt.Sprintf("v%d/printed-commands", cli.Major), func(t *testing.T) {
			script := ". " + shellQuote(filepath.Join(dir, "env")) + " && " + devAWSCommand + " --query Arn --output text"
			c := exec.CommandContext(t.Context(), "sh", "-c", script)
			// Put this CLI first on PATH so the printed `aws` is the one under test.
			env := cliEnv(t)
			bin := t.TempDir()
			if err := os.Symlink(cli.Path, filepath.Join(bin, "aws")); err != nil {
				t.Fatal(err)
			}
			for i, kv := range env {
				if strings.HasPrefix(kv, "PATH=") {
					env[i] = "PATH=" + bin + ":" + strings.TrimPrefix(kv, "PATH=")
				}
			}
			c.Env = env
			out, err := c.CombinedOutput()
			if got := strings.TrimSpace(string(out)); err != nil || !wantARN.MatchString(got) {
				t.Errorf("printed aws command: %q, %v", got, err)
			}
		})
	}

	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("broker dev exit after SIGINT: %v; stderr:\n%s", err, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Errorf("broker dev did not stop within 15s of SIGINT")
	}
}
