package client

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestRunTransportFailures(t *testing.T) {
	dead := closedPort(t)
	slow := startBroker(t, answer{delay: true})
	plain := startBroker(t, answer{status: 200, body: okBody})
	tests := []struct {
		name       string
		url        string
		timeout    time.Duration
		wantExit   int
		wantStderr string
	}{
		{name: "unreachable", url: "http://" + dead, timeout: 5 * time.Second, wantExit: ExitTransient, wantStderr: "broker: cannot reach " + dead + ": connect: connection refused\n"},
		{name: "timeout", url: slow.srv.URL, timeout: 200 * time.Millisecond, wantExit: ExitTransient, wantStderr: "broker: no answer from " + slow.host + " within 200ms\n"},
		// A configuration mistake, not a passing fault: exit 1.
		{name: "https-to-plain-http", url: "https://" + plain.host, timeout: 5 * time.Second, wantExit: ExitRefused,
			wantStderr: "broker: " + plain.host + " answers plain HTTP to an https:// URL: check --url and the broker's server.tls\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tokenFile := writeFile(t, t.TempDir(), "token", callerJWT)
			start := time.Now()

			exit, stdout, stderr := runClient(t, Config{URL: tt.url, Profile: "prod-deploy", Source: FileSource{Path: tokenFile}, Timeout: tt.timeout})

			if exit != tt.wantExit {
				t.Errorf("Run() = %d, want %d", exit, tt.wantExit)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want empty", stdout)
			}
			if stderr != tt.wantStderr {
				t.Errorf("stderr = %q, want %q", stderr, tt.wantStderr)
			}
			if took := time.Since(start); took > 3*time.Second {
				t.Errorf("Run() took %v, want it bounded by the timeout %v", took, tt.timeout)
			}
			checkNoLeak(t, callerJWT, stdout, stderr)
		})
	}
	if got := len(slow.requests()); got != 1 {
		t.Errorf("slow broker got %d requests, want 1", got)
	}
}

// badProfile is the stderr line for a --profile the broker can never accept.
const badProfile = "broker: --profile must be 1 to 64 of A-Z a-z 0-9 _ . - and not only dots\n"

