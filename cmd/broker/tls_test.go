package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// tlsFiles are the PEM files of a server certificate for 127.0.0.1 and of
// a client certificate, each signed by its own CA.
type tlsFiles struct {
	CA, Cert, Key                   string  // server side
	ClientCA, ClientCert, ClientKey string  // client side (mTLS)
	ca                              *testCA // signed CA, Cert
}

func newTLSFiles(t *testing.T) tlsFiles {
	t.Helper()
	dir := t.TempDir()
	ca, clientCA := newTestCA(t, "broker test server CA"), newTestCA(t, "broker test client CA")
	cert, key := ca.issue(t, "broker", x509.ExtKeyUsageServerAuth)
	ccert, ckey := clientCA.issue(t, "deploy-runner", x509.ExtKeyUsageClientAuth)
	return tlsFiles{
		CA: writeFile(t, dir, "ca.pem", ca.pem), Cert: writeFile(t, dir, "server.pem", cert), Key: writeFile(t, dir, "server-key.pem", key),
		ClientCA: writeFile(t, dir, "client-ca.pem", clientCA.pem), ClientCert: writeFile(t, dir, "client.pem", ccert),
		ClientKey: writeFile(t, dir, "client-key.pem", ckey),
		ca:        ca,
	}
}

// httpsClient trusts only ca and presents cert when it is not nil.
func httpsClient(t *testing.T, ca *testCA, cert *tls.Certificate) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	tc := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	if cert != nil {
		// Always present cert, even when the server's list of acceptable
		// CAs does not name its issuer (Certificates would then send none).
		tc.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
	}
	tr := &http.Transport{TLSClientConfig: tc}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

func TestServeTLS(t *testing.T) {
	f := newTLSFiles(t)
	s := startServed(t, fmt.Sprintf("server:\n  addr: 127.0.0.1:0\n  tls:\n    cert_file: %q\n    key_file: %q\n", f.Cert, f.Key), "")
	if !s.TLS || !strings.HasPrefix(s.URL, "https://127.0.0.1:") {
		t.Fatalf("broker listening: tls=%v url=%q, want tls=true on https://127.0.0.1", s.TLS, s.URL)
	}
	token := mintToken(t, s.stack, "refs/heads/main")

	t.Run("https-client-trusting-ca", func(t *testing.T) {
		status, creds, body, _ := getCredentials(t, httpsClient(t, f.ca, nil), s.URL, token)
		if status != http.StatusOK {
			t.Fatalf("GET credentials over https = %d %s, want 200", status, body)
		}
		if got := callerARN(t, s.STS.URL(), creds); got != wantSeedARN() {
			t.Errorf("caller ARN of the served credentials = %q, want %q", got, wantSeedARN())
		}
	})

	t.Run("plain-http-refused", func(t *testing.T) {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+s.Addr+"/v1/credentials/prod-deploy", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		tr := &http.Transport{}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr}).Do(req)
		if err != nil {
			return // connection closed without an answer: refused too
		}
		defer resp.Body.Close()
		var body bytes.Buffer
		_, _ = body.ReadFrom(resp.Body)
		// net/http answers a plaintext request on a TLS listener with this 400.
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body.String(), "Client sent an HTTP request to an HTTPS server") {
			t.Errorf("plain http GET = %d %q, want 400 \"Client sent an HTTP request to an HTTPS server\"", resp.StatusCode, body.String())
		}
	})

	t.Run("credential-process-with-ca-file", func(t *testing.T) {
		tokenFile := writeFile(t, t.TempDir(), "token", []byte(token))
		var stdout, stderr bytes.Buffer
		code := run(t.Context(), []string{"credential-process", "--url", s.URL, "--profile", "prod-deploy",
			"--token-file", tokenFile, "--ca-file", f.CA}, &stdout, &stderr)
		if code != 0 || stderr.Len() != 0 {
			t.Fatalf("credential-process --ca-file = %d, stderr %q; want 0 and no stderr", code, stderr.String())
		}
		if !strings.Contains(stdout.String(), `"AccessKeyId":"ASIA`) {
			t.Errorf("credential-process stdout = %q, want credential_process JSON", stdout.String())
		}
	})

	t.Run("credential-process-without-ca-file", func(t *testing.T) {
		tokenFile := writeFile(t, t.TempDir(), "token", []byte(token))
		var stdout, stderr bytes.Buffer
		code := run(t.Context(), []string{"credential-process", "--url", s.URL, "--profile", "prod-deploy",
			"--token-file", tokenFile}, &stdout, &stderr)
		if code != 3 {
			t.Errorf("credential-process without --ca-file = %d, want 3; stderr %q", code, stderr.String())
		}
		want := "broker: cannot reach " + s.Addr + ": tls: failed to verify certificate: x509: certificate signed by unknown authority"
		if !strings.HasPrefix(stderr.String(), want) || strings.Count(stderr.String(), "\n") != 1 {
			t.Errorf("stderr = %q, want one line starting %q", stderr.String(), want)
		}
		if stdout.Len() != 0 {
			t.Errorf("stdout = %q, want nothing", stdout.String())
		}
	})
}

