package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/stsbroker/broker/internal/oidctest"
	"github.com/stsbroker/broker/internal/ststest"
)

// servedStack is a stack started from a custom server (and audit) section,
// with what the "broker listening" line says about the listeners.
type servedStack struct {
	*stack
	Addr        string // main listener host:port
	TLS         bool
	MetricsAddr string // separate metrics listener host:port, "" when none
}

// defaultServer is stackConfig's server section, which startServed replaces.
const defaultServer = "server:\n  addr: 127.0.0.1:0\n"

// writeServeConfig writes stackConfig with server in place of its server
// section and tail appended, and returns the file's path.
func writeServeConfig(t *testing.T, dir, stsURL, issuerURL, server, tail string) string {
	t.Helper()
	base := fmt.Sprintf(stackConfig, stsURL, issuerURL)
	if !strings.Contains(base, defaultServer) {
		t.Fatalf("stackConfig has no %q section to replace", defaultServer)
	}
	yaml := strings.Replace(base, defaultServer, server, 1) + tail
	path := filepath.Join(dir, "broker.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// newServedDeps starts the issuer and the emulator with the seed scenario.
func newServedDeps(t *testing.T) *stack {
	t.Helper()
	s := &stack{
		Issuer:  oidctest.Start(t, oidctest.Options{}),
		STS:     ststest.Start(t, ststest.Options{}),
		Stderr:  &syncBuffer{},
		Dir:     t.TempDir(),
		stopped: make(chan int, 1),
	}
	if err := s.STS.LoadSeed(s.Issuer.URL()); err != nil {
		t.Fatalf("LoadSeed() = %v", err)
	}
	t.Setenv("PROD_EXTERNAL_ID", ststest.SeedExternalID)
	return s
}

// startServed runs `broker serve` through run with stackConfig's issuer and
// profiles, server as its server section and tail (e.g. an audit section)
// appended. It waits for the "broker listening" line; cleanup stops the
// broker and checks it exits 0.
func startServed(t *testing.T, server, tail string) *servedStack {
	t.Helper()
	s := newServedDeps(t)
	path := writeServeConfig(t, s.Dir, s.STS.URL(), s.Issuer.URL(), server, tail)
	ctx, cancel := context.WithCancel(context.Background())
	s.stop = cancel
	go func() { s.stopped <- run(ctx, []string{"serve", "--config", path}, io.Discard, s.Stderr) }()
	t.Cleanup(func() { s.shutdown(t) })

	ss := &servedStack{stack: s}
	deadline := time.Now().Add(10 * time.Second)
	for ss.Addr == "" {
		select {
		case code := <-s.stopped:
			s.stop()
			s.stop = nil
			t.Fatalf("broker serve exited with %d before listening; stderr:\n%s", code, s.Stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("broker did not start; stderr:\n%s", s.Stderr)
		}
		for _, line := range strings.Split(s.Stderr.String(), "\n") {
			var e struct {
				Msg         string `json:"msg"`
				Addr        string `json:"addr"`
				TLS         bool   `json:"tls"`
				MetricsAddr string `json:"metrics_addr"`
			}
			if json.Unmarshal([]byte(line), &e) == nil && e.Msg == "broker listening" {
				ss.Addr, ss.TLS, ss.MetricsAddr = e.Addr, e.TLS, e.MetricsAddr
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	scheme := "http://"
	if ss.TLS {
		scheme = "https://"
	}
	s.URL = scheme + ss.Addr
	return ss
}

// mintToken mints a token of the seed's allowed (main) or denied (feature)
// branch.
func mintToken(t *testing.T, s *stack, ref string) string {
	t.Helper()
	tok, err := s.Issuer.Mint(oidctest.GitHubActionsClaims("myorg/app", ref))
	if err != nil {
		t.Fatalf("Mint() = %v", err)
	}
	return tok
}

// processCreds is the credential_process JSON of /v1/credentials.
type processCreds struct {
	Version         int
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string
	SessionToken    string
	Expiration      string
}

// getCredentials asks the broker for prod-deploy's credentials with token.
// It returns the status, the decoded credentials (on 200), the raw body and
// the X-Request-Id header.
func getCredentials(t *testing.T, c *http.Client, baseURL, token string) (int, processCreds, string, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, baseURL+"/v1/credentials/prod-deploy", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s/v1/credentials/prod-deploy: %v", baseURL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read credentials body: %v", err)
	}
	var creds processCreds
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(body, &creds); err != nil {
			t.Fatalf("credentials body %q is not JSON: %v", body, err)
		}
	}
	return resp.StatusCode, creds, string(body), resp.Header.Get("X-Request-Id")
}

// wantSeedARN is the assumed-role ARN of the seed chain for the default
// GitHub Actions claims.
func wantSeedARN() string {
	return "arn:aws:sts::222222222222:assumed-role/ci-deploy-role/gha-" +
		oidctest.GitHubActionsClaims("myorg/app", "refs/heads/main")["run_id"].(string)
}

// callerARN signs GetCallerIdentity with creds against the emulator, proving
// they are real credentials it issued.
func callerARN(t *testing.T, stsURL string, creds processCreds) string {
	t.Helper()
	c := sts.New(sts.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(stsURL),
		Credentials:  credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken),
	})
	out, err := c.GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity() with the broker's credentials = %v", err)
	}
	return aws.ToString(out.Arn)
}

// testCA is a throwaway certificate authority for TLS tests.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("CreateCertificate(CA) = %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue signs a leaf certificate: for 127.0.0.1 when usage is ServerAuth.
// It returns the certificate and key PEM.
func (ca *testCA) issue(t *testing.T, name string, usage x509.ExtKeyUsage) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
	}
	if usage == x509.ExtKeyUsageServerAuth {
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatalf("CreateCertificate(%s) = %v", name, err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})
}

// writeFile writes b to dir/name (0600) and returns the path.
func writeFile(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
