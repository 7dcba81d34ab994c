package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/stsbroker/broker/internal/chain"
)

// processOutput is the credential_process JSON (wire-facts §1.1). Version is
// the integer 1; Expiration is RFC 3339 UTC with a Z, which botocore needs.
// writeProcess writes it without reflection; the tests encode this struct
// with encoding/json as the reference.
type processOutput struct {
	Version         int    `json:"Version"`
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	SessionToken    string `json:"SessionToken"`
	Expiration      string `json:"Expiration"`
	AccountID       string `json:"AccountId,omitempty"`
}

// containerOutput is the container-credentials JSON (wire-facts §2.4). All of
// AccessKeyId, SecretAccessKey, Token and Expiration are sent: botocore and the
// AWS CLI require them. writeContainer writes it without reflection; the tests
// encode this struct with encoding/json as the reference.
type containerOutput struct {
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	Token           string `json:"Token"`
	Expiration      string `json:"Expiration"`
	AccountID       string `json:"AccountId,omitempty"`
	RoleARN         string `json:"RoleArn,omitempty"`
}

func expiration(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// The header values of every credentials answer. net/http only reads header
// values, so answers share these slices instead of allocating their own.
var (
	contentJSON = []string{"application/json"}
	contentText = []string{"text/plain; charset=utf-8"}
	noStore     = []string{"no-store"}
	noCache     = []string{"no-cache"}
)

// writeCredentials writes body as the whole answer, with its length: one
// write to the connection, no chunked encoding.
func writeCredentials(w http.ResponseWriter, contentType []string, body []byte) error {
	h := w.Header()
	h["Content-Type"] = contentType
	// Credentials must never sit in a proxy or browser cache.
	h["Cache-Control"] = noStore
	h["Pragma"] = noCache
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	_, err := w.Write(body)
	return err
}

// writeProcess writes processOutput as encoding/json would, and a newline.
// The answer is built directly: it is written on every cache hit, and
// encoding/json's reflection was a tenth of a hit's handler time. The test
// compares both encodings byte for byte.
func writeProcess(w http.ResponseWriter, c chain.Credentials) error {
	b := make([]byte, 0, 256+len(c.SessionToken))
	b = append(b, `{"Version":1,`...)
	b = appendCredentials(b, c, "SessionToken")
	return writeCredentials(w, contentJSON, append(b, "}\n"...))
}

// writeContainer writes containerOutput as encoding/json would, and a
// newline (see writeProcess).
func writeContainer(w http.ResponseWriter, c chain.Credentials) error {
	b := make([]byte, 0, 320+len(c.SessionToken))
	b = append(b, '{')
	b = appendCredentials(b, c, "Token")
	if c.RoleARN != "" {
		b = append(b, `,"RoleArn":`...)
		b = appendJSONString(b, c.RoleARN)
	}
	return writeCredentials(w, contentJSON, append(b, "}\n"...))
}

// appendCredentials appends the members both formats share, in their order:
// AccessKeyId, SecretAccessKey, the session token under tokenKey,
// Expiration and AccountId when known.
func appendCredentials(b []byte, c chain.Credentials, tokenKey string) []byte {
	b = append(b, `"AccessKeyId":`...)
	b = appendJSONString(b, c.AccessKeyID)
	b = append(b, `,"SecretAccessKey":`...)
	b = appendJSONString(b, c.SecretAccessKey.Reveal())
	b = append(b, `,"`...)
	b = append(b, tokenKey...)
	b = append(b, `":`...)
	b = appendJSONString(b, c.SessionToken.Reveal())
	b = append(b, `,"Expiration":`...)
	b = appendJSONString(b, expiration(c.Expiration))
	if c.AccountID != "" {
		b = append(b, `,"AccountId":`...)
		b = appendJSONString(b, c.AccountID)
	}
	return b
}

// appendJSONString appends s as a JSON string, as encoding/json writes it.
// Values from STS are printable ASCII that needs no escaping and are copied
// between quotes; anything else is left to encoding/json.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		// encoding/json escapes control characters, '"' and '\\', and by
		// default '<', '>' and '&'; non-ASCII is checked for valid UTF-8.
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, err := json.Marshal(s)
			if err != nil { // not reached: a Go string always marshals
				return append(b, `""`...)
			}
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// writeEnv writes POSIX shell exports, each value single-quoted so that no
// character of it is interpreted by the shell that evaluates the output.
func writeEnv(w http.ResponseWriter, c chain.Credentials) error {
	var b strings.Builder
	export := func(name, value string) {
		b.WriteString("export ")
		b.WriteString(name)
		b.WriteString("=")
		b.WriteString(shellQuote(value))
		b.WriteString("\n")
	}
	export("AWS_ACCESS_KEY_ID", c.AccessKeyID)
	export("AWS_SECRET_ACCESS_KEY", c.SecretAccessKey.Reveal())
	export("AWS_SESSION_TOKEN", c.SessionToken.Reveal())
	export("AWS_CREDENTIAL_EXPIRATION", expiration(c.Expiration))
	if c.AccountID != "" {
		export("AWS_ACCOUNT_ID", c.AccountID)
	}
	return writeCredentials(w, contentText, []byte(b.String()))
}

// shellQuote quotes s for a POSIX shell: inside single quotes nothing is
// special except the single quote itself, which is written by closing the
// quotes, escaping it with a backslash and reopening them.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
