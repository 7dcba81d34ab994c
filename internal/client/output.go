package client

import (
	"bytes"
	"encoding/json"
	"net/http"
	"time"
)

// Output is the credential_process JSON printed on stdout (wire-facts §1.1).
// The broker's answer is decoded, checked and re-encoded from this struct, so
// stdout holds exactly these fields in this order, whatever else the broker sent.
type Output struct {
	Version         int    `json:"Version"`
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	SessionToken    string `json:"SessionToken"`
	Expiration      string `json:"Expiration,omitempty"`
	AccountID       string `json:"AccountId,omitempty"`
}

// maxAnswerBytes bounds the broker's answer, success or error. Java's
// ProcessCredentialsProvider reads at most 64000 bytes of our stdout anyway.
const maxAnswerBytes = 64 << 10

// wireOutput is the broker's 200 answer as received. Version stays raw so that
// "1" (a string) and 1.0 are told apart from the integer 1 the SDKs require.
type wireOutput struct {
	Version         json.RawMessage `json:"Version"`
	AccessKeyID     string          `json:"AccessKeyId"`
	SecretAccessKey string          `json:"SecretAccessKey"`
	SessionToken    string          `json:"SessionToken"`
	Expiration      *string         `json:"Expiration"`
	AccountID       string          `json:"AccountId"`
}

// parseOutput checks a 200 answer: the integer Version 1, keys and session
// token of visible ASCII, an RFC 3339 Expiration after now, and an AccountId,
// if any, of 12 digits. The error text names the field that is wrong, never
// a value. On failure it returns the reason.
func parseOutput(body []byte, now time.Time) (*Output, string) {
	var w wireOutput
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, "not credential_process JSON"
	}
	if !bytes.Equal(w.Version, []byte("1")) {
		return nil, "Version is not the number 1"
	}
	for _, f := range []struct{ name, v string }{
		{"AccessKeyId", w.AccessKeyID},
		{"SecretAccessKey", w.SecretAccessKey},
		{"SessionToken", w.SessionToken},
	} {
		if f.v == "" {
			return nil, f.name + " is missing"
		}
		// AWS keys and session tokens are visible ASCII (base64 and
		// alphanumerics), and the SDKs put them in HTTP headers and
		// SigV4 signatures: " " or a newline is a broken answer, which
		// would otherwise fail later, in every API call, as a
		// signature mismatch far from its cause.
		if !headerSafe(f.v) {
			return nil, f.name + " contains whitespace, control or non-ASCII characters"
		}
	}
	// The SDKs use AccountId to build account-based endpoints (DynamoDB)
	// and ARNs; anything but an account number is a broken answer.
	if w.AccountID != "" && !validAccountID(w.AccountID) {
		return nil, "AccountId is not 12 digits"
	}
	if w.Expiration == nil || *w.Expiration == "" {
		return nil, "Expiration is missing"
	}
	exp, err := time.Parse(time.RFC3339, *w.Expiration)
	if err != nil {
		return nil, "Expiration is not RFC 3339"
	}
	if !exp.After(now) {
		return nil, "Expiration has passed"
	}
	return &Output{
		Version:         1,
		AccessKeyID:     w.AccessKeyID,
		SecretAccessKey: w.SecretAccessKey,
		SessionToken:    w.SessionToken,
		// Normalised to UTC with a Z: botocore compares it with an aware
		// "now" and fails on a naive timestamp (wire-facts §1.1).
		Expiration: exp.UTC().Format(time.RFC3339),
		AccountID:  w.AccountID,
	}, ""
}

// validAccountID reports whether id is an AWS account ID: exactly 12 ASCII digits.
func validAccountID(id string) bool {
	if len(id) != 12 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < '0' || id[i] > '9' {
			return false
		}
	}
	return true
}

// errorBody is the broker's JSON error answer (design.md, HTTP API).
type errorBody struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

// parseErrorBody turns a non-200 answer into an [*Error]. Only a body of the
// broker's shape, with a plausible code, is echoed (sanitised); anything else
// is "unexpected answer", since a proxy's page could contain anything.
func parseErrorBody(status int, body []byte) *Error {
	e := &Error{Exit: exitForStatus(status), Status: status, Message: "unexpected answer"}
	var eb errorBody
	if json.Unmarshal(body, &eb) != nil || !validCode(eb.Error) {
		if status == http.StatusRequestHeaderFieldsTooLarge {
			// Go's HTTP server answers it itself, in plain text, for
			// headers over the broker's limit: the token is the only
			// large header we send.
			e.Message = "request headers too large: the token is longer than the broker accepts (16 KiB)"
		}
		return e
	}
	e.Code = eb.Error
	e.Message = sanitizeMessage(eb.Message)
	if e.Code == "sts_refused" {
		// STS answered and refused a hop (AccessDenied, a wrong ExternalId):
		// the 502 says the broker is fine, and retrying will not help.
		e.Exit = ExitRefused
	}
	return e
}
