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
// AWS CLI require them.
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

// writeJSON writes v as JSON and a newline.
func writeJSON(w http.ResponseWriter, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return writeCredentials(w, contentJSON, append(body, '\n'))
}

func writeProcess(w http.ResponseWriter, c chain.Credentials) error {
	return writeJSON(w, &processOutput{
		Version:         1,
		AccessKeyID:     c.AccessKeyID,
		SecretAccessKey: c.SecretAccessKey.Reveal(),
		SessionToken:    c.SessionToken.Reveal(),
		Expiration:      expiration(c.Expiration),
		AccountID:       c.AccountID,
	})
}

func writeContainer(w http.ResponseWriter, c chain.Credentials) error {
	return writeJSON(w, &containerOutput{
		AccessKeyID:     c.AccessKeyID,
		SecretAccessKey: c.SecretAccessKey.Reveal(),
		Token:           c.SessionToken.Reveal(),
		Expiration:      expiration(c.Expiration),
		AccountID:       c.AccountID,
		RoleARN:         c.RoleARN,
	})
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
