package main

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/stsbroker/broker/internal/config"
)

// readmeCurl is README's curl example; the curl-env interoperability test
// runs exactly this line.
const readmeCurl = `eval "$(curl -sf -H "Authorization: Bearer $(cat "$TOKEN_FILE")" "$BROKER_URL/v1/credentials/prod-deploy?format=env")"`

// TestREADMEMatchesTests keeps the README's examples and the commands the
// tests run from drifting apart.
func TestREADMEMatchesTests(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	ci, err := os.ReadFile("../../.ci/run")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"go run ./cmd/broker dev",
		"go test -race ./... && (cd deploy && go test ./...)",
		readmeCurl,
		devAWSCommand,
		"AWS_CONTAINER_CREDENTIALS_FULL_URI",
		"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
		"/v1/container/prod-deploy",
		"permissions:\n      id-token: write",
		"id_tokens:",
		"serviceAccountToken: {path: token, audience: sts.amazonaws.com",
	} {
		if !strings.Contains(readme, want) {
			t.Errorf("README.md lacks %q", want)
		}
	}
	// CI runs the README's test command (with -count=1 to defeat the cache).
	if !strings.Contains(string(ci), "\ngo test -race -count=1 ./...\n(cd deploy && go test -count=1 ./...)\n") {
		t.Errorf(".ci/run does not run the README's test command")
	}
	// Every credential_process line in README has the argument shape the
	// interoperability tests use (writeAWSConfig).
	lines := regexp.MustCompile(`(?m)credential_process = .*$`).FindAllString(readme, -1)
	if len(lines) < 3 {
		t.Fatalf("README has %d credential_process lines, want the ~/.aws/config, GitHub and GitLab examples", len(lines))
	}
	shape := regexp.MustCompile(`^credential_process = broker credential-process --url https://\S+ --profile prod-deploy (--token-file \S+|--token-env [A-Z_]+|--github-actions)(\\n' > aws-config)?$`)
	for _, l := range lines {
		if !shape.MatchString(l) {
			t.Errorf("README credential_process line %q does not have the tested shape", l)
		}
	}
}

// TestDevConfigMatchesFile keeps configs/dev.yaml, which documents what
// broker dev runs, equal to the configuration dev builds, but for the two
// URLs dev only knows at run time.
func TestDevConfigMatchesFile(t *testing.T) {
	file, err := config.Load("../../configs/dev.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dev, err := config.Parse("broker dev", fmt.Appendf(nil, devConfig, file.Server.Addr, file.AWS.STSEndpoint, file.Issuers[0].URL))
	if err != nil {
		t.Fatalf("dev's configuration does not parse: %v", err)
	}
	if diff := cmp.Diff(file, dev, cmpopts.IgnoreFields(config.Config{}, "Path")); diff != "" {
		t.Errorf("configs/dev.yaml and broker dev's configuration differ (-file +dev):\n%s", diff)
	}
}
