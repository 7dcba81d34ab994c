package client

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const (
	// callerJWT is the caller's token; no output may ever contain it.
	callerJWT = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJyZXBvOm15b3JnL2FwcDpyZWY6cmVmcy9oZWFkcy9tYWluIn0.c2lnbmF0dXJlLXNlY3JldA"
	okBody    = `{"Version":1,"AccessKeyId":"ASIAEXAMPLEKEY","SecretAccessKey":"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY","SessionToken":"FwoGZXIvYXdzEXAMPLE","Expiration":"2030-01-02T03:04:05Z","AccountId":"222222222222"}`
	okStdout  = okBody + "\n"
)

// fixedNow is the clock of every Fetch in these tests.
func fixedNow() time.Time { return time.Date(2030, 1, 2, 2, 0, 0, 0, time.UTC) }

// seenRequest is what the fake broker received.
type seenRequest struct {
	Method, Path, Authorization, Accept string
}

// fakeBroker answers GET /v1/credentials/{profile} with one fixed documented
// wire answer (design.md, HTTP API) and records what it received.
type fakeBroker struct {
	srv  *httptest.Server
	host string

	mu   sync.Mutex
	seen []seenRequest
}

// answer is one fixed HTTP answer of the fake broker.
type answer struct {
	status int
	header map[string]string
	body   string
	delay  bool // block until the client gives up
}

func startBroker(t *testing.T, a answer) *fakeBroker {
	t.Helper()
	b := &fakeBroker{}
	b.srv = httptest.NewServer(b.handler(a))
	t.Cleanup(b.srv.Close)
	b.host = strings.TrimPrefix(b.srv.URL, "http://")
	return b
}

func (b *fakeBroker) handler(a answer) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		b.seen = append(b.seen, seenRequest{
			Method: r.Method, Path: r.URL.EscapedPath(),
			Authorization: r.Header.Get("Authorization"), Accept: r.Header.Get("Accept"),
		})
		b.mu.Unlock()
		if a.delay {
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
			return
		}
		for k, v := range a.header {
			w.Header().Set(k, v)
		}
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(a.status)
		_, _ = w.Write([]byte(a.body))
	}
}

func (b *fakeBroker) requests() []seenRequest {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]seenRequest(nil), b.seen...)
}

// runClient calls Run and returns its exit code and outputs.
func runClient(t *testing.T, cfg Config) (exit int, stdout, stderr string) {
	t.Helper()
	var out, errOut strings.Builder
	cfg.Stdout, cfg.Stderr = &out, &errOut
	if cfg.Now == nil {
		cfg.Now = fixedNow
	}
	exit = Run(t.Context(), cfg)
	return exit, out.String(), errOut.String()
}

// checkNoLeak fails the test if the token appears in any output.
func checkNoLeak(t *testing.T, token string, outputs ...string) {
	t.Helper()
	for _, o := range outputs {
		if strings.Contains(o, token) || (len(token) > 20 && strings.Contains(o, token[:20])) {
			t.Errorf("output %q contains (part of) the token", o)
		}
	}
}

func wantCredentialsRequest(profilePath string) []seenRequest {
	return []seenRequest{{
		Method: http.MethodGet, Path: profilePath,
		Authorization: "Bearer " + callerJWT, Accept: "application/json",
	}}
}

