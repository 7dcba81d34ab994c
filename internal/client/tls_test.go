package client

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// startTLSBroker starts a fake broker over TLS with httptest's self-signed
// certificate (valid for 127.0.0.1) and writes that certificate to a PEM file.
func startTLSBroker(t *testing.T, a answer) (b *fakeBroker, caFile string) {
	t.Helper()
	b = &fakeBroker{}
	b.srv = httptest.NewUnstartedServer(b.handler(a))
	b.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the failing handshake is expected
	b.srv.StartTLS()
	t.Cleanup(b.srv.Close)
	b.host = strings.TrimPrefix(b.srv.URL, "https://")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: b.srv.Certificate().Raw})
	return b, writeFile(t, t.TempDir(), "ca.pem", string(pemBytes))
}

func TestRunTLS(t *testing.T) {
	tests := []struct {
		name       string
		withCA     bool
		wantExit   int
		wantStdout string
		wantStderr string // "{host}" is replaced by the broker's host:port
		wantCalls  int
	}{
		{name: "private-ca-trusted", withCA: true, wantExit: ExitOK, wantStdout: okStdout, wantCalls: 1},
		{
			name: "system-roots-reject", withCA: false, wantExit: ExitTransient,
			wantStderr: "broker: cannot reach {host}: tls: failed to verify certificate: x509: certificate signed by unknown authority\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, caFile := startTLSBroker(t, answer{status: 200, body: okBody})
			cfg := Config{
				URL: b.srv.URL, Profile: "prod-deploy", Timeout: 5 * time.Second,
				Source: EnvSource{Var: "T", Getenv: func(string) string { return callerJWT }},
			}
			if tt.withCA {
				cfg.CAFile = caFile
			}

			exit, stdout, stderr := runClient(t, cfg)

			if exit != tt.wantExit {
				t.Errorf("Run() = %d, want %d", exit, tt.wantExit)
			}
			if stdout != tt.wantStdout {
				t.Errorf("stdout = %q, want %q", stdout, tt.wantStdout)
			}
			if want := strings.ReplaceAll(tt.wantStderr, "{host}", b.host); stderr != want {
				t.Errorf("stderr = %q, want %q", stderr, want)
			}
			if got := len(b.requests()); got != tt.wantCalls {
				t.Errorf("broker got %d requests, want %d", got, tt.wantCalls)
			}
			checkNoLeak(t, callerJWT, stdout, stderr)
		})
	}
}

func TestRunDoesNotFollowRedirectsWithBuiltClient(t *testing.T) {
	target := startBroker(t, answer{status: 200, body: okBody})
	b := startBroker(t, answer{status: 307, header: map[string]string{"Location": target.srv.URL + "/v1/credentials/prod-deploy"}})
	exit, stdout, stderr := runClient(t, Config{
		URL: b.srv.URL, Profile: "prod-deploy",
		Source: EnvSource{Var: "T", Getenv: func(string) string { return callerJWT }},
	})
	if exit != ExitRefused || stdout != "" || stderr != "broker: 307: unexpected answer\n" {
		t.Errorf("Run() = %d, stdout %q, stderr %q; want 1, empty, %q", exit, stdout, stderr, "broker: 307: unexpected answer\n")
	}
	if got := len(target.requests()); got != 0 {
		t.Errorf("redirect target got %d requests, want 0", got)
	}
}

// newClientCert returns a self-signed client certificate and its key, PEM.
func newClientCert(t *testing.T, cn string) (certPEM, keyPEM string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
}

