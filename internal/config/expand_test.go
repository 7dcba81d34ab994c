package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// secretValue is an ExternalId that must never show up in output.
const secretValue = "s3cr3t-ExternalId-9f8e7d"

// hop2With returns a valid configuration whose hop 2 carries the given
// external_id / external_id_file keys (flow-style).
func hop2With(keys string) string {
	return chainOf(validHop1, `{role_arn: "arn:aws:iam::222222222222:role/ci-deploy-role", `+keys+`}`)
}

func TestExternalID(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	newline := write("newline", secretValue+"\n")
	crlf := write("crlf", secretValue+"\r\n")
	twoNewlines := write("two-newlines", secretValue+"\n\n")
	bare := write("bare", secretValue)
	empty := write("empty", "\n")
	big := write("big", strings.Repeat("a", maxSecretFile+1))
	write("relative", secretValue+"\n")
	missing := filepath.Join(dir, "missing")
	t.Setenv("TEST_EXTERNAL_ID", secretValue)
	t.Setenv("TEST_EMPTY_ID", "")

	tests := []struct {
		name    string
		keys    string
		want    string // resolved ExternalId when wantErr is empty
		wantErr string
	}{
		{name: "literal", keys: "external_id: myorg-prod-deploy", want: "myorg-prod-deploy"},
		{name: "env", keys: "external_id: '${env:TEST_EXTERNAL_ID}'", want: secretValue},
		{name: "env-unset", keys: "external_id: '${env:TEST_UNSET_ID_Q7}'", wantErr: "test.yaml: profiles.p.chain[1].external_id: environment variable TEST_UNSET_ID_Q7 is not set"},
		{name: "env-empty", keys: "external_id: '${env:TEST_EMPTY_ID}'", wantErr: "test.yaml: profiles.p.chain[1].external_id: environment variable TEST_EMPTY_ID is empty"},
		{name: "env-embedded", keys: "external_id: 'x-${env:TEST_EXTERNAL_ID}'", wantErr: "test.yaml: profiles.p.chain[1].external_id: malformed reference: write the whole value as ${env:VAR}"},
		{name: "env-wrong-scheme", keys: "external_id: '${file:/etc/passwd}'", wantErr: "test.yaml: profiles.p.chain[1].external_id: malformed reference: write the whole value as ${env:VAR}"},
		{name: "file-trailing-newline", keys: "external_id_file: " + newline, want: secretValue},
		{name: "file-crlf", keys: "external_id_file: " + crlf, want: secretValue},
		{name: "file-no-newline", keys: "external_id_file: " + bare, want: secretValue},
		{name: "file-only-one-newline-trimmed", keys: "external_id_file: " + twoNewlines, wantErr: "test.yaml: profiles.p.chain[1].external_id_file: the ExternalId (not shown) must be 2 to 1224 characters"},
		{name: "file-relative-to-config", keys: "external_id_file: relative", want: secretValue},
		{name: "file-missing", keys: "external_id_file: " + missing, wantErr: "test.yaml: profiles.p.chain[1].external_id_file: stat " + missing + ": no such file or directory"},
		{name: "file-empty", keys: "external_id_file: " + empty, wantErr: "test.yaml: profiles.p.chain[1].external_id_file: " + empty + " is empty"},
		{name: "file-too-large", keys: "external_id_file: " + big, wantErr: "test.yaml: profiles.p.chain[1].external_id_file: " + big + " is larger than 4096 bytes"},
		{name: "file-directory", keys: "external_id_file: " + dir, wantErr: "test.yaml: profiles.p.chain[1].external_id_file: " + dir + " is not a regular file"},
		{name: "file-env-reference", keys: "external_id_file: '${env:TEST_EXTERNAL_ID}'", wantErr: "test.yaml: profiles.p.chain[1].external_id_file: ${env:…} is expanded only in external_id"},
		{name: "both", keys: "external_id: x-1, external_id_file: " + bare, wantErr: "test.yaml: profiles.p.chain[1]: external_id and external_id_file are mutually exclusive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse(filepath.Join(dir, "test.yaml"), []byte(hop2With(tt.keys)))
			if tt.wantErr != "" {
				want := strings.ReplaceAll(tt.wantErr, "test.yaml", filepath.Join(dir, "test.yaml"))
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("Parse() error = %v, want %q", err, want)
				}
				if strings.Contains(err.Error(), secretValue) {
					t.Errorf("Parse() error %q contains the secret", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse() error = %v", err)
			}
			h := cfg.Profiles["p"].Chain[1]
			if got := h.ExternalID.Reveal(); got != tt.want {
				t.Errorf("ExternalID = %q, want %q", got, tt.want)
			}
			if h.RawExternalID != "" {
				t.Errorf("RawExternalID = %q, want it cleared", h.RawExternalID)
			}
		})
	}
}

