package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stsbroker/broker/internal/chain"
)

func TestParseDecoding(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{
			name: "unknown-key",
			yaml: "server:\n  addr: 127.0.0.1:8080\n  tsl: {cert_file: c}\n" + validYAML,
			want: []string{"test.yaml: line 3: server.tsl: unknown key (known here: addr, tls, metrics_addr, insecure_plaintext, request_timeout, max_inflight, max_connections, rate_limit)"},
		},
		{
			name: "several-unknown-keys",
			yaml: "sever: {}\n" + strings.Replace(validYAML, "audiences: [sts.amazonaws.com]", "audiences: [sts.amazonaws.com]\n    audience: x", 1),
			want: []string{
				"test.yaml: line 1: sever: unknown key (known here: server, aws, issuers, cache, profiles, audit)",
				"test.yaml: line 7: issuers[0].audience: unknown key (known here: name, url, audiences, jwks_url, algorithms)",
			},
		},
		{
			name: "misspelt-hop-key",
			yaml: chainOf(`{role_arn: "arn:aws:iam::111111111111:role/r", externalid: x}`),
			want: []string{"test.yaml: line 7: profiles.p.chain[0].externalid: unknown key (known here: role_arn, duration, external_id, external_id_file, session_tags, transitive_tag_keys, policy_arns, policy)"},
		},
		{
			name: "bare-integer-duration",
			yaml: "cache:\n  refresh_before: 1800\n" + validYAML,
			want: []string{"test.yaml: line 2: duration 1800 has no unit; write e.g. 1800s or 1800m"},
		},
		{
			name: "wrong-type",
			yaml: "server: {max_inflight: many}\n" + validYAML,
			want: []string{`test.yaml: line 1: server.max_inflight: want an integer, got "many"`},
		},
		{
			// The decoder alone would truncate these to 1, 0 and 4000.
			name: "fraction-for-an-integer",
			yaml: "server: {max_inflight: 1.5, rate_limit: {global_burst: 4e3}}\naws: {max_concurrent_chains: 0.5}\ncache:\n  max_entries: 1.5\n" + validYAML,
			want: []string{
				`test.yaml: line 1: server.max_inflight: want an integer, got "1.5"`,
				`test.yaml: line 1: server.rate_limit.global_burst: want an integer, got "4e3"`,
				`test.yaml: line 2: aws.max_concurrent_chains: want an integer, got "0.5"`,
				`test.yaml: line 4: cache.max_entries: want an integer, got "1.5"`,
			},
		},
		{
			// The decoder's own message has no line: "cannot decode
			// !!float `1.5` as a !!int".
			name: "value-against-its-explicit-tag",
			yaml: "cache:\n  max_entries: !!int 1.5\n" + validYAML,
			want: []string{`test.yaml: line 2: cache.max_entries: "1.5" is not a valid !!int`},
		},
		{
			name: "value-against-its-explicit-tag-in-a-list",
			yaml: strings.Replace(validYAML, "audiences: [sts.amazonaws.com]", "audiences: [sts.amazonaws.com, !!bool x]", 1),
			want: []string{`test.yaml: line 5: issuers[0].audiences[1]: "x" is not a valid !!bool`},
		},
		{
			name: "list-for-a-string",
			yaml: "server:\n  addr: [127.0.0.1, 8080]\n" + validYAML,
			want: []string{"test.yaml: line 2: server.addr: want a string, got a list"},
		},
		{
			name: "word-for-a-bool",
			yaml: "server: {insecure_plaintext: maybe}\n" + validYAML,
			want: []string{`test.yaml: line 1: server.insecure_plaintext: want true or false, got "maybe"`},
		},
		{
			name: "mapping-for-a-list",
			yaml: prof(`{issuer: github, conditions: ` + validCond + `, chain: {role_arn: "arn:aws:iam::111111111111:role/r"}}`),
			want: []string{"test.yaml: line 7: profiles.p.chain: want a list, got a mapping"},
		},
		{
			name: "bad-list-item",
			yaml: strings.Replace(validYAML, "audiences: [sts.amazonaws.com]", "audiences: [sts.amazonaws.com, {a: b}]", 1),
			want: []string{"test.yaml: line 5: issuers[0].audiences[1]: want a string, got a mapping"},
		},
		{
			name: "not-a-mapping",
			yaml: "- server\n",
			want: []string{"test.yaml: line 1: want a mapping, got a list"},
		},
		{
			name: "syntax-error",
			yaml: "server:\n  addr: [127.0.0.1\n",
			want: []string{"test.yaml: line 1: did not find expected ',' or ']'"},
		},
		{
			name: "empty-file",
			yaml: "",
			want: []string{"test.yaml: empty configuration"},
		},
		{
			name: "two-documents",
			yaml: validYAML + "---\nserver: {}\n",
			want: []string{"test.yaml: line 9: exactly one YAML document expected, found another"},
		},
		{
			name: "duplicate-key",
			yaml: validYAML + "profiles: {}\n",
			want: []string{`test.yaml: line 9: mapping key "profiles" already defined at line 7`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse("test.yaml", []byte(tt.yaml))
			checkErrLines(t, err, tt.want)
			if cfg != nil {
				t.Errorf("Parse() config = %v, want nil", cfg)
			}
		})
	}
}

