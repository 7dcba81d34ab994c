package ststest

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/google/go-cmp/cmp"
)

// rawPost posts a form body and returns status, headers and body.
func rawPost(t *testing.T, srv *Server, contentType, body string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL()+"/", strings.NewReader(body))
	if err != nil {
		t.Fatalf("http.NewRequest() = %v", err)
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST = %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body = %v", err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

func TestErrorXMLGolden(t *testing.T) {
	srv := Start(t, Options{})
	status, h, body := rawPost(t, srv, "application/x-www-form-urlencoded; charset=utf-8",
		url.Values{"Action": {"AssumeRole"}, "Version": {"2011-06-15"}, "RoleArn": {SeedTargetRoleARN}, "RoleSessionName": {"s1"}}.Encode())
	if status != http.StatusForbidden {
		t.Errorf("status = %d, want 403", status)
	}
	id := h.Get("x-amzn-RequestId")
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(id) {
		t.Errorf("x-amzn-RequestId = %q, want a UUID", id)
	}
	if got := h.Get("Content-Type"); got != "text/xml" {
		t.Errorf("Content-Type = %q, want text/xml", got)
	}
	want := `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error>
    <Type>Sender</Type>
    <Code>MissingAuthenticationToken</Code>
    <Message>Request is missing Authentication Token</Message>
  </Error>
  <RequestId>` + id + `</RequestId>
</ErrorResponse>
`
	if diff := cmp.Diff(want, body); diff != "" {
		t.Errorf("error body mismatch (-want +got):\n%s", diff)
	}
}

func TestProtocolRefusals(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		body        string
		wantStatus  int
		wantCode    string
	}{
		{name: "unknown-action", contentType: "application/x-www-form-urlencoded", body: "Action=GetSessionToken&Version=2011-06-15", wantStatus: 400, wantCode: "InvalidAction"},
		{name: "wrong-version", contentType: "application/x-www-form-urlencoded", body: "Action=GetCallerIdentity&Version=2011-06-14", wantStatus: 400, wantCode: "InvalidAction"},
		{name: "missing-action", contentType: "application/x-www-form-urlencoded", body: "Version=2011-06-15", wantStatus: 400, wantCode: "MissingAction"},
		{name: "json-body", contentType: "application/json", body: `{"Action":"GetCallerIdentity"}`, wantStatus: 415, wantCode: "UnsupportedMediaType"},
		{name: "oversized-body", contentType: "application/x-www-form-urlencoded", body: "Action=GetCallerIdentity&Version=2011-06-15&Pad=" + strings.Repeat("a", 70<<10), wantStatus: 413, wantCode: "RequestEntityTooLarge"},
		{name: "unsigned-get-caller-identity", contentType: "application/x-www-form-urlencoded", body: "Action=GetCallerIdentity&Version=2011-06-15", wantStatus: 403, wantCode: "MissingAuthenticationToken"},
		{name: "missing-role-arn", contentType: "application/x-www-form-urlencoded", body: "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleSessionName=s1&WebIdentityToken=a.b.c", wantStatus: 400, wantCode: "ValidationError"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := Start(t, Options{})
			status, _, body := rawPost(t, srv, tt.contentType, tt.body)
			if status != tt.wantStatus || !strings.Contains(body, "<Code>"+tt.wantCode+"</Code>") {
				t.Errorf("answer = %d %s, want %d with code %s", status, body, tt.wantStatus, tt.wantCode)
			}
		})
	}
}

func TestIncompleteSignature(t *testing.T) {
	srv := Start(t, Options{})
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL()+"/", strings.NewReader("Action=GetCallerIdentity&Version=2011-06-15"))
	if err != nil {
		t.Fatalf("http.NewRequest() = %v", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAAAAAAAAAAAAAAAAA/20260101/us-east-1/sts/aws4_request")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST = %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 || srv.CallsByOutcome("GetCallerIdentity", "IncompleteSignature") != 1 {
		t.Errorf("status = %d, IncompleteSignature calls = %d, want 400 and 1", resp.StatusCode, srv.CallsByOutcome("GetCallerIdentity", "IncompleteSignature"))
	}
}

func TestGetQueryString(t *testing.T) {
	e := newSeedEnv(t)
	q := url.Values{
		"Action": {"AssumeRoleWithWebIdentity"}, "Version": {"2011-06-15"},
		"RoleArn": {SeedToolingRoleARN}, "RoleSessionName": {"get-1"},
		"WebIdentityToken": {e.iss.mint(t, e.iss.claims())},
	}
	resp, err := http.Get(e.srv.URL() + "/?" + q.Encode())
	if err != nil {
		t.Fatalf("GET = %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET status = %d, body %s", resp.StatusCode, b)
	}
	re := regexp.MustCompile(`(?s)^<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">\s*<AssumeRoleWithWebIdentityResult>\s*<SubjectFromWebIdentityToken>repo:myorg/app:ref:refs/heads/main</SubjectFromWebIdentityToken>\s*<Audience>sts.amazonaws.com</Audience>\s*<AssumedRoleUser>.*</AssumedRoleUser>\s*<Credentials>\s*<AccessKeyId>ASIA[A-Z2-7]{16}</AccessKeyId>\s*<SecretAccessKey>[^<]{40}</SecretAccessKey>\s*<SessionToken>[^<]+</SessionToken>\s*<Expiration>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ</Expiration>\s*</Credentials>\s*<Provider>arn:aws:iam::111111111111:oidc-provider/[^<]+</Provider>\s*</AssumeRoleWithWebIdentityResult>\s*<ResponseMetadata>\s*<RequestId>[0-9a-f-]{36}</RequestId>\s*</ResponseMetadata>\s*</AssumeRoleWithWebIdentityResponse>\n$`)
	if !re.Match(b) {
		t.Errorf("body = %s, want the STS AssumeRoleWithWebIdentityResponse shape", b)
	}
}

