package api

import (
	"encoding/json"
	"net/http"
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

func credentialHeaders(w http.ResponseWriter, contentType string) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	// Credentials must never sit in a proxy or browser cache.
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
}

func writeProcess(w http.ResponseWriter, c chain.Credentials) error {
	credentialHeaders(w, "application/json")
	return json.NewEncoder(w).Encode(processOutput{
		Version:         1,
		AccessKeyID:     c.AccessKeyID,
		SecretAccessKey: c.SecretAccessKey.Reveal(),
		SessionToken:    c.SessionToken.Reveal(),
		Expiration:      expiration(c.Expiration),
		AccountID:       c.AccountID,
	})
}

func writeContainer(w http.ResponseWriter, c chain.Credentials) error {
	credentialHeaders(w, "application/json")
	return json.NewEncoder(w).Encode(containerOutput{
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
	credentialHeaders(w, "text/plain; charset=utf-8")
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
	_, err := w.Write([]byte(b.String()))
	return err
}

// shellQuote quotes s for a POSIX shell: inside single quotes nothing is
// special except the single quote itself, which is written by closing the
// quotes, escaping it with a backslash and reopening them.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