func TestParseDefaults(t *testing.T) {
	got, err := Parse("dir/test.yaml", []byte(validYAML))
	if err != nil {
		t.Fatalf("Parse() error = %v", err)
	}
	want := &Config{
		Server: Server{Addr: "127.0.0.1:8080", RequestTimeout: Duration(15 * time.Second), MaxInflight: 1024, MaxConnections: 4096,
			RateLimit: RateLimit{PerIdentity: 50, PerIdentityBurst: 500, Global: 2000, GlobalBurst: 4000}},
		AWS: AWS{Region: "us-east-1", MaxConcurrentChains: 32, CallTimeout: Duration(10 * time.Second)},
		Issuers: []Issuer{{
			Name:      "github",
			URL:       "https://token.actions.githubusercontent.com",
			Audiences: []string{"sts.amazonaws.com"},
		}},
		Cache: Cache{MaxEntries: 10000, RefreshBefore: Duration(30 * time.Minute), MinRemaining: Duration(20 * time.Minute)},
		Profiles: map[string]*Profile{"p": {
			Issuer:     "github",
			Source:     "web_identity",
			Conditions: Conditions{StringEquals: map[string]StringList{"aud": {"sts.amazonaws.com"}, "repository_owner": {"myorg"}}},
			Chain: []Hop{
				{RoleARN: "arn:aws:iam::111111111111:role/github-actions-oidc", Duration: Duration(time.Hour)},
				{RoleARN: "arn:aws:iam::222222222222:role/ci-deploy-role", Duration: Duration(time.Hour), ExternalID: "myorg-prod-deploy"},
			},
		}},
		Audit: Audit{Sink: "stderr"},
		Path:  "dir/test.yaml",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Parse() mismatch (-want +got):\n%s", diff)
	}
	if got, want := got.Profiles["p"].SourceKind(), chain.WebIdentity; got != want {
		t.Errorf("SourceKind() = %v, want %v", got, want)
	}
}

