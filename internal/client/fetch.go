package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Config is one `broker credential-process` call.
type Config struct {
	URL        string           // broker base URL, e.g. https://broker.internal:8443 (a path prefix is kept)
	Profile    string           // profile name, checked against the broker's rule (see validProfile)
	Source     TokenSource      // where the caller's OIDC token comes from
	CAFile     string           // optional PEM bundle of a private CA; system roots otherwise
	CertFile   string           // optional client certificate (PEM) for a broker that requires one
	KeyFile    string           // its private key (PEM); required with CertFile
	Timeout    time.Duration    // bounds the whole call, token source included; 0 means 30s
	HTTPClient *http.Client     // optional (tests); built from CAFile, CertFile and KeyFile otherwise
	Stdout     io.Writer        // receives the credential_process JSON, and nothing else
	Stderr     io.Writer        // receives one line on failure
	Now        func() time.Time // checks Expiration; defaults to time.Now

	// InsecurePlaintext allows an http:// URL whose host is not loopback
	// (--insecure-plaintext): the token then crosses the network in clear.
	InsecurePlaintext bool

	retryUnit time.Duration // one Retry-After second; 0 means time.Second (tests shorten it)
}

// Run performs the call and returns the process exit code. On success it
// writes exactly the credential_process JSON and a newline to Stdout and
// nothing to Stderr; on failure it writes one line to Stderr and nothing to
// Stdout. Nil Stdout and Stderr mean os.Stdout and os.Stderr.
func Run(ctx context.Context, cfg Config) int {
	if cfg.Stdout == nil {
		cfg.Stdout = os.Stdout
	}
	if cfg.Stderr == nil {
		cfg.Stderr = os.Stderr
	}
	out, err := Fetch(ctx, cfg)
	if err == nil {
		var b []byte
		if b, err = json.Marshal(out); err == nil {
			if _, err = cfg.Stdout.Write(append(b, '\n')); err == nil {
				return ExitOK
			}
			err = &Error{Exit: ExitTransient, Message: fmt.Sprintf("write stdout: %v", err), Err: err}
		}
	}
	e, ok := errors.AsType[*Error](err)
	if !ok { // Fetch returns only *Error; this keeps Run total anyway
		e = &Error{Exit: ExitRefused, Message: "internal error", Err: err}
	}
	fmt.Fprintln(cfg.Stderr, e.Error())
	return e.Exit
}

// Fetch gets credentials for cfg.Profile: a token from cfg.Source, then
// GET <URL>/v1/credentials/<profile> with `Authorization: Bearer <token>`.
// Every error is an [*Error] whose Exit is the process exit code.
func Fetch(ctx context.Context, cfg Config) (*Output, error) {
	base, err := checkConfig(cfg)
	if err != nil {
		return nil, err
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	hc, askedForCert := cfg.HTTPClient, func() bool { return false }
	if hc == nil {
		if hc, askedForCert, err = newHTTPClient(cfg); err != nil {
			return nil, err
		}
	} else {
		c := *hc // never follow redirects, even with a client from the caller
		c.CheckRedirect = noRedirect
		hc = &c
	}

	tok, err := cfg.Source.Token(ctx)
	if err != nil {
		return nil, sourceError(ctx, timeout, err)
	}
	if len(tok) > 7 && strings.EqualFold(tok[:7], "bearer ") {
		return nil, usageError(nil, `the token source gives "Bearer <JWT>": it must give the JWT alone`)
	}
	if !headerSafe(tok) {
		return nil, usageError(nil, "token contains characters that cannot be sent in an HTTP header")
	}

	reqURL := strings.TrimRight(base.String(), "/") + "/v1/credentials/" + url.PathEscape(cfg.Profile)
	unit := cfg.retryUnit
	if unit <= 0 {
		unit = time.Second
	}
	var body []byte
	for retries := 0; ; retries++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, reqURL, nil)
		if err != nil {
			return nil, usageError(err, "cannot build a request for profile %q", cfg.Profile)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Accept", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			e := transportError(ctx, base.Host, timeout, err)
			if askedForCert() && refusedAtHandshake(err) {
				e.Message += " (the broker asked for a client certificate and none was given; if it requires one: --cert-file, --key-file)"
			}
			return nil, e
		}
		body, err = readBounded(resp.Body, maxAnswerBytes)
		resp.Body.Close()
		if errors.Is(err, errTooLarge) {
			if resp.StatusCode == http.StatusOK {
				return nil, malformed(err, "larger than 64 KiB")
			}
			return nil, &Error{Exit: exitForStatus(resp.StatusCode), Status: resp.StatusCode, Message: "unexpected answer", Err: err}
		}
		if err != nil {
			return nil, transportError(ctx, base.Host, timeout, err)
		}
		if resp.StatusCode == http.StatusOK {
			break
		}
		if wait, ok := retryWait(ctx, resp, retries, unit); ok && sleep(ctx, wait) {
			continue
		}
		return nil, parseErrorBody(resp.StatusCode, body)
	}
	now := time.Now
	if cfg.Now != nil {
		now = cfg.Now
	}
	out, reason := parseOutput(body, now())
	if reason != "" {
		return nil, malformed(nil, reason)
	}
	return out, nil
}

