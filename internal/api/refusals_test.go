package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"go.uber.org/zap/zapcore"

	"github.com/stsbroker/broker/internal/auth"
	"github.com/stsbroker/broker/internal/oidctest"
	"github.com/stsbroker/broker/internal/ststest"
)

type wantError struct {
	status  int
	code    string
	message string
	header  map[string]string
}

func checkError(t *testing.T, resp *http.Response, body []byte, want wantError) {
	t.Helper()
	if resp.StatusCode != want.status {
		t.Errorf("status = %d, want %d; body %s", resp.StatusCode, want.status, body)
	}
	var got errorBody
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("error body %q is not JSON: %v", body, err)
	}
	if got.Error != want.code || got.Message != want.message {
		t.Errorf("error = %q %q, want %q %q", got.Error, got.Message, want.code, want.message)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	for k, v := range want.header {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
}

var invalidToken = map[string]string{"WWW-Authenticate": `Bearer error="invalid_token"`}

func TestRefusals(t *testing.T) {
	b := newTestBroker(t, brokerOpts{})
	good := oidctest.GitHubActionsClaims("myorg/app", "refs/heads/main")
	broken := func(kind oidctest.Broken) string {
		tok, err := b.Issuer.MintBroken(kind, good)
		if err != nil {
			t.Fatalf("MintBroken(%v) = %v", kind, err)
		}
		return "Bearer " + tok
	}
	tokenErr := func(reason string) wantError {
		return wantError{status: 401, code: "invalid_token", message: tokenMessages[reason], header: invalidToken}
	}
	otherOwner := oidctest.GitHubActionsClaims("other/app", "refs/heads/main")
	tests := []struct {
		name  string
		path  string
		authz string
		want  wantError
	}{
		{name: "missing-token", path: "/v1/credentials/prod-deploy", want: tokenErr(auth.ReasonMissing)},
		{name: "basic-scheme", path: "/v1/credentials/prod-deploy", authz: "Basic dXNlcjpwYXNz",
			want: wantError{status: 401, code: "invalid_token", message: `the Authorization header must be "Bearer <JWT>"`, header: invalidToken}},
		{name: "raw-token-without-bearer", path: "/v1/credentials/prod-deploy", authz: b.mint(t),
			want: wantError{status: 401, code: "invalid_token", message: `the Authorization header must be "Bearer <JWT>"`, header: invalidToken}},
		{name: "container-basic-scheme", path: "/v1/container/prod-deploy", authz: "Basic dXNlcjpwYXNz",
			want: wantError{status: 401, code: "invalid_token", message: `the Authorization header must be "Bearer <JWT>"`, header: invalidToken}},
		{name: "expired", path: "/v1/credentials/prod-deploy", authz: broken(oidctest.Expired), want: tokenErr(auth.ReasonExpired)},
		{name: "not-yet-valid", path: "/v1/credentials/prod-deploy", authz: broken(oidctest.NotYetValid), want: tokenErr(auth.ReasonNotYetValid)},
		{name: "wrong-issuer", path: "/v1/credentials/prod-deploy", authz: broken(oidctest.WrongIssuer), want: tokenErr(auth.ReasonUnknownIssuer)},
		{name: "wrong-audience", path: "/v1/credentials/prod-deploy", authz: broken(oidctest.WrongAudience), want: tokenErr(auth.ReasonAudience)},
		{name: "alg-none", path: "/v1/credentials/prod-deploy", authz: broken(oidctest.AlgNone), want: tokenErr(auth.ReasonAlgorithm)},
		{name: "hs256-with-public-key", path: "/v1/credentials/prod-deploy", authz: broken(oidctest.HS256WithPublicKey), want: tokenErr(auth.ReasonAlgorithm)},
		{name: "unknown-kid", path: "/v1/credentials/prod-deploy", authz: broken(oidctest.UnknownKID), want: tokenErr(auth.ReasonSignature)},
		{name: "tampered-signature", path: "/v1/credentials/prod-deploy", authz: broken(oidctest.TamperedSignature), want: tokenErr(auth.ReasonSignature)},
		{name: "oversized", path: "/v1/credentials/prod-deploy", authz: broken(oidctest.Oversized), want: tokenErr(auth.ReasonTooLarge)},
		{name: "missing-exp", path: "/v1/credentials/prod-deploy", authz: broken(oidctest.MissingExp), want: tokenErr(auth.ReasonExpired)},
		{name: "malformed", path: "/v1/credentials/prod-deploy", authz: broken(oidctest.Malformed), want: tokenErr(auth.ReasonMalformed)},
		{name: "no-sub", path: "/v1/credentials/prod-deploy", authz: "Bearer " + b.mintClaims(t, withoutSub(good)), want: tokenErr(auth.ReasonNoSubject)},
		{name: "container-expired", path: "/v1/container/prod-deploy", authz: strings.TrimPrefix(broken(oidctest.Expired), "Bearer "), want: tokenErr(auth.ReasonExpired)},
		{name: "unknown-profile-before-token", path: "/v1/credentials/nope", want: tokenErr(auth.ReasonMissing)},
		{name: "condition-sub", path: "/v1/credentials/prod-deploy",
			authz: "Bearer " + b.mintClaims(t, oidctest.GitHubActionsClaims("myorg/app", "refs/heads/feature")),
			want:  wantError{status: 403, code: "insufficient_scope", message: "condition StringLike on sub not met"}},
		{name: "condition-owner", path: "/v1/credentials/prod-deploy", authz: "Bearer " + b.mintClaims(t, otherOwner),
			want: wantError{status: 403, code: "insufficient_scope", message: "condition StringEquals on repository_owner not met"}},
		{name: "profile-of-other-issuer", path: "/v1/credentials/gitlab-only", authz: "Bearer " + b.mint(t),
			want: wantError{status: 403, code: "insufficient_scope", message: "condition issuer on iss not met"}},
		{name: "claim-missing-for-template", path: "/v1/credentials/needs-missing-claim", authz: "Bearer " + b.mint(t),
			want: wantError{status: 403, code: "insufficient_scope", message: "the token lacks a claim that session_name needs"}},
		{name: "unknown-profile", path: "/v1/credentials/nope", authz: "Bearer " + b.mint(t),
			want: wantError{status: 404, code: "unknown_profile", message: `unknown profile "nope"`}},
		{name: "bad-profile-name", path: "/v1/credentials/a%20b", authz: "Bearer " + b.mint(t),
			want: wantError{status: 400, code: "invalid_request", message: "profile name must match [A-Za-z0-9_.-]{1,64}"}},
		{name: "bad-format", path: "/v1/credentials/prod-deploy?format=xml", authz: "Bearer " + b.mint(t),
			want: wantError{status: 400, code: "invalid_request", message: "format must be json or env"}},
		{name: "unknown-query", path: "/v1/credentials/prod-deploy?debug=1", authz: "Bearer " + b.mint(t),
			want: wantError{status: 400, code: "invalid_request", message: "unknown query parameter; only format is accepted"}},
		{name: "wrong-external-id", path: "/v1/credentials/wrong-external-id", authz: "Bearer " + b.mint(t),
			want: wantError{status: 502, code: "sts_refused", message: "hop 2 (" + ststest.SeedTargetRoleARN + "): AccessDenied"}},
		{name: "no-such-path", path: "/v2/credentials", want: wantError{status: 404, code: "not_found", message: "no such path"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := b.get(t, tt.path, tt.authz)
			checkError(t, resp, body, tt.want)
			if resp.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", resp.Header.Get("Cache-Control"))
			}
		})
	}
}