// TestSecretNotPrinted checks that a resolved ExternalId appears in no error
// and in no dump of the configuration.
func TestSecretNotPrinted(t *testing.T) {
	t.Setenv("TEST_EXTERNAL_ID", secretValue)
	cfg, err := Parse("test.yaml", []byte(hop2With("external_id: '${env:TEST_EXTERNAL_ID}'")))
	if err != nil {
		t.Fatalf("Parse() error = %v", err)
	}
	h := cfg.Profiles["p"].Chain[1]
	if h.ExternalID.Reveal() != secretValue {
		t.Fatalf("ExternalID = %q, want the secret", h.ExternalID.Reveal())
	}
	y, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatalf("yaml.Marshal() error = %v", err)
	}
	dumps := map[string]string{
		"config-%+v":  fmt.Sprintf("%+v", cfg),
		"config-%#v":  fmt.Sprintf("%#v", cfg),
		"profile-%+v": fmt.Sprintf("%+v", *cfg.Profiles["p"]),
		"profile-%#v": fmt.Sprintf("%#v", *cfg.Profiles["p"]),
		"hop-%v":      fmt.Sprintf("%v", h),
		"yaml":        string(y),
	}
	for name, dump := range dumps {
		if strings.Contains(dump, secretValue) {
			t.Errorf("%s dump contains the secret:\n%s", name, dump)
		}
	}
	if !strings.Contains(dumps["profile-%+v"], "ExternalID:[redacted]") {
		t.Errorf("profile dump = %s, want ExternalID:[redacted]", dumps["profile-%+v"])
	}

	// Invalid configurations that hold the secret: every error line is
	// about it, none shows it.
	bad := []string{
		chainOf(`{role_arn: "arn:aws:iam::111111111111:role/r", external_id: "${env:TEST_EXTERNAL_ID}"}`),
		chainOf(validHop1, `{role_arn: "arn:aws:iam::222222222222:role/r", external_id: "`+secretValue+` !"}`),
		chainOf(validHop1, `{role_arn: "bad", duration: 9h, external_id: "`+secretValue+`", external_id_file: x}`),
	}
	for i, y := range bad {
		_, err := Parse("test.yaml", []byte(y))
		if err == nil {
			t.Errorf("Parse(bad[%d]) error = nil, want one", i)
			continue
		}
		if strings.Contains(err.Error(), secretValue) {
			t.Errorf("Parse(bad[%d]) error contains the secret:\n%v", i, err)
		}
	}
}

// A profile name may hold dots; its hops' external_id still expands
// ${env:…} (the reference check goes by the document's structure, not by a
// dotted path).
func TestEnvReferenceInDottedProfile(t *testing.T) {
	t.Setenv("TEST_EXTERNAL_ID", secretValue)
	yaml := strings.Replace(hop2With("external_id: '${env:TEST_EXTERNAL_ID}'"), "\n  p:", "\n  team.app:", 1)
	cfg, err := Parse("test.yaml", []byte(yaml))
	if err != nil {
		t.Fatalf("Parse() error = %v", err)
	}
	if got := cfg.Profiles["team.app"].Chain[1].ExternalID.Reveal(); got != secretValue {
		t.Errorf("ExternalID = %q, want the environment's value", got)
	}
}
