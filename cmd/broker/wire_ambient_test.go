package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/stsbroker/broker/internal/config"
	"github.com/stsbroker/broker/internal/oidctest"
)

// ambientConfig has one ambient profile and one web_identity profile; %q is
// the issuer URL.
const ambientConfig = `
issuers:
  - name: github
    url: %q
    audiences: [sts.amazonaws.com]
profiles:
  web:
    issuer: github
    conditions: {StringEquals: {sub: "repo:myorg/app:ref:refs/heads/main"}}
    chain: [{role_arn: arn:aws:iam::111111111111:role/web}]
  nightly:
    issuer: github
    source: ambient
    conditions: {StringEquals: {sub: "repo:myorg/app:ref:refs/heads/main"}}
    chain: [{role_arn: arn:aws:iam::111111111111:role/base}]
`

// noAmbientCredentials leaves the SDK's default chain nothing to find:
// no environment keys, no shared files, and an IMDS that knows no role.
func noAmbientCredentials(t *testing.T) {
	imds := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(imds.Close)
	none := filepath.Join(t.TempDir(), "none")
	t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.URL)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "false")
	t.Setenv("AWS_CONFIG_FILE", none)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", none)
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
		"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
}

// Start-up warns, naming the ambient profiles, when the broker has no AWS
// credentials of its own for them, and still starts; with credentials in the
// environment it says nothing.
func TestBuildWarnsWithoutAmbientCredentials(t *testing.T) {
	issuer := oidctest.Start(t, oidctest.Options{})
	cfg, err := config.Parse("ambient.yaml", fmt.Appendf(nil, ambientConfig, issuer.URL()))
	if err != nil {
		t.Fatalf("config.Parse() = %v", err)
	}
	noAmbientCredentials(t)
	warnings := func() []observer.LoggedEntry {
		core, logs := observer.New(zap.WarnLevel)
		b, err := build(t.Context(), cfg, options{Log: zap.New(core)})
		if err != nil {
			t.Fatalf("build() = %v, want a broker that starts", err)
		}
		b.close()
		return logs.FilterMessage("no AWS credentials for the ambient profiles; their requests fail until the broker finds some").All()
	}

	got := warnings()
	if len(got) != 1 {
		t.Fatalf("start-up without credentials logged %d warnings about them, want 1", len(got))
	}
	if profiles := fmt.Sprint(got[0].ContextMap()["profiles"]); profiles != "[nightly]" {
		t.Errorf("warning names profiles %s, want [nightly]", profiles)
	}

	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	if got := warnings(); len(got) != 0 {
		t.Errorf("start-up with credentials in the environment logged %v, want no warning", got)
	}
}

// A reload that adds an ambient profile checks the broker's own credentials
// for it, as start-up does; one that keeps the same ambient profiles does not.
func TestReloadWarnsWithoutAmbientCredentials(t *testing.T) {
	issuer := oidctest.Start(t, oidctest.Options{})
	full := fmt.Sprintf(ambientConfig, issuer.URL())
	path, cfg, write := configFile(t, webOnly(issuer.URL()))
	noAmbientCredentials(t)
	core, logs := observer.New(zap.WarnLevel)
	b, err := build(t.Context(), cfg, options{Log: zap.New(core)})
	if err != nil {
		t.Fatalf("build() = %v", err)
	}
	t.Cleanup(b.close)
	const msg = "no AWS credentials for the ambient profiles; their requests fail until the broker finds some"
	if n := logs.FilterMessage(msg).Len(); n != 0 {
		t.Fatalf("start-up without ambient profiles logged %d warnings, want none", n)
	}

	write(full)
	if err := b.reload(t.Context(), path); err != nil {
		t.Fatalf("reload() = %v", err)
	}
	got := logs.FilterMessage(msg).All()
	if len(got) != 1 || fmt.Sprint(got[0].ContextMap()["profiles"]) != "[nightly]" {
		t.Fatalf("reload adding nightly logged %v, want one warning naming [nightly]", got)
	}
	if err := b.reload(t.Context(), path); err != nil {
		t.Fatalf("second reload() = %v", err)
	}
	if n := logs.FilterMessage(msg).Len(); n != 1 {
		t.Errorf("a reload that adds no ambient profile logged %d warnings in all, want still 1", n)
	}
}

// configFile writes yaml to a new configuration file and loads it. It
// returns the file's path, the configuration, and a function that
// rewrites the file (for reloads).
func configFile(t *testing.T, yaml string) (string, *config.Config, func(string)) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "broker.yaml")
	write := func(yaml string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(yaml)
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatalf("config.Load() = %v", err)
	}
	return path, cfg, write
}

// With ambient profiles, the STS endpoint of the AWS SDK's own
// configuration is checked even when aws.sts_endpoint is set: the SDK's
// credential chain (IRSA's web identity) sends the broker's own token there.
func TestBuildChecksSDKEndpointForAmbient(t *testing.T) {
	issuer := oidctest.Start(t, oidctest.Options{})
	yaml := "aws: {sts_endpoint: 'https://sts.us-east-1.amazonaws.com'}\n" + fmt.Sprintf(ambientConfig, issuer.URL())
	cfg, err := config.Parse("ambient.yaml", []byte(yaml))
	if err != nil {
		t.Fatalf("config.Parse() = %v", err)
	}
	noAmbientCredentials(t)
	t.Setenv("AWS_ENDPOINT_URL_STS", "http://sts.example.com")
	if _, err := build(t.Context(), cfg, options{Log: zap.NewNop()}); err == nil || !strings.Contains(err.Error(), "sets an STS endpoint it cannot use (must use https unless the host is loopback)") {
		t.Errorf("build() with ambient profiles and a plain-http AWS_ENDPOINT_URL_STS = %v, want it refused", err)
	}
	// Without ambient profiles, aws.sts_endpoint is all the broker uses.
	web := strings.Replace(yaml, "  nightly:\n    issuer: github\n    source: ambient\n    conditions: {StringEquals: {sub: \"repo:myorg/app:ref:refs/heads/main\"}}\n    chain: [{role_arn: arn:aws:iam::111111111111:role/base}]\n", "", 1)
	cfg, err = config.Parse("web.yaml", []byte(web))
	if err != nil || strings.Contains(web, "ambient") {
		t.Fatalf("config.Parse(web only) = %v", err)
	}
	b, err := build(t.Context(), cfg, options{Log: zap.NewNop()})
	if err != nil {
		t.Fatalf("build() without ambient profiles = %v, want it to start", err)
	}
	b.close()
}