// TestTwoAuthorizationHeaders: a request with two Authorization headers is
// refused on every route that reads one, whatever they hold.
func TestTwoAuthorizationHeaders(t *testing.T) {
	b := newTestBroker(t, brokerOpts{})
	token := b.mint(t)
	for _, path := range []string{"/v1/credentials/prod-deploy", "/v1/container/prod-deploy", "/v1/profiles"} {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, b.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Add("Authorization", "Bearer "+token)
		req.Header.Add("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		checkError(t, resp, body, wantError{status: 400, code: "invalid_request", message: "send one Authorization header"})
	}
	if n := b.STS.Calls("AssumeRoleWithWebIdentity"); n != 0 {
		t.Errorf("STS calls = %d, want none", n)
	}
}

func TestSTSUnavailable(t *testing.T) {
	b := newTestBroker(t, brokerOpts{})
	b.STS.InjectFault("AssumeRoleWithWebIdentity", ststest.Fault{Status: http.StatusServiceUnavailable})
	resp, body := b.get(t, "/v1/credentials/prod-deploy", "Bearer "+b.mint(t))
	checkError(t, resp, body, wantError{status: 503, code: "sts_unavailable",
		message: "hop 1 (" + ststest.SeedToolingRoleARN + "): ServiceUnavailable",
		header:  map[string]string{"Retry-After": "5"}})
	// The SDK's retryer tried more than once before giving up.
	if got := b.STS.Calls("AssumeRoleWithWebIdentity"); got < 2 {
		t.Errorf("AssumeRoleWithWebIdentity attempts = %d, want retries", got)
	}
}

func TestSTSDown(t *testing.T) {
	b := newTestBroker(t, brokerOpts{})
	token := b.mint(t)
	b.STS.Close()
	resp, body := b.get(t, "/v1/credentials/prod-deploy", "Bearer "+token)
	checkError(t, resp, body, wantError{status: 503, code: "sts_unavailable",
		message: "hop 1 (" + ststest.SeedToolingRoleARN + "): no answer"})
}

// A broker without AWS credentials of its own says so to the caller of an
// ambient profile (not "no answer", as if STS were down), calls no STS, and
// stays ready: STS is not failing.
func TestAmbientWithoutCredentials(t *testing.T) {
	none := aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{}, errors.New("failed to refresh cached credentials, no EC2 IMDS role found")
	})
	b := newTestBroker(t, brokerOpts{ambient: none})
	resp, body := b.get(t, "/v1/credentials/ambient-three", "Bearer "+b.mintClaims(t, oidctest.GitHubActionsClaims("myorg/app", "refs/heads/main")))
	checkError(t, resp, body, wantError{status: 503, code: "sts_unavailable",
		message: "hop 1 (" + baseRoleARN + "): the broker has no AWS credentials of its own to sign it",
		header:  map[string]string{"Retry-After": "5"}})
	if n := len(b.STS.Requests()); n != 0 {
		t.Errorf("STS requests = %d, want none", n)
	}
	resp, body = b.get(t, "/readyz", "")
	if resp.StatusCode != http.StatusOK || string(body) != "ready\n" {
		t.Errorf("/readyz = %d %q, want 200 \"ready\\n\" (STS is not failing)", resp.StatusCode, body)
	}
}