// Retrying a 429: the AWS CLI and SDKs do not retry a credential_process
// that failed, so a job that starts with many others of its identity (a
// matrix, the pods of a Deployment) would fail on the broker's rate limit.
// The client waits the Retry-After the broker gave, plus up to half as much
// again at random so that the callers do not come back together, at most
// maxRetries times, and only while the wait and a request fit in its
// timeout.
const (
	maxRetries    = 3
	maxRetryAfter = 10 // seconds; a longer wait is not worth holding a job for
)

// retryWait returns how long to wait before asking again after resp, the
// answer to try number retries (from 0), and whether to ask again. unit is
// a Retry-After second.
func retryWait(ctx context.Context, resp *http.Response, retries int, unit time.Duration) (time.Duration, bool) {
	if resp.StatusCode != http.StatusTooManyRequests || retries >= maxRetries {
		return 0, false
	}
	secs, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	if err != nil || secs < 1 || secs > maxRetryAfter {
		return 0, false
	}
	base := time.Duration(secs) * unit
	wait := base + rand.N(base/2+1)
	// Leave a second (a retry unit) for the request after the wait.
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait+unit {
		return 0, false
	}
	return wait, true
}

// sleep waits d and reports whether ctx was still alive after it.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// malformed is a 200 that is not usable credentials. It is a broker bug (or
// not a broker at all), and asking again will give the same: exit 1.
func malformed(err error, reason string) *Error {
	return &Error{Exit: ExitRefused, Status: http.StatusOK, Message: "malformed answer: " + reason, Err: err}
}

// checkConfig validates what came from flags and returns the parsed base URL.
func checkConfig(cfg Config) (*url.URL, error) {
	if cfg.URL == "" {
		return nil, usageError(nil, "no broker URL given (--url)")
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, usageError(nil, "--url must be an http(s) URL with a host, like https://broker.example:8443")
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, usageError(nil, "--url must not contain user info, a query or a fragment")
	}
	// The bearer token lets anyone who reads it get this profile's
	// credentials until it expires. The server refuses a plain-HTTP
	// listener off loopback unless server.insecure_plaintext is set; the
	// client mirrors that, so a typo (http for https) or a stale
	// BROKER_URL does not send the token in clear across a network.
	if u.Scheme == "http" && !isLoopbackHost(u.Hostname()) && !cfg.InsecurePlaintext {
		return nil, usageError(nil, "--url http://%s would send the token in clear to a host that is not loopback: use https://, or --insecure-plaintext if the broker is reachable only on a trusted network", u.Host)
	}
	// The TLS flags would do nothing for a plain-HTTP broker: say so rather
	// than send the token in clear while the caller believes it is not.
	if u.Scheme == "http" && (cfg.CAFile != "" || cfg.CertFile != "" || cfg.KeyFile != "") {
		return nil, usageError(nil, "--ca-file, --cert-file and --key-file need an https:// --url; this one is plain http")
	}
	if cfg.Profile == "" {
		return nil, usageError(nil, "no profile given (--profile)")
	}
	if !validProfile(cfg.Profile) {
		return nil, usageError(nil, "--profile must be 1 to %d of A-Z a-z 0-9 _ . - and not only dots", maxProfileBytes)
	}
	if cfg.Source == nil {
		return nil, usageError(nil, "no token source given (--token-file, --token-env or --github-actions)")
	}
	return u, nil
}

// sourceError maps a token source failure. Our sources return an [*Error]
// with its exit code; a deadline is transient; anything else is usage.
func sourceError(ctx context.Context, timeout time.Duration, err error) *Error {
	if e, ok := errors.AsType[*Error](err); ok {
		return e
	}
	if ctx.Err() != nil {
		msg := "token source: canceled"
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			msg = fmt.Sprintf("token source: no token within %s", timeout)
		}
		return &Error{Exit: ExitTransient, Message: msg, Err: err}
	}
	return usageError(err, "token source: %s", sanitizeMessage(err.Error()))
}
