package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// maxPEMBytes bounds each PEM file read: Config.CAFile, CertFile, KeyFile.
const maxPEMBytes = 1 << 20

// newHTTPClient builds the client for the broker: the default transport's
// settings (proxy from the environment, HTTP/2, connection timeouts) with the
// system roots, or with cfg.CAFile's certificates when one is given, and
// cfg.CertFile and cfg.KeyFile as the client certificate when the broker
// asks for one (mutual TLS). Redirects are not followed: the broker never
// sends one, and following it would send the token somewhere we were not
// asked to.
//
// askedForCert reports whether a server asked for a client certificate
// while none was configured: with TLS 1.3 the refusal that follows often
// reaches the client as a broken pipe, which alone would not tell the user
// what is missing.
func newHTTPClient(cfg Config) (hc *http.Client, askedForCert func() bool, err error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.CAFile != "" {
		pool, err := loadCAFile(cfg.CAFile)
		if err != nil {
			return nil, nil, err
		}
		tr.TLSClientConfig.RootCAs = pool
	}
	var asked atomic.Bool
	if cfg.CertFile != "" || cfg.KeyFile != "" {
		cert, err := loadKeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, nil, err
		}
		// Present it whenever asked, even when the server's list of
		// acceptable CAs does not name its issuer (with Certificates, Go
		// would then send none, and the broker's refusal would say
		// "certificate required" instead of naming the real problem).
		tr.TLSClientConfig.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil }
	} else {
		tr.TLSClientConfig.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			asked.Store(true)
			return &tls.Certificate{}, nil // none to send, as without this callback
		}
	}
	return &http.Client{Transport: tr, CheckRedirect: noRedirect}, asked.Load, nil
}

// noRedirect makes the client return a 3xx answer instead of following it.
func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// isLoopbackHost reports whether host (a URL's Hostname, without brackets
// or port) is a loopback IP literal (127.0.0.0/8, ::1) or "localhost": the
// hosts to which a plain-HTTP URL keeps the token on this machine. It
// mirrors the server's rule for its own plain-HTTP listener
// (internal/config IsLoopback). "localhost" is matched exactly, not
// without regard to case: net/http sends a request for "LOCALHOST" through
// an HTTP_PROXY from the environment, whereas loopback literals and
// "localhost" are never proxied. Other names are not resolved: what they
// resolve to can change, and a name such as 127.0.0.1.example.com only
// looks local.
func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// loadCAFile reads a PEM bundle into a new pool. It replaces the system roots:
// a private CA file is the one the operator wants us to trust for the broker.
func loadCAFile(path string) (*x509.CertPool, error) {
	pemBytes, err := readPEMFile("ca file", path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		return nil, usageError(nil, "ca file %q: no PEM certificate found", path)
	}
	return pool, nil
}

// loadKeyPair reads a client certificate (chain) and its private key. The
// error names the files and what is wrong, never their contents.
func loadKeyPair(certFile, keyFile string) (tls.Certificate, error) {
	if certFile == "" || keyFile == "" {
		return tls.Certificate{}, usageError(nil, "--cert-file and --key-file go together: give both or neither")
	}
	certPEM, err := readPEMFile("cert file", certFile)
	if err != nil {
		return tls.Certificate{}, err
	}
	keyPEM, err := readPEMFile("key file", keyFile)
	if err != nil {
		return tls.Certificate{}, err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	clear(keyPEM)
	if err != nil {
		return tls.Certificate{}, usageError(err, "client certificate %q with key %q: %s", certFile, keyFile, err)
	}
	return cert, nil
}

// readPEMFile reads a PEM file of at most maxPEMBytes; kind names it in
// errors ("ca file").
func readPEMFile(kind, path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fileError(kind, path, err)
	}
	defer f.Close()
	b, err := readBounded(f, maxPEMBytes)
	if errors.Is(err, errTooLarge) {
		return nil, usageError(err, "%s %q: larger than 1 MiB", kind, path)
	}
	if err != nil {
		return nil, fileError(kind, path, err)
	}
	return b, nil
}

// refusedAtHandshake reports whether err looks like a server refusing the
// TLS handshake: an alert it sent (crypto/tls reports one as a *net.OpError
// whose Op is "remote error"), or the connection torn down (with TLS 1.3
// the alert often arrives as a broken pipe or a reset while the client is
// writing its request). A timeout or an EOF after the handshake is not. A
// reset after a successful handshake also matches, hence the conditional
// wording of the hint.
func refusedAtHandshake(err error) bool {
	if oe, ok := errors.AsType[*net.OpError](err); ok && oe.Op == "remote error" {
		return true
	}
	return errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET)
}

// transportError describes a failed exchange with host (exit 3; exit 1 for a
// plain-HTTP answer to an https:// URL, which retrying cannot fix): "no answer
// from <host> within <timeout>" when the deadline passed, otherwise "cannot
// reach <host>: <reason>". The reason comes from the innermost network or TLS
// error, never from *url.Error, whose text repeats the whole URL.
func transportError(ctx context.Context, host string, timeout time.Duration, err error) *Error {
	var msg string
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded):
		msg = fmt.Sprintf("no answer from %s before the deadline", host)
		if timeout > 0 {
			msg = fmt.Sprintf("no answer from %s within %s", host, timeout)
		}
	case errors.Is(err, context.Canceled):
		msg = fmt.Sprintf("cannot reach %s: canceled", host)
	case strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		// net/http's own words (it keeps no error type for this): the
		// URL or the broker's server.tls is wrong, and retrying will not
		// change either.
		return &Error{Exit: ExitRefused, Message: fmt.Sprintf("%s answers plain HTTP to an https:// URL: check --url and the broker's server.tls", host), Err: err}
	default:
		msg = fmt.Sprintf("cannot reach %s: %s", host, innerReason(err))
	}
	return &Error{Exit: ExitTransient, Message: msg, Err: err}
}

// innerReason unwraps *url.Error and a dial's *net.OpError to the part that
// says what went wrong ("connect: connection refused", "tls: failed to verify
// certificate: x509: certificate signed by unknown authority").
func innerReason(err error) string {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		err = ue.Err
	}
	if oe, ok := errors.AsType[*net.OpError](err); ok && oe.Op == "dial" {
		err = oe.Err
	}
	return err.Error()
}

// defaultTimeout bounds a whole credential-process call when Config.Timeout is 0.
const defaultTimeout = 30 * time.Second
