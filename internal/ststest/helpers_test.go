package ststest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/coreos/go-oidc/v3/oidc/oidctest"
)

// testClock is time.Now shifted by an adjustable offset (the SDK signs with real time).
type testClock struct{ offset atomic.Int64 }

func (c *testClock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

func (c *testClock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

// issuer is a go-oidc oidctest issuer on 127.0.0.1 with one RSA and one EC key.
type issuer struct {
	URL    string
	rsaKey *rsa.PrivateKey
	ecKey  *ecdsa.PrivateKey
}

func startIssuer(t *testing.T) *issuer {
	t.Helper()
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatalf("rsa.GenerateKey() = %v", err)
	}
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("ecdsa.GenerateKey() = %v", err)
	}
	o := &oidctest.Server{
		PublicKeys: []oidctest.PublicKey{
			{PublicKey: rk.Public(), KeyID: "rsa-1", Algorithm: oidc.RS256},
			{PublicKey: ek.Public(), KeyID: "ec-1", Algorithm: oidc.ES256},
		},
		Algorithms: []string{oidc.RS256, oidc.ES256},
	}
	ts := httptest.NewServer(o)
	t.Cleanup(ts.Close)
	o.SetIssuer(ts.URL)
	return &issuer{URL: ts.URL, rsaKey: rk, ecKey: ek}
}

// claims returns the seed-valid claims for iss, expiring in 5 minutes of real time.
func (i *issuer) claims() map[string]any {
	now := time.Now()
	return map[string]any{
		"iss": i.URL,
		"sub": "repo:myorg/app:ref:refs/heads/main",
		"aud": SeedAudience,
		"iat": now.Unix(),
		"exp": now.Add(5 * time.Minute).Unix(),
	}
}

// mint signs claims with the RSA key (RS256, kid rsa-1).
func (i *issuer) mint(t *testing.T, claims map[string]any) string {
	t.Helper()
	b, err := json.Marshal(claims)
	if err != nil {
		t.Fatalf("json.Marshal(claims) = %v", err)
	}
	return oidctest.SignIDToken(i.rsaKey, "rsa-1", oidc.RS256, string(b))
}

// newClient returns a real STS client aimed at srv, retrying without backoff (3 attempts).
func newClient(srv *Server) *sts.Client {
	return sts.New(sts.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL()),
		Credentials:  aws.AnonymousCredentials{},
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
			o.RateLimiter = ratelimit.None
		}),
	})
}

// withCreds signs one call with the given credentials.
func withCreds(akid, secret, token string) func(*sts.Options) {
	return func(o *sts.Options) {
		o.Credentials = credentials.NewStaticCredentialsProvider(akid, secret, token)
	}
}

// apiError returns the STS error code, message and HTTP status of err.
func apiErrorOf(t *testing.T, err error) (code, message string, status int) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v is not a smithy.APIError", err)
	}
	var re *awshttp.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("error %v is not an *awshttp.ResponseError", err)
	}
	return ae.ErrorCode(), ae.ErrorMessage(), re.HTTPStatusCode()
}

// seedEnv is an emulator with the seed loaded and a client.
type seedEnv struct {
	srv    *Server
	iss    *issuer
	clock  *testClock
	client *sts.Client
}

func newSeedEnv(t *testing.T) *seedEnv {
	t.Helper()
	clock := &testClock{}
	srv := Start(t, Options{Now: clock.Now})
	iss := startIssuer(t)
	if err := srv.LoadSeed(iss.URL); err != nil {
		t.Fatalf("LoadSeed() = %v", err)
	}
	return &seedEnv{srv: srv, iss: iss, clock: clock, client: newClient(srv)}
}

// hop1 performs the seed's AssumeRoleWithWebIdentity and returns the output.
func (e *seedEnv) hop1(t *testing.T) *sts.AssumeRoleWithWebIdentityOutput {
	t.Helper()
	out, err := e.client.AssumeRoleWithWebIdentity(t.Context(), &sts.AssumeRoleWithWebIdentityInput{
		RoleArn:          aws.String(SeedToolingRoleARN),
		RoleSessionName:  aws.String("gha-1"),
		WebIdentityToken: aws.String(e.iss.mint(t, e.iss.claims())),
	})
	if err != nil {
		t.Fatalf("AssumeRoleWithWebIdentity() = %v", err)
	}
	return out
}

// hop1Creds returns a per-call option signing with hop-1 credentials.
func (e *seedEnv) hop1Creds(t *testing.T) func(*sts.Options) {
	t.Helper()
	c := e.hop1(t).Credentials
	return withCreds(*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken)
}

func jsonInt(n int64) string { return strconv.FormatInt(n, 10) }

func signES256(t *testing.T, i *issuer, claims string) string {
	t.Helper()
	return oidctest.SignIDToken(i.ecKey, "ec-1", oidc.ES256, claims)
}