func TestSTSTimeout(t *testing.T) {
	b := newTestBroker(t, brokerOpts{requestTimeout: 300 * time.Millisecond})
	b.STS.InjectFault("AssumeRole", ststest.Fault{Latency: 2 * time.Second})
	start := time.Now()
	resp, body := b.get(t, "/v1/credentials/prod-deploy", "Bearer "+b.mint(t))
	checkError(t, resp, body, wantError{status: 504, code: "sts_timeout",
		message: "no credentials from STS before the request deadline"})
	if took := time.Since(start); took > 1500*time.Millisecond {
		t.Errorf("answer took %v, want about the 300ms request timeout", took)
	}
}

// A client that goes away while its request waits for STS (botocore's
// container provider gives up after 2 s) is not the broker's failure: the
// request is recorded as 499 client_closed at info level, not 500 internal
// at error level.
func TestClientClosedIsNotAnError(t *testing.T) {
	b := newTestBroker(t, brokerOpts{})
	b.STS.InjectFault("AssumeRole", ststest.Fault{Latency: 2 * time.Second})
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.URL+"/v1/credentials/prod-deploy", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+b.mint(t))
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("request answered %d, want the client to give up first", resp.StatusCode)
	}
	// The handler notices the cancellation and logs the request.
	var line map[string]any
	for deadline := time.Now().Add(5 * time.Second); line == nil; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no access-log line for the cancelled request; logs: %v", b.Logs.All())
		}
		for _, e := range b.Logs.FilterMessage("request").All() {
			if e.ContextMap()["route"] == "/v1/credentials/{profile}" {
				line = e.ContextMap()
				if e.Level != zapcore.InfoLevel {
					t.Errorf("access-log level = %s, want info", e.Level)
				}
			}
		}
	}
	if line["status"] != int64(499) || line["error_code"] != "client_closed" {
		t.Errorf("access log: status %v, error_code %v; want 499, client_closed", line["status"], line["error_code"])
	}
	_, body := b.get(t, "/metrics", "")
	if want := `broker_http_request_duration_seconds_count{route="/v1/credentials/{profile}",status="499"} 1`; !strings.Contains(string(body), want) {
		t.Errorf("metrics lack %q", want)
	}
	if strings.Contains(string(body), `status="500"`) {
		t.Errorf("metrics count a 500 for the cancelled request")
	}
}