func TestRunUsageErrors(t *testing.T) {
	b := startBroker(t, answer{status: 200, body: okBody})
	dir := t.TempDir()
	good := FileSource{Path: writeFile(t, dir, "token", callerJWT)}
	tests := []struct {
		name       string
		cfg        Config
		wantStderr string
	}{
		{
			name:       "token-file-missing",
			cfg:        Config{URL: b.srv.URL, Profile: "prod-deploy", Source: FileSource{Path: filepath.Join(dir, "nope")}},
			wantStderr: `broker: token file "` + dir + `/nope": no such file or directory` + "\n",
		},
		{
			name:       "token-file-empty",
			cfg:        Config{URL: b.srv.URL, Profile: "prod-deploy", Source: FileSource{Path: writeFile(t, dir, "empty", "\n")}},
			wantStderr: `broker: token file "` + dir + `/empty": empty` + "\n",
		},
		{
			name:       "token-env-unset",
			cfg:        Config{URL: b.srv.URL, Profile: "prod-deploy", Source: EnvSource{Var: "BROKER_TOKEN", Getenv: func(string) string { return "" }}},
			wantStderr: "broker: token env: BROKER_TOKEN is not set or empty\n",
		},
		{
			name:       "github-env-missing",
			cfg:        Config{URL: b.srv.URL, Profile: "prod-deploy", Source: GitHubActionsSource{Audience: DefaultAudience, Getenv: func(string) string { return "" }}},
			wantStderr: "broker: github actions: ACTIONS_ID_TOKEN_REQUEST_URL is not set; the job needs `permissions: id-token: write`\n",
		},
		{
			name:       "token-with-bearer-prefix",
			cfg:        Config{URL: b.srv.URL, Profile: "prod-deploy", Source: FileSource{Path: writeFile(t, dir, "bearer", "Bearer "+callerJWT)}},
			wantStderr: "broker: the token source gives \"Bearer <JWT>\": it must give the JWT alone\n",
		},
		{
			name:       "token-with-space",
			cfg:        Config{URL: b.srv.URL, Profile: "prod-deploy", Source: FileSource{Path: writeFile(t, dir, "spaced", callerJWT[:10]+" "+callerJWT[10:])}},
			wantStderr: "broker: token contains characters that cannot be sent in an HTTP header\n",
		},
		{name: "no-url", cfg: Config{Profile: "prod-deploy", Source: good}, wantStderr: "broker: no broker URL given (--url)\n"},
		{name: "url-not-http", cfg: Config{URL: "ftp://broker.example", Profile: "prod-deploy", Source: good}, wantStderr: "broker: --url must be an http(s) URL with a host, like https://broker.example:8443\n"},
		{name: "url-with-query", cfg: Config{URL: b.srv.URL + "/?x=1", Profile: "prod-deploy", Source: good}, wantStderr: "broker: --url must not contain user info, a query or a fragment\n"},
		{name: "no-profile", cfg: Config{URL: b.srv.URL, Source: good}, wantStderr: "broker: no profile given (--profile)\n"},
		{name: "profile-with-newline", cfg: Config{URL: b.srv.URL, Profile: "a\nb", Source: good}, wantStderr: badProfile},
		{name: "profile-with-space", cfg: Config{URL: b.srv.URL, Profile: "a b", Source: good}, wantStderr: badProfile},
		{name: "profile-non-ascii", cfg: Config{URL: b.srv.URL, Profile: "é", Source: good}, wantStderr: badProfile},
		{name: "profile-with-slash", cfg: Config{URL: b.srv.URL, Profile: "team/prod", Source: good}, wantStderr: badProfile},
		{name: "profile-dot", cfg: Config{URL: b.srv.URL, Profile: ".", Source: good}, wantStderr: badProfile},
		{name: "profile-dot-dot", cfg: Config{URL: b.srv.URL, Profile: "..", Source: good}, wantStderr: badProfile},
		{name: "profile-too-long", cfg: Config{URL: b.srv.URL, Profile: strings.Repeat("a", 65), Source: good}, wantStderr: badProfile},
		{
			name:       "http-url-not-loopback",
			cfg:        Config{URL: "http://broker.example:8080", Profile: "prod-deploy", Source: good},
			wantStderr: "broker: --url http://broker.example:8080 would send the token in clear to a host that is not loopback: use https://, or --insecure-plaintext if the broker is reachable only on a trusted network\n",
		},
		{name: "no-source", cfg: Config{URL: b.srv.URL, Profile: "prod-deploy"}, wantStderr: "broker: no token source given (--token-file, --token-env or --github-actions)\n"},
		{name: "ca-file-with-http-url", cfg: Config{URL: b.srv.URL, Profile: "prod-deploy", Source: good, CAFile: writeFile(t, dir, "ca-for-http.pem", "not read")}, wantStderr: "broker: --ca-file, --cert-file and --key-file need an https:// --url; this one is plain http\n"},
		{name: "cert-files-with-http-url", cfg: Config{URL: b.srv.URL, Profile: "prod-deploy", Source: good, CertFile: "c.pem", KeyFile: "k.pem"}, wantStderr: "broker: --ca-file, --cert-file and --key-file need an https:// --url; this one is plain http\n"},
		{name: "ca-file-missing", cfg: Config{URL: "https://broker.example", Profile: "prod-deploy", Source: good, CAFile: filepath.Join(dir, "ca.pem")}, wantStderr: `broker: ca file "` + dir + `/ca.pem": no such file or directory` + "\n"},
		{name: "ca-file-not-pem", cfg: Config{URL: "https://broker.example", Profile: "prod-deploy", Source: good, CAFile: writeFile(t, dir, "junk.pem", "not pem")}, wantStderr: `broker: ca file "` + dir + `/junk.pem": no PEM certificate found` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exit, stdout, stderr := runClient(t, tt.cfg)
			if exit != ExitUsage {
				t.Errorf("Run() = %d, want %d", exit, ExitUsage)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want empty", stdout)
			}
			if stderr != tt.wantStderr {
				t.Errorf("stderr = %q, want %q", stderr, tt.wantStderr)
			}
			checkNoLeak(t, callerJWT, stdout, stderr)
		})
	}
	if got := b.requests(); len(got) != 0 {
		t.Errorf("broker got %d requests, want 0: %v", len(got), got)
	}
}