func TestSourceKind(t *testing.T) {
	tests := []struct {
		source string
		want   chain.Source
	}{
		{source: "", want: chain.WebIdentity},
		{source: "web_identity", want: chain.WebIdentity},
		{source: "ambient", want: chain.Ambient},
	}
	for _, tt := range tests {
		t.Run("source-"+tt.source, func(t *testing.T) {
			if got := (&Profile{Source: tt.source}).SourceKind(); got != tt.want {
				t.Errorf("SourceKind() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, []byte(validYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(good)
	if err != nil {
		t.Fatalf("Load() error = %v", err)
	}
	if cfg.Path != good {
		t.Errorf("Load() Path = %q, want %q", cfg.Path, good)
	}

	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, []byte(validYAML+"#"+strings.Repeat("x", MaxFileSize)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Load(big)
	if want := big + ": larger than 1048576 bytes"; err == nil || err.Error() != want {
		t.Errorf("Load(big) error = %v, want %s", err, want)
	}

	missing := filepath.Join(dir, "missing.yaml")
	_, err = Load(missing)
	if want := "config: open " + missing + ": no such file or directory"; err == nil || err.Error() != want {
		t.Errorf("Load(missing) error = %v, want %s", err, want)
	}
}

// TestConfigsLoad loads every file in configs/, so a new example is tested
// as soon as it is added.
func TestConfigsLoad(t *testing.T) {
	t.Setenv("PROD_EXTERNAL_ID", "example-external-id")
	files, err := filepath.Glob("../../configs/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 2 {
		t.Fatalf("found %d files in configs/, want at least dev.yaml and example.yaml", len(files))
	}
	wantExternalID := map[string]string{
		"example.yaml": "example-external-id",
		"dev.yaml":     "myorg-prod-deploy",
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			cfg, err := Load(f)
			if err != nil {
				t.Fatalf("Load(%s) error:\n%v", f, err)
			}
			want, ok := wantExternalID[filepath.Base(f)]
			if !ok {
				return
			}
			p := cfg.Profiles["prod-deploy"]
			if p == nil || len(p.Chain) != 2 {
				t.Fatalf("Load(%s) profile prod-deploy = %+v, want 2 hops", f, p)
			}
			if got := p.Chain[1].ExternalID.Reveal(); got != want {
				t.Errorf("prod-deploy chain[1] ExternalID = %q, want %q", got, want)
			}
			if got := p.Chain[1].RawExternalID; got != "" {
				t.Errorf("prod-deploy chain[1] RawExternalID = %q, want it cleared", got)
			}
		})
	}
}

// On a line that holds several keys that fit a message (flow style, a
// one-line JSON file), the message names none rather than a wrong one, and
// the rewriting stays linear: a 200 KB one-line file with thousands of
// errors parses in well under a second.
func TestParseDecodingAmbiguousLines(t *testing.T) {
	twoHops := prof(`{issuer: github, conditions: ` + validCond + `, chain: [{role_arn: "arn:aws:iam::111111111111:role/a", foo: 1}, {role_arn: "arn:aws:iam::222222222222:role/b", foo: 2}]}`)
	_, err := Parse("test.yaml", []byte(twoHops))
	checkErrLines(t, err, []string{
		"test.yaml: line 7: foo: unknown key (known here: role_arn, duration, external_id, external_id_file, session_tags, transitive_tag_keys, policy_arns, policy)",
		"test.yaml: line 7: foo: unknown key (known here: role_arn, duration, external_id, external_id_file, session_tags, transitive_tag_keys, policy_arns, policy)",
	})
	sameName := prof(`{issuer: github, conditions: ` + validCond + `, chain: [{role_arn: "arn:aws:iam::111111111111:role/a", issuer: x}]}`)
	_, err = Parse("test.yaml", []byte(sameName))
	checkErrLines(t, err, []string{
		"test.yaml: line 7: issuer: unknown key (known here: role_arn, duration, external_id, external_id_file, session_tags, transitive_tag_keys, policy_arns, policy)",
	})

	var b strings.Builder
	b.WriteString(`{"issuers": [{"name": "g", "url": "https://i.example", "audiences": [`)
	for i := range 20000 {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString("[1]")
	}
	b.WriteString(`]}]}`)
	start := time.Now()
	_, err = Parse("test.yaml", []byte(b.String()))
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Parse of a %d-byte one-line file took %s, want it linear", b.Len(), took)
	}
	if n := len(errLines(err)); n != 20000 {
		t.Errorf("Parse reported %d errors, want one per bad audience (20000)", n)
	}
}