// TestRunMutualTLS: against a broker that requires a client certificate
// signed by its client CA, --cert-file and --key-file get credentials; no
// certificate, or one the broker does not trust, is refused at the handshake
// (exit 3, with TLS's reason).
func TestRunMutualTLS(t *testing.T) {
	dir := t.TempDir()
	trustedCert, trustedKey := newClientCert(t, "deploy-runner")
	strangerCert, strangerKey := newClientCert(t, "stranger")
	files := map[string]string{
		"trusted-cert": writeFile(t, dir, "trusted.pem", trustedCert), "trusted-key": writeFile(t, dir, "trusted-key.pem", trustedKey),
		"stranger-cert": writeFile(t, dir, "stranger.pem", strangerCert), "stranger-key": writeFile(t, dir, "stranger-key.pem", strangerKey),
	}
	clientCAs := x509.NewCertPool()
	if !clientCAs.AppendCertsFromPEM([]byte(trustedCert)) {
		t.Fatal("client CA pool")
	}

	tests := []struct {
		name              string
		certFile, keyFile string
		wantExit          int
		wantStdout        string
		// wantAlert is the TLS alert stderr names, after "cannot reach
		// {host}: ". With TLS 1.3 the client may be writing its request
		// when the alert arrives, and then sees the connection torn down.
		wantAlert string
		// wantHint: stderr ends with the hint to give a certificate.
		wantHint  bool
		wantCalls int
	}{
		{name: "trusted-certificate", certFile: files["trusted-cert"], keyFile: files["trusted-key"], wantExit: ExitOK, wantStdout: okStdout, wantCalls: 1},
		{name: "no-certificate", wantExit: ExitTransient, wantAlert: "tls: certificate required", wantHint: true},
		{name: "untrusted-certificate", certFile: files["stranger-cert"], keyFile: files["stranger-key"], wantExit: ExitTransient, wantAlert: "tls: unknown certificate authority"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &fakeBroker{}
			b.srv = httptest.NewUnstartedServer(b.handler(answer{status: 200, body: okBody}))
			b.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected
			b.srv.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: clientCAs}
			b.srv.StartTLS()
			t.Cleanup(b.srv.Close)
			caFile := writeFile(t, t.TempDir(), "ca.pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: b.srv.Certificate().Raw})))

			exit, stdout, stderr := runClient(t, Config{
				URL: b.srv.URL, Profile: "prod-deploy", Timeout: 5 * time.Second, CAFile: caFile,
				CertFile: tt.certFile, KeyFile: tt.keyFile,
				Source: EnvSource{Var: "T", Getenv: func(string) string { return callerJWT }},
			})
			refused := strings.HasPrefix(stderr, "broker: cannot reach "+strings.TrimPrefix(b.srv.URL, "https://")+": ") &&
				(strings.Contains(stderr, tt.wantAlert) || strings.Contains(stderr, "broken pipe") || strings.Contains(stderr, "connection reset by peer"))
			if exit != tt.wantExit || stdout != tt.wantStdout || (tt.wantAlert == "") != (stderr == "") || (tt.wantAlert != "" && !refused) {
				t.Errorf("Run() = %d, stdout %q, stderr %q; want %d, %q, and the alert %q (or a torn-down connection)", exit, stdout, stderr, tt.wantExit, tt.wantStdout, tt.wantAlert)
			}
			const hint = " (the broker asked for a client certificate and none was given; if it requires one: --cert-file, --key-file)\n"
			if got := strings.HasSuffix(stderr, hint); got != tt.wantHint {
				t.Errorf("stderr %q ends with the client certificate hint: %v, want %v", stderr, got, tt.wantHint)
			}
			if got := len(b.requests()); got != tt.wantCalls {
				t.Errorf("broker got %d requests, want %d", got, tt.wantCalls)
			}
			checkNoLeak(t, callerJWT, stdout, stderr)
		})
	}
}