func TestRunRequestPath(t *testing.T) {
	tests := []struct {
		name     string
		suffix   string // appended to the broker's URL
		profile  string
		wantPath string
	}{
		{name: "plain", profile: "prod-deploy", wantPath: "/v1/credentials/prod-deploy"},
		{name: "trailing-slash", suffix: "/", profile: "prod-deploy", wantPath: "/v1/credentials/prod-deploy"},
		{name: "path-prefix", suffix: "/broker/", profile: "prod-deploy", wantPath: "/broker/v1/credentials/prod-deploy"},
		{name: "every-allowed-character", profile: "Team_prod.deploy-2", wantPath: "/v1/credentials/Team_prod.deploy-2"},
		{name: "dots-inside", profile: "a..b", wantPath: "/v1/credentials/a..b"},
		{name: "longest", profile: strings.Repeat("p", 64), wantPath: "/v1/credentials/" + strings.Repeat("p", 64)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := startBroker(t, answer{status: 200, body: okBody})
			exit, stdout, stderr := runClient(t, Config{
				URL: b.srv.URL + tt.suffix, Profile: tt.profile,
				Source: EnvSource{Var: "T", Getenv: func(string) string { return callerJWT }},
			})
			if exit != ExitOK || stdout != okStdout || stderr != "" {
				t.Errorf("Run() = %d, stdout %q, stderr %q; want 0, %q, empty", exit, stdout, stderr, okStdout)
			}
			if diff := cmp.Diff(wantCredentialsRequest(tt.wantPath), b.requests()); diff != "" {
				t.Errorf("broker requests mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRunWithGitHubActions(t *testing.T) {
	rt := startActionsRuntime(t, "")
	b := startBroker(t, answer{status: 200, body: okBody})
	env := map[string]string{
		EnvActionsRequestURL:   rt.srv.URL + "/_apis/token?api-version=2.0",
		EnvActionsRequestToken: runtimeRequestToken,
	}
	exit, stdout, stderr := runClient(t, Config{
		URL: b.srv.URL, Profile: "prod-deploy",
		Source: GitHubActionsSource{Audience: DefaultAudience, Getenv: func(k string) string { return env[k] }},
	})
	if exit != ExitOK || stdout != okStdout || stderr != "" {
		t.Errorf("Run() = %d, stdout %q, stderr %q; want 0, %q, empty", exit, stdout, stderr, okStdout)
	}
	wantReq := []seenRequest{{Method: "GET", Path: "/v1/credentials/prod-deploy", Authorization: "Bearer " + runtimeJWT, Accept: "application/json"}}
	if diff := cmp.Diff(wantReq, b.requests()); diff != "" {
		t.Errorf("broker requests mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"api-version=2.0&audience=sts.amazonaws.com"}, rt.queries(), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("runtime queries mismatch (-want +got):\n%s", diff)
	}
}

func TestFetchReturnsOutputAndTypedErrors(t *testing.T) {
	ok := startBroker(t, answer{status: 200, body: okBody})
	src := EnvSource{Var: "T", Getenv: func(string) string { return callerJWT }}
	out, err := Fetch(t.Context(), Config{URL: ok.srv.URL, Profile: "prod-deploy", Source: src, Now: fixedNow})
	if err != nil {
		t.Fatalf("Fetch() error = %v", err)
	}
	want := &Output{Version: 1, AccessKeyID: "ASIAEXAMPLEKEY", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", SessionToken: "FwoGZXIvYXdzEXAMPLE", Expiration: "2030-01-02T03:04:05Z", AccountID: "222222222222"}
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("Fetch() mismatch (-want +got):\n%s", diff)
	}

	denied := startBroker(t, answer{status: 403, body: `{"error":"insufficient_scope","message":"condition StringLike on sub not met"}`})
	_, err = Fetch(t.Context(), Config{URL: denied.srv.URL, Profile: "prod-deploy", Source: src, Now: fixedNow})
	gotErr, isErr := errors.AsType[*Error](err)
	if !isErr {
		t.Fatalf("Fetch() error = %v (%T), want *Error", err, err)
	}
	wantErr := Error{Exit: ExitRefused, Status: 403, Code: "insufficient_scope", Message: "condition StringLike on sub not met"}
	if diff := cmp.Diff(wantErr, *gotErr); diff != "" {
		t.Errorf("Fetch() error mismatch (-want +got):\n%s", diff)
	}
}