// A refusal decided on its own keeps its status and reason when the client
// has gone meanwhile: a caller that hangs up at once cannot hide from the
// audit log why it was refused.
func TestRefusalKeepsReasonWhenClientLeft(t *testing.T) {
	b := newTestBroker(t, brokerOpts{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	req := httptest.NewRequestWithContext(ctx, http.MethodGet, "/v1/credentials/prod-deploy", nil)
	req.Header.Set("Authorization", "Bearer "+b.mintClaims(t, oidctest.GitHubActionsClaims("otherorg/app", "refs/heads/main")))
	rec := httptest.NewRecorder()
	b.Server.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusForbidden {
		t.Errorf("status = %d, want 403 (the refusal, not 499)", rec.Code)
	}
	refused := b.Logs.FilterMessage("credentials refused").All()
	if len(refused) != 1 || refused[0].ContextMap()["reason"] != "insufficient_scope" || refused[0].ContextMap()["status"] != int64(403) {
		t.Errorf("audit lines = %v, want one refusal with reason insufficient_scope, status 403", refused)
	}
}

// A template that fails on a claim's value rather than its absence is not
// reported as a missing claim.
func TestRenderFailureOtherThanMissingClaim(t *testing.T) {
	pcs := seedProfiles()
	pcs[0].SessionName = "gha-{{ range .claims.repository }}x{{ end }}" // a string does not range
	b := newTestBroker(t, brokerOpts{profiles: pcs[:1]})
	resp, body := b.get(t, "/v1/credentials/prod-deploy", "Bearer "+b.mint(t))
	checkError(t, resp, body, wantError{status: 403, code: "insufficient_scope",
		message: "the token's claims do not fit session_name"})
}

// A claim that would print an IAM wildcard into a session policy is
// refused before any STS call: a workflow named "*" must not widen the
// policy's Resource to every workflow's prefix.
func TestPolicyWildcardClaimRefused(t *testing.T) {
	pcs := seedProfiles()
	pcs[0].Chain[1].Policy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::artifacts/{{ .claims.workflow }}/*"}]}`
	b := newTestBroker(t, brokerOpts{profiles: pcs[:1]})
	claims := oidctest.GitHubActionsClaims("myorg/app", "refs/heads/main")
	claims["workflow"] = "*"
	resp, body := b.get(t, "/v1/credentials/prod-deploy", "Bearer "+b.mintClaims(t, claims))
	checkError(t, resp, body, wantError{status: 403, code: "insufficient_scope",
		message: "the token's claims do not fit chain[1].policy"})
	if n := b.STS.Calls("AssumeRoleWithWebIdentity"); n != 0 {
		t.Errorf("AssumeRoleWithWebIdentity calls = %d, want 0", n)
	}
}

// withoutSub returns a copy of claims without sub.
func withoutSub(claims map[string]any) map[string]any {
	out := make(map[string]any, len(claims))
	for k, v := range claims {
		if k != "sub" {
			out[k] = v
		}
	}
	return out
}