// TestSourceIdentityAndTagsFromToken covers token session tags, source identity and its
// persistence through a chained AssumeRole.
func TestSourceIdentityAndTagsFromToken(t *testing.T) {
	srv := Start(t, Options{})
	iss := startIssuer(t)
	prefix := issuerKeyPrefix(iss.URL)
	provARN, err := srv.AddOIDCProvider("111111111111", iss.URL, "aud-1")
	if err != nil {
		t.Fatalf("AddOIDCProvider() = %v", err)
	}
	first := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + provARN + `"},` +
		`"Action":["sts:AssumeRoleWithWebIdentity","sts:TagSession","sts:SetSourceIdentity"],` +
		`"Condition":{"StringEquals":{"` + prefix + `:aud":"aud-1","aws:RequestTag/team":"blue"}}}]}`
	second := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:role/first"},` +
		`"Action":["sts:AssumeRole","sts:TagSession","sts:SetSourceIdentity"],"Condition":{"StringEquals":{"aws:RequestTag/team":"blue"}}}]}`
	for arn, p := range map[string]string{"arn:aws:iam::111111111111:role/first": first, "arn:aws:iam::222222222222:role/second": second} {
		if err := srv.AddRole(Role{ARN: arn, TrustPolicy: p}); err != nil {
			t.Fatalf("AddRole(%s) = %v", arn, err)
		}
	}
	c := iss.claims()
	c["aud"] = "aud-1"
	c["https://aws.amazon.com/source_identity"] = "alice"
	c["https://aws.amazon.com/tags"] = map[string]any{"principal_tags": map[string][]string{"team": {"blue"}}, "transitive_tag_keys": []string{"team"}}
	client := newClient(srv)
	out, err := client.AssumeRoleWithWebIdentity(t.Context(), &sts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String("arn:aws:iam::111111111111:role/first"), RoleSessionName: aws.String("s1"),
		WebIdentityToken: aws.String(iss.mint(t, c)),
	})
	if err != nil {
		t.Fatalf("AssumeRoleWithWebIdentity() = %v", err)
	}
	if got := aws.ToString(out.SourceIdentity); got != "alice" {
		t.Errorf("SourceIdentity = %q, want alice", got)
	}
	creds := withCreds(*out.Credentials.AccessKeyId, *out.Credentials.SecretAccessKey, *out.Credentials.SessionToken)

	_, err = client.AssumeRole(t.Context(), &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::222222222222:role/second"), RoleSessionName: aws.String("s2"), SourceIdentity: aws.String("mallory"),
	}, creds)
	if code, _, _ := apiErrorOf(t, err); code != "ValidationError" {
		t.Errorf("AssumeRole(changed SourceIdentity) code = %s, want ValidationError", code)
	}
	out2, err := client.AssumeRole(t.Context(), &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::222222222222:role/second"), RoleSessionName: aws.String("s2"),
	}, creds)
	if err != nil {
		t.Fatalf("AssumeRole(chained) = %v", err)
	}
	if got := aws.ToString(out2.SourceIdentity); got != "alice" {
		t.Errorf("chained SourceIdentity = %q, want alice (kept through the chain)", got)
	}
	reqs := srv.Requests()
	if got := reqs[0]; got.SourceIdentity != "alice" || !cmp.Equal(got.Tags, map[string]string{"team": "blue"}) {
		t.Errorf("Requests()[0] SourceIdentity, Tags = %q, %v; want alice, map[team:blue]", got.SourceIdentity, got.Tags)
	}
}

func TestES256TokenAndUnreachableIssuer(t *testing.T) {
	e := newSeedEnv(t)
	b := `{"iss":"` + e.iss.URL + `","sub":"repo:myorg/app:ref:refs/heads/main","aud":"sts.amazonaws.com","exp":` +
		jsonInt(e.clock.Now().Unix()+300) + `}`
	tok := signES256(t, e.iss, b)
	if err := e.arwwi(t, tok, nil); err != nil {
		t.Errorf("AssumeRoleWithWebIdentity(ES256) = %v", err)
	}

	down := startIssuer(t)
	if _, err := e.srv.AddOIDCProvider(SeedToolingAccount, down.URL+"/down", SeedAudience); err != nil {
		t.Fatalf("AddOIDCProvider() = %v", err)
	}
	c := down.claims()
	c["iss"] = down.URL + "/down" // discovery there answers 404
	err := e.arwwi(t, down.mint(t, c), nil)
	if code, _, status := apiErrorOf(t, err); code != "IDPCommunicationError" || status != 400 {
		t.Errorf("error = %s (HTTP %d), want IDPCommunicationError (HTTP 400)", code, status)
	}
}
