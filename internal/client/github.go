package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
)

// Environment variables the GitHub Actions runner sets in a job that has
// `permissions: id-token: write` (wire-facts §6.1).
const (
	EnvActionsRequestURL   = "ACTIONS_ID_TOKEN_REQUEST_URL"
	EnvActionsRequestToken = "ACTIONS_ID_TOKEN_REQUEST_TOKEN"
)

// DefaultAudience is the audience `--github-actions` asks for when
// `--audience` is not given: the one IAM OIDC providers and
// aws-actions/configure-aws-credentials use.
const DefaultAudience = "sts.amazonaws.com"

// GitHubActionsSource requests a fresh OIDC token from the GitHub Actions
// runtime on every call: GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=<aud> with
// `Authorization: bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN`; the JWT is the
// answer's "value" field.
type GitHubActionsSource struct {
	Audience   string              // requested `aud`; empty omits the parameter (GitHub then uses the owner's URL)
	Getenv     func(string) string // defaults to os.Getenv
	HTTPClient *http.Client        // defaults to a client using http.DefaultTransport; redirects are never followed
	// InsecurePlaintext allows an http:// runtime URL whose host is not
	// loopback (--insecure-plaintext), as it does for --url.
	InsecurePlaintext bool
}

// Token asks the runtime for a token. Missing environment variables and
// refusals are [ExitUsage] errors; 429, 5xx and transport failures are
// [ExitTransient]. No error contains the request URL (it carries a query
// string), the request token or the answer's body.
//
// A redirect is not followed but answered like any other refusal, exit 2:
// net/http would resend our Authorization header (the request token, which
// can mint OIDC tokens for any audience while the job runs) to a redirect
// target on the same host name, even on another port or over plain http.
// The runtime does not redirect, and a runner that suddenly does will not
// stop doing so on a retry, so it is not transient.
func (s GitHubActionsSource) Token(ctx context.Context) (string, error) {
	getenv := s.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	rawURL, reqTok := getenv(EnvActionsRequestURL), getenv(EnvActionsRequestToken)
	for _, name := range []string{EnvActionsRequestURL, EnvActionsRequestToken} {
		if getenv(name) == "" {
			return "", usageError(nil, "github actions: %s is not set; the job needs `permissions: id-token: write`", name)
		}
	}
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", usageError(nil, "github actions: %s is not an http(s) URL", EnvActionsRequestURL)
	}
	// The runner's URL is https; plain http off loopback would carry the
	// request token in clear (the same rule as for --url).
	if u.Scheme == "http" && !isLoopbackHost(u.Hostname()) && !s.InsecurePlaintext {
		return "", usageError(nil, "github actions: %s is plain http to a host that is not loopback; the request token would cross the network in clear (--insecure-plaintext allows it)", EnvActionsRequestURL)
	}
	if s.Audience != "" {
		aud := "audience=" + url.QueryEscape(s.Audience)
		if u.RawQuery == "" {
			u.RawQuery = aud
		} else {
			u.RawQuery += "&" + aud
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", usageError(err, "github actions: cannot build the token request")
	}
	req.Header.Set("Authorization", "bearer "+reqTok)
	req.Header.Set("Accept", "application/json")
	hc := &http.Client{CheckRedirect: noRedirect}
	if s.HTTPClient != nil {
		c := *s.HTTPClient // never follow redirects, even with a client from the caller
		c.CheckRedirect = noRedirect
		hc = &c
	}
	resp, err := hc.Do(req)
	if err != nil {
		e := transportError(ctx, u.Host, 0, err)
		e.Message = "github actions: " + e.Message
		return "", e
	}
	defer resp.Body.Close()
	body, err := readBounded(resp.Body, maxTokenBytes)
	if err != nil {
		if errors.Is(err, errTooLarge) {
			return "", usageError(err, "github actions: token answer larger than 64 KiB")
		}
		e := transportError(ctx, u.Host, 0, err)
		e.Message = "github actions: " + e.Message
		return "", e
	}
	if resp.StatusCode != http.StatusOK {
		exit := ExitUsage
		if exitForStatus(resp.StatusCode) == ExitTransient {
			exit = ExitTransient
		}
		msg := fmt.Sprintf("github actions: token request answered %d", resp.StatusCode)
		if resp.StatusCode >= 300 && resp.StatusCode < 400 {
			msg += " (a redirect, not followed)"
		}
		return "", &Error{Exit: exit, Message: msg}
	}
	var ans struct {
		Value string `json:"value"`
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		return "", usageError(err, "github actions: token answer is not the expected JSON")
	}
	tok := strings.TrimSpace(ans.Value)
	if tok == "" {
		return "", usageError(nil, "github actions: token answer has no value")
	}
	return tok, nil
}
