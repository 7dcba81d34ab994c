package auth

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// maxJWKSBytes bounds a JWKS or discovery document. Real ones are a few KiB.
const maxJWKSBytes = 1 << 20

// maxRedirects is the redirect limit of the standard client.
const maxRedirects = 10

// readBounded reads r whole, failing if it holds more than maxJWKSBytes.
func readBounded(r io.Reader) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r, maxJWKSBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	if len(body) > maxJWKSBytes {
		return nil, fmt.Errorf("body exceeds %d bytes", maxJWKSBytes)
	}
	return body, nil
}

// safeRedirects returns a copy of client whose redirects must stay on https
// (or http on a loopback host), within next's policy (or the standard limit
// of 10 hops if next is nil).
//
// Security: the configured discovery and JWKS URLs are checked by
// [checkURL]; without this, a redirect could still move a fetch to plain
// http, where the keys could be replaced on the way.
func safeRedirects(client *http.Client) *http.Client {
	c := *client
	next := client.CheckRedirect
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if err := checkScheme(req.URL); err != nil {
			return fmt.Errorf("redirect refused: %w", err)
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= maxRedirects {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	return &c
}

// boundedTransport reads each response body whole, up to maxJWKSBytes, so
// that go-oidc's unbounded io.ReadAll of the discovery document cannot be
// made to allocate without limit by a misbehaving issuer.
type boundedTransport struct {
	base http.RoundTripper // nil means http.DefaultTransport
}

// RoundTrip implements [http.RoundTripper].
func (t *boundedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := readBounded(resp.Body)
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	return resp, nil
}