func TestServeMutualTLS(t *testing.T) {
	f := newTLSFiles(t)
	s := startServed(t, fmt.Sprintf("server:\n  addr: 127.0.0.1:0\n  tls:\n    cert_file: %q\n    key_file: %q\n    client_ca_file: %q\n",
		f.Cert, f.Key, f.ClientCA), "")
	token := mintToken(t, s.stack, "refs/heads/main")

	t.Run("no-client-certificate", func(t *testing.T) {
		// At the handshake itself: the server asks for a certificate and
		// rejects the empty answer before any HTTP is exchanged.
		pool := x509.NewCertPool()
		pool.AddCert(f.ca.cert)
		conn, err := tls.Dial("tcp", s.Addr, &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12})
		if err == nil {
			defer conn.Close()
			// With TLS 1.3 the client finishes first; the refusal arrives on
			// the first read.
			_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
			_, err = conn.Read(make([]byte, 1))
		}
		if err == nil || !strings.Contains(err.Error(), "certificate required") {
			t.Errorf("TLS handshake without a client certificate: err = %v, want a \"certificate required\" alert", err)
		}
		status, body := getCredentialsErr(t, httpsClient(t, f.ca, nil), s.URL, token)
		if status != 0 || !refusedAtTLS(body, "tls: certificate required") {
			t.Errorf("GET credentials without a client certificate = %d %s, want no answer: the \"tls: certificate required\" alert or a torn-down connection", status, body)
		}
	})

	t.Run("client-certificate-of-another-ca", func(t *testing.T) {
		other, otherKey := f.ca.issue(t, "stranger", x509.ExtKeyUsageClientAuth)
		cert, err := tls.X509KeyPair(other, otherKey)
		if err != nil {
			t.Fatal(err)
		}
		status, body := getCredentialsErr(t, httpsClient(t, f.ca, &cert), s.URL, token)
		if status != 0 || !refusedAtTLS(body, "tls: unknown certificate authority") {
			t.Errorf("GET credentials with a certificate of another CA = %d %s, want no answer: the \"tls: unknown certificate authority\" alert or a torn-down connection", status, body)
		}
	})

	t.Run("client-certificate", func(t *testing.T) {
		cert, err := tls.LoadX509KeyPair(f.ClientCert, f.ClientKey)
		if err != nil {
			t.Fatal(err)
		}
		status, creds, body, _ := getCredentials(t, httpsClient(t, f.ca, &cert), s.URL, token)
		if status != http.StatusOK {
			t.Fatalf("GET credentials with a client certificate = %d %s, want 200", status, body)
		}
		if got := callerARN(t, s.STS.URL(), creds); got != wantSeedARN() {
			t.Errorf("caller ARN of the served credentials = %q, want %q", got, wantSeedARN())
		}
	})
}

// TestCredentialProcessMutualTLS: credential-process with --cert-file and
// --key-file gets credentials from a broker that requires a client
// certificate; without them it is refused at the handshake and says why.
func TestCredentialProcessMutualTLS(t *testing.T) {
	f := newTLSFiles(t)
	s := startServed(t, fmt.Sprintf("server:\n  addr: 127.0.0.1:0\n  tls:\n    cert_file: %q\n    key_file: %q\n    client_ca_file: %q\n",
		f.Cert, f.Key, f.ClientCA), "")
	tokenFile := writeFile(t, t.TempDir(), "token", []byte(mintToken(t, s.stack, "refs/heads/main")))
	base := []string{"credential-process", "--url", s.URL, "--profile", "prod-deploy", "--token-file", tokenFile, "--ca-file", f.CA}

	t.Run("with-client-certificate", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		code := run(t.Context(), append(base, "--cert-file", f.ClientCert, "--key-file", f.ClientKey), &stdout, &stderr)
		if code != 0 || stderr.Len() != 0 {
			t.Fatalf("credential-process --cert-file --key-file = %d, stderr %q; want 0 and no stderr", code, stderr.String())
		}
		var creds processCreds
		if err := json.Unmarshal(stdout.Bytes(), &creds); err != nil {
			t.Fatalf("stdout = %q, want credential_process JSON: %v", stdout.String(), err)
		}
		if got := callerARN(t, s.STS.URL(), creds); got != wantSeedARN() {
			t.Errorf("caller ARN of the credentials = %q, want %q", got, wantSeedARN())
		}
	})

	t.Run("without-client-certificate", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		code := run(t.Context(), base, &stdout, &stderr)
		want := "broker: cannot reach " + s.Addr + ": "
		// With TLS 1.3 the client may be writing its request when the
		// alert arrives: then it sees the connection torn down instead,
		// and the hint says what is missing either way.
		const hint = " (the broker asked for a client certificate and none was given; if it requires one: --cert-file, --key-file)\n"
		if code != 3 || stdout.Len() != 0 || !strings.HasPrefix(stderr.String(), want) || !strings.HasSuffix(stderr.String(), hint) ||
			!refusedAtTLS(stderr.String(), "tls: certificate required") || strings.Count(stderr.String(), "\n") != 1 {
			t.Errorf("credential-process without a client certificate = %d, stdout %q, stderr %q; want 3, nothing, one line starting %q with the \"certificate required\" alert or a torn-down connection, ending %q",
				code, stdout.String(), stderr.String(), want, hint)
		}
	})
}

// getCredentialsErr is getCredentials for requests expected to fail at the
// transport: it returns status 0 and the error text when there was no answer,
// or the status and body of the answer.
func getCredentialsErr(t *testing.T, c *http.Client, baseURL, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, baseURL+"/v1/credentials/prod-deploy", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.Do(req)
	if err != nil {
		if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
			t.Errorf("GET credentials timed out instead of being refused: %v", err)
		}
		return 0, err.Error()
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	_, _ = body.ReadFrom(resp.Body)
	return resp.StatusCode, body.String()
}

// refusedAtTLS reports whether a client's error shows the server refusing
// the connection at the TLS layer: the alert itself, or, since in TLS 1.3
// the client may finish its side of the handshake and write its request
// before the server's alert arrives, a connection torn down under it.
func refusedAtTLS(errText, alert string) bool {
	return strings.Contains(errText, alert) ||
		strings.Contains(errText, "broken pipe") || strings.Contains(errText, "connection reset by peer")
}