func TestRunAnswers(t *testing.T) {
	errJSON := func(code, msg string) string {
		b, err := json.Marshal(map[string]string{"error": code, "message": msg})
		if err != nil {
			t.Fatalf("Marshal() error = %v", err)
		}
		return string(b)
	}
	tests := []struct {
		name       string
		answer     answer
		wantExit   int
		wantStdout string
		wantStderr string
	}{
		{name: "ok", answer: answer{status: 200, body: okBody}, wantExit: ExitOK, wantStdout: okStdout},
		{
			name: "ok-normalised",
			answer: answer{status: 200, body: `{"Version":1,"AccessKeyId":"ASIAEXAMPLEKEY","SecretAccessKey":"s3cr3t","SessionToken":"tok",` +
				`"Expiration":"2030-01-02T05:04:05.5+02:00","Extra":"dropped"}` + "\n"},
			wantExit:   ExitOK,
			wantStdout: `{"Version":1,"AccessKeyId":"ASIAEXAMPLEKEY","SecretAccessKey":"s3cr3t","SessionToken":"tok","Expiration":"2030-01-02T03:04:05Z"}` + "\n",
		},
		{
			name:       "400-invalid-request",
			answer:     answer{status: 400, body: errJSON("invalid_request", "unknown format \"yaml\"")},
			wantExit:   ExitRefused,
			wantStderr: `broker: 400 invalid_request: unknown format "yaml"` + "\n",
		},
		{
			name:       "401-invalid-token",
			answer:     answer{status: 401, header: map[string]string{"WWW-Authenticate": `Bearer error="invalid_token"`}, body: errJSON("invalid_token", "token expired")},
			wantExit:   ExitRefused,
			wantStderr: "broker: 401 invalid_token: token expired\n",
		},
		{
			name:       "403-insufficient-scope",
			answer:     answer{status: 403, body: errJSON("insufficient_scope", "condition StringLike on sub not met")},
			wantExit:   ExitRefused,
			wantStderr: "broker: 403 insufficient_scope: condition StringLike on sub not met\n",
		},
		{
			name:       "404-unknown-profile",
			answer:     answer{status: 404, body: errJSON("unknown_profile", "unknown profile prod-deploy")},
			wantExit:   ExitRefused,
			wantStderr: "broker: 404 unknown_profile: unknown profile prod-deploy\n",
		},
		{
			name:       "429-rate-limited",
			answer:     answer{status: 429, header: map[string]string{"Retry-After": "5"}, body: errJSON("rate_limited", "retry after 5s")},
			wantExit:   ExitTransient,
			wantStderr: "broker: 429 rate_limited: retry after 5s\n",
		},
		{
			name:       "500-internal",
			answer:     answer{status: 500, body: errJSON("internal", "internal error")},
			wantExit:   ExitTransient,
			wantStderr: "broker: 500 internal: internal error\n",
		},
		{
			name:       "502-sts-refused",
			answer:     answer{status: 502, body: errJSON("sts_refused", "hop 2 (arn:aws:iam::222222222222:role/ci-deploy-role): AccessDenied")},
			wantExit:   ExitRefused,
			wantStderr: "broker: 502 sts_refused: hop 2 (arn:aws:iam::222222222222:role/ci-deploy-role): AccessDenied\n",
		},
		{
			name:       "503-sts-unavailable",
			answer:     answer{status: 503, body: errJSON("sts_unavailable", "hop 1 (arn:aws:iam::111111111111:role/github-actions-oidc): Throttling")},
			wantExit:   ExitTransient,
			wantStderr: "broker: 503 sts_unavailable: hop 1 (arn:aws:iam::111111111111:role/github-actions-oidc): Throttling\n",
		},
		{
			name:       "504-sts-timeout",
			answer:     answer{status: 504, body: errJSON("sts_timeout", "hop 2 (arn:aws:iam::222222222222:role/ci-deploy-role)")},
			wantExit:   ExitTransient,
			wantStderr: "broker: 504 sts_timeout: hop 2 (arn:aws:iam::222222222222:role/ci-deploy-role)\n",
		},
		{
			name:       "502-proxy-html-not-echoed",
			answer:     answer{status: 502, header: map[string]string{"Content-Type": "text/html"}, body: "<html><body>Bad Gateway</body></html>"},
			wantExit:   ExitTransient,
			wantStderr: "broker: 502: unexpected answer\n",
		},
		{
			name:       "403-text-body-with-token-not-echoed",
			answer:     answer{status: 403, header: map[string]string{"Content-Type": "text/plain"}, body: "denied for " + callerJWT},
			wantExit:   ExitRefused,
			wantStderr: "broker: 403: unexpected answer\n",
		},
		{
			name:       "error-json-with-odd-code-not-echoed",
			answer:     answer{status: 401, body: errJSON("Not A Code", "whatever")},
			wantExit:   ExitRefused,
			wantStderr: "broker: 401: unexpected answer\n",
		},
		{
			name:       "multi-line-message-kept-on-one-line",
			answer:     answer{status: 403, body: errJSON("insufficient_scope", "condition StringEquals\non aud\r\nnot met")},
			wantExit:   ExitRefused,
			wantStderr: "broker: 403 insufficient_scope: condition StringEquals on aud  not met\n",
		},
		{
			name:       "error-without-message",
			answer:     answer{status: 401, body: `{"error":"invalid_token"}`},
			wantExit:   ExitRefused,
			wantStderr: "broker: 401 invalid_token\n",
		},
		{
			name:       "431-headers-too-large",
			answer:     answer{status: 431, header: map[string]string{"Content-Type": "text/plain"}, body: "431 Request Header Fields Too Large"},
			wantExit:   ExitRefused,
			wantStderr: "broker: 431: request headers too large: the token is longer than the broker accepts (16 KiB)\n",
		},
		{
			name:       "redirect-not-followed",
			answer:     answer{status: 302, header: map[string]string{"Location": "http://127.0.0.1:1/steal"}},
			wantExit:   ExitRefused,
			wantStderr: "broker: 302: unexpected answer\n",
		},
		{
			name:       "malformed-version-string",
			answer:     answer{status: 200, body: strings.Replace(okBody, `"Version":1`, `"Version":"1"`, 1)},
			wantExit:   ExitRefused,
			wantStderr: "broker: 200: malformed answer: Version is not the number 1\n",
		},
		{
			name:       "malformed-version-float",
			answer:     answer{status: 200, body: strings.Replace(okBody, `"Version":1`, `"Version":1.0`, 1)},
			wantExit:   ExitRefused,
			wantStderr: "broker: 200: malformed answer: Version is not the number 1\n",
		},
		{
			name:       "malformed-missing-session-token",
			answer:     answer{status: 200, body: strings.Replace(okBody, `"SessionToken":"FwoGZXIvYXdzEXAMPLE",`, ``, 1)},
			wantExit:   ExitRefused,
			wantStderr: "broker: 200: malformed answer: SessionToken is missing\n",
		},
		{
			name:       "malformed-empty-access-key",
			answer:     answer{status: 200, body: strings.Replace(okBody, `"ASIAEXAMPLEKEY"`, `""`, 1)},
			wantExit:   ExitRefused,
			wantStderr: "broker: 200: malformed answer: AccessKeyId is missing\n",
		},
		{
			name:       "malformed-blank-secret",
			answer:     answer{status: 200, body: strings.Replace(okBody, `"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"`, `" "`, 1)},
			wantExit:   ExitRefused,
			wantStderr: "broker: 200: malformed answer: SecretAccessKey contains whitespace, control or non-ASCII characters\n",
		},
		{
			name:       "malformed-account-id",
			answer:     answer{status: 200, body: strings.Replace(okBody, `"222222222222"`, `"1\n2"`, 1)},
			wantExit:   ExitRefused,
			wantStderr: "broker: 200: malformed answer: AccountId is not 12 digits\n",
		},
		{
			name:       "malformed-expired",
			answer:     answer{status: 200, body: strings.Replace(okBody, `2030-01-02T03:04:05Z`, `2030-01-02T01:59:59Z`, 1)},
			wantExit:   ExitRefused,
			wantStderr: "broker: 200: malformed answer: Expiration has passed\n",
		},
		{
			name:       "malformed-expiration-not-rfc3339",
			answer:     answer{status: 200, body: strings.Replace(okBody, `2030-01-02T03:04:05Z`, `2030-01-02 03:04:05`, 1)},
			wantExit:   ExitRefused,
			wantStderr: "broker: 200: malformed answer: Expiration is not RFC 3339\n",
		},
		{
			name:       "malformed-expiration-missing",
			answer:     answer{status: 200, body: strings.Replace(okBody, `"Expiration":"2030-01-02T03:04:05Z",`, ``, 1)},
			wantExit:   ExitRefused,
			wantStderr: "broker: 200: malformed answer: Expiration is missing\n",
		},
		{
			name:       "malformed-not-json",
			answer:     answer{status: 200, header: map[string]string{"Content-Type": "text/plain"}, body: "export AWS_ACCESS_KEY_ID=ASIA"},
			wantExit:   ExitRefused,
			wantStderr: "broker: 200: malformed answer: not credential_process JSON\n",
		},
		{
			name:       "malformed-trailing-data",
			answer:     answer{status: 200, body: okBody + okBody},
			wantExit:   ExitRefused,
			wantStderr: "broker: 200: malformed answer: not credential_process JSON\n",
		},
		{
			name:       "malformed-oversized",
			answer:     answer{status: 200, body: `{"Version":1,"Pad":"` + strings.Repeat("x", 64<<10) + `"}`},
			wantExit:   ExitRefused,
			wantStderr: "broker: 200: malformed answer: larger than 64 KiB\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := startBroker(t, tt.answer)
			tokenFile := writeFile(t, t.TempDir(), "token", callerJWT+"\n")

			exit, stdout, stderr := runClient(t, Config{
				URL: b.srv.URL, Profile: "prod-deploy", Source: FileSource{Path: tokenFile},
				Timeout: 5 * time.Second, HTTPClient: b.srv.Client(),
			})

			if exit != tt.wantExit {
				t.Errorf("Run() = %d, want %d", exit, tt.wantExit)
			}
			if stdout != tt.wantStdout {
				t.Errorf("stdout = %q, want %q", stdout, tt.wantStdout)
			}
			if stderr != tt.wantStderr {
				t.Errorf("stderr = %q, want %q", stderr, tt.wantStderr)
			}
			checkNoLeak(t, callerJWT, stdout, stderr)
			if diff := cmp.Diff(wantCredentialsRequest("/v1/credentials/prod-deploy"), b.requests()); diff != "" {
				t.Errorf("broker requests mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// A 429 is retried after its Retry-After (the AWS CLI and SDKs do not retry
// a credential_process), at most three times and only while the wait fits
// in the timeout; other errors are not retried.
func TestRunRetriesRateLimited(t *testing.T) {
	rateLimited := `{"error":"rate_limited","message":"too many requests from this identity; retry in 1s"}`

	tests := []struct {
		name         string
		limited      int // 429s before a 200
		status       int // the error status, 429 unless set
		retryAfter   string
		timeout      time.Duration
		wantExit     int
		wantRequests int
	}{
		{name: "two-then-ok", limited: 2, retryAfter: "1", timeout: 5 * time.Second, wantExit: ExitOK, wantRequests: 3},
		{name: "gives-up-after-three-retries", limited: 100, retryAfter: "1", timeout: 5 * time.Second, wantExit: ExitTransient, wantRequests: 4},
		{name: "wait-longer-than-timeout", limited: 1, retryAfter: "10", timeout: 50 * time.Millisecond, wantExit: ExitTransient, wantRequests: 1},
		{name: "retry-after-over-the-cap", limited: 1, retryAfter: "11", timeout: 5 * time.Second, wantExit: ExitTransient, wantRequests: 1},
		{name: "no-retry-after", limited: 1, retryAfter: "", timeout: 5 * time.Second, wantExit: ExitTransient, wantRequests: 1},
		{name: "503-not-retried", limited: 1, status: 503, retryAfter: "1", timeout: 5 * time.Second, wantExit: ExitTransient, wantRequests: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			n := 0
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				n++
				limited := n <= tt.limited
				mu.Unlock()
				w.Header().Set("Content-Type", "application/json")
				if !limited {
					_, _ = w.Write([]byte(okBody))
					return
				}
				if tt.retryAfter != "" {
					w.Header().Set("Retry-After", tt.retryAfter)
				}
				status := tt.status
				if status == 0 {
					status = http.StatusTooManyRequests
				}
				w.WriteHeader(status)
				_, _ = w.Write([]byte(rateLimited))
			}))
			t.Cleanup(srv.Close)
			tokenFile := writeFile(t, t.TempDir(), "token", callerJWT+"\n")
			exit, stdout, stderr := runClient(t, Config{
				URL: srv.URL, Profile: "prod-deploy", Source: FileSource{Path: tokenFile},
				Timeout: tt.timeout, HTTPClient: srv.Client(), retryUnit: 10 * time.Millisecond,
			})
			if exit != tt.wantExit {
				t.Errorf("Run() = %d (stderr %q), want %d", exit, stderr, tt.wantExit)
			}
			if tt.wantExit == ExitOK && stdout != okStdout {
				t.Errorf("stdout = %q, want the credentials", stdout)
			}
			mu.Lock()
			defer mu.Unlock()
			if n != tt.wantRequests {
				t.Errorf("requests = %d, want %d", n, tt.wantRequests)
			}
		})
	}
}

// A wait for a Retry-After ends when the caller's context does (SIGINT,
// the AWS CLI giving up): the call fails at once, transient.
func TestFetchRetryWaitEndsWithContext(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "10")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	t.Cleanup(srv.Close)
	tokenFile := writeFile(t, t.TempDir(), "token", callerJWT+"\n")
	// Cancelled, not a deadline: with a deadline the 10 s wait would not
	// be started at all.
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err := Fetch(ctx, Config{URL: srv.URL, Profile: "prod-deploy", Source: FileSource{Path: tokenFile},
		Timeout: time.Minute, HTTPClient: srv.Client()})
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("Fetch() returned after %s, want it to stop waiting when its context is cancelled (100ms)", took.Round(time.Millisecond))
	}
	var e *Error
	if !errors.As(err, &e) || e.Exit != ExitTransient || e.Status != http.StatusTooManyRequests {
		t.Errorf("Fetch() error = %v, want the 429, transient", err)
	}
}
