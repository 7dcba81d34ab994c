package ststest

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"time"
)

const stsNamespace = "https://sts.amazonaws.com/doc/2011-06-15/"

type responseMetadata struct {
	RequestID string `xml:"RequestId"`
}

type credentialsXML struct {
	AccessKeyID     string `xml:"AccessKeyId"`
	SecretAccessKey string `xml:"SecretAccessKey"`
	SessionToken    string `xml:"SessionToken"`
	Expiration      string `xml:"Expiration"`
}

type assumedRoleUserXML struct {
	Arn           string `xml:"Arn"`
	AssumedRoleID string `xml:"AssumedRoleId"`
}

type assumeRoleWithWebIdentityResponse struct {
	XMLName xml.Name `xml:"AssumeRoleWithWebIdentityResponse"`
	Xmlns   string   `xml:"xmlns,attr"`
	Result  struct {
		SubjectFromWebIdentityToken string             `xml:"SubjectFromWebIdentityToken"`
		Audience                    string             `xml:"Audience"`
		AssumedRoleUser             assumedRoleUserXML `xml:"AssumedRoleUser"`
		Credentials                 credentialsXML     `xml:"Credentials"`
		Provider                    string             `xml:"Provider"`
		SourceIdentity              string             `xml:"SourceIdentity,omitempty"`
	} `xml:"AssumeRoleWithWebIdentityResult"`
	Metadata responseMetadata `xml:"ResponseMetadata"`
}

type assumeRoleResponse struct {
	XMLName xml.Name `xml:"AssumeRoleResponse"`
	Xmlns   string   `xml:"xmlns,attr"`
	Result  struct {
		AssumedRoleUser assumedRoleUserXML `xml:"AssumedRoleUser"`
		Credentials     credentialsXML     `xml:"Credentials"`
		SourceIdentity  string             `xml:"SourceIdentity,omitempty"`
	} `xml:"AssumeRoleResult"`
	Metadata responseMetadata `xml:"ResponseMetadata"`
}

type getCallerIdentityResponse struct {
	XMLName xml.Name `xml:"GetCallerIdentityResponse"`
	Xmlns   string   `xml:"xmlns,attr"`
	Result  struct {
		Arn     string `xml:"Arn"`
		UserID  string `xml:"UserId"`
		Account string `xml:"Account"`
	} `xml:"GetCallerIdentityResult"`
	Metadata responseMetadata `xml:"ResponseMetadata"`
}

type errorResponse struct {
	XMLName xml.Name `xml:"ErrorResponse"`
	Xmlns   string   `xml:"xmlns,attr"`
	Error   struct {
		Type    string `xml:"Type"`
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	} `xml:"Error"`
	RequestID string `xml:"RequestId"`
}

// stsTime formats a timestamp as STS does: RFC 3339, UTC, whole seconds.
func stsTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

func sessionCredentials(se *session) credentialsXML {
	return credentialsXML{AccessKeyID: se.id, SecretAccessKey: se.secret, SessionToken: se.token, Expiration: stsTime(se.expires)}
}

// writeXML writes v as an STS answer with the request-id header.
func writeXML(w http.ResponseWriter, status int, requestID string, v any) {
	var buf bytes.Buffer
	enc := xml.NewEncoder(&buf)
	enc.Indent("", "  ")
	if err := enc.Encode(v); err != nil {
		// Only our own structs are encoded; an error here is a bug. Answer a fixed body.
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`<ErrorResponse xmlns="` + stsNamespace + `"><Error><Type>Receiver</Type><Code>InternalFailure</Code><Message>encode response</Message></Error><RequestId>` + requestID + `</RequestId></ErrorResponse>`)
	}
	buf.WriteByte('\n')
	h := w.Header()
	h.Set("Content-Type", "text/xml")
	h.Set("x-amzn-RequestId", requestID)
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func writeError(w http.ResponseWriter, requestID string, e *apiError) {
	var resp errorResponse
	resp.Xmlns = stsNamespace
	resp.Error.Type = e.faultType()
	resp.Error.Code = e.code
	resp.Error.Message = e.message
	resp.RequestID = requestID
	writeXML(w, e.status, requestID, resp)
}
