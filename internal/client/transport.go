package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"
)

// maxCABytes bounds the PEM bundle read from Config.CAFile.
const maxCABytes = 1 << 20

// newHTTPClient builds the client for the broker: the default transport's
// settings (proxy from the environment, HTTP/2, connection timeouts) with the
// system roots, or with caFile's certificates when one is given. Redirects are
// not followed: the broker never sends one, and following it would send the
// token somewhere we were not asked to.
func newHTTPClient(caFile string) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pool, err := loadCAFile(caFile)
		if err != nil {
			return nil, err
		}
		tr.TLSClientConfig.RootCAs = pool
	}
	return &http.Client{Transport: tr, CheckRedirect: noRedirect}, nil
}

// noRedirect makes the client return a 3xx answer instead of following it.
func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// loadCAFile reads a PEM bundle into a new pool. It replaces the system roots:
// a private CA file is the one the operator wants us to trust for the broker.
func loadCAFile(path string) (*x509.CertPool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, caFileError(path, err)
	}
	defer f.Close()
	pemBytes, err := readBounded(f, maxCABytes)
	if errors.Is(err, errTooLarge) {
		return nil, usageError(err, "ca file %q: larger than 1 MiB", path)
	}
	if err != nil {
		return nil, caFileError(path, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		return nil, usageError(nil, "ca file %q: no PEM certificate found", path)
	}
	return pool, nil
}

// caFileError names the CA file and the operating system's reason.
func caFileError(path string, err error) *Error {
	reason := err.Error()
	if pe, ok := errors.AsType[*os.PathError](err); ok {
		reason = pe.Err.Error()
	}
	return usageError(err, "ca file %q: %s", path, reason)
}

// transportError describes a failed exchange with host (exit 3): "no answer
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