// TestRunClientCertificateErrors: a bad --cert-file or --key-file is a
// usage error (exit 2) that names the files and never prints the key, and
// no request is sent.
func TestRunClientCertificateErrors(t *testing.T) {
	dir := t.TempDir()
	certPEM, keyPEM := newClientCert(t, "deploy-runner")
	_, otherKeyPEM := newClientCert(t, "other")
	cert := writeFile(t, dir, "cert.pem", certPEM)
	key := writeFile(t, dir, "key.pem", keyPEM)
	otherKey := writeFile(t, dir, "other-key.pem", otherKeyPEM)
	notPEM := writeFile(t, dir, "not.pem", "not a PEM file")
	huge := writeFile(t, dir, "huge.pem", strings.Repeat("x", maxPEMBytes+1))
	tests := []struct {
		name              string
		certFile, keyFile string
		wantStderr        string
	}{
		{name: "cert-without-key", certFile: cert, wantStderr: "broker: --cert-file and --key-file go together: give both or neither\n"},
		{name: "key-without-cert", keyFile: key, wantStderr: "broker: --cert-file and --key-file go together: give both or neither\n"},
		{name: "missing-cert-file", certFile: dir + "/nope.pem", keyFile: key, wantStderr: fmt.Sprintf("broker: cert file %q: no such file or directory\n", dir+"/nope.pem")},
		{name: "missing-key-file", certFile: cert, keyFile: dir + "/nope.pem", wantStderr: fmt.Sprintf("broker: key file %q: no such file or directory\n", dir+"/nope.pem")},
		{name: "cert-file-too-large", certFile: huge, keyFile: key, wantStderr: fmt.Sprintf("broker: cert file %q: larger than 1 MiB\n", huge)},
		{name: "key-file-too-large", certFile: cert, keyFile: huge, wantStderr: fmt.Sprintf("broker: key file %q: larger than 1 MiB\n", huge)},
		{name: "key-not-pem", certFile: cert, keyFile: notPEM, wantStderr: fmt.Sprintf("broker: client certificate %q with key %q: tls: failed to find any PEM data in key input\n", cert, notPEM)},
		{name: "key-of-another-certificate", certFile: cert, keyFile: otherKey, wantStderr: fmt.Sprintf("broker: client certificate %q with key %q: tls: private key does not match public key\n", cert, otherKey)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := startBroker(t, answer{status: 200, body: okBody})
			// https, or the TLS flags are refused before the files are read.
			exit, stdout, stderr := runClient(t, Config{
				URL: "https://" + strings.TrimPrefix(b.srv.URL, "http://"), Profile: "prod-deploy", CertFile: tt.certFile, KeyFile: tt.keyFile,
				Source: EnvSource{Var: "T", Getenv: func(string) string { return callerJWT }},
			})
			if exit != ExitUsage || stdout != "" || stderr != tt.wantStderr {
				t.Errorf("Run() = %d, stdout %q, stderr %q; want 2, empty, %q", exit, stdout, stderr, tt.wantStderr)
			}
			if strings.Contains(stderr, "PRIVATE KEY") || strings.Contains(stderr, strings.Split(keyPEM, "\n")[1]) {
				t.Errorf("stderr %q contains key material", stderr)
			}
			if got := len(b.requests()); got != 0 {
				t.Errorf("broker got %d requests, want 0", got)
			}
		})
	}
}

// TestRunOptionalClientCertificateNoHint: a server that asks for a client
// certificate but does not require one (a load balancer with optional
// mTLS) and then fails for another reason gets no certificate hint.
func TestRunOptionalClientCertificateNoHint(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		c, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			c.Close()
		}
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.TLS = &tls.Config{ClientAuth: tls.RequestClientCert}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	caFile := writeFile(t, t.TempDir(), "ca.pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})))
	exit, _, stderr := runClient(t, Config{
		URL: srv.URL, Profile: "prod-deploy", Timeout: 5 * time.Second, CAFile: caFile,
		Source: EnvSource{Var: "T", Getenv: func(string) string { return callerJWT }},
	})
	if exit != ExitTransient || !strings.HasPrefix(stderr, "broker: cannot reach ") || strings.Contains(stderr, "client certificate") {
		t.Errorf("Run() = %d, stderr %q; want 3, a transport error without the client certificate hint", exit, stderr)
	}
}
