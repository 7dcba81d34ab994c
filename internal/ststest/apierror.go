package ststest

import (
	"fmt"
	"net/http"
	"strings"
)

// apiError is an STS error answer: HTTP status, code and message. The message never holds
// a secret (secret key, session token, ExternalId, web identity token).
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return "ststest: " + e.code + ": " + e.message }

func (e *apiError) faultType() string {
	if e.status >= 500 {
		return "Receiver"
	}
	return "Sender"
}

func newError(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

// Messages as AWS words them.
const (
	msgInvalidClientTokenID  = "The security token included in the request is invalid."
	msgExpiredToken          = "The security token included in the request is expired"
	msgSignatureDoesNotMatch = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	msgMissingAuth           = "Request is missing Authentication Token"
	msgNotJWT                = "The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)"
	msgNoVerificationKey     = "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements"
	msgChainingLimit         = "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."
	msgMaxSessionDuration    = "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
)

func errAccessDenied(format string, args ...any) *apiError {
	return newError(http.StatusForbidden, "AccessDenied", format, args...)
}

func errValidation(format string, args ...any) *apiError {
	return newError(http.StatusBadRequest, "ValidationError", format, args...)
}

func errInvalidIdentityToken(format string, args ...any) *apiError {
	return newError(http.StatusBadRequest, "InvalidIdentityToken", format, args...)
}

func errInvalidClientTokenID() *apiError {
	return newError(http.StatusForbidden, "InvalidClientTokenId", msgInvalidClientTokenID)
}

func errSignatureDoesNotMatch(msg string) *apiError {
	return newError(http.StatusForbidden, "SignatureDoesNotMatch", "%s", msg)
}

func errIncompleteSignature(format string, args ...any) *apiError {
	return newError(http.StatusBadRequest, "IncompleteSignature", format, args...)
}

// validationErrors formats AWS's "N validation error(s) detected: a; b".
func validationErrors(problems []string) *apiError {
	noun := "errors"
	if len(problems) == 1 {
		noun = "error"
	}
	return errValidation("%d validation %s detected: %s", len(problems), noun, strings.Join(problems, "; "))
}

// faultError is the answer for an injected fault with a code or a status.
func faultError(f Fault) *apiError {
	if f.Code != "" {
		status := http.StatusBadRequest
		switch f.Code {
		case "AccessDenied", "IDPRejectedClaim", "RegionDisabledException", "ExpiredToken",
			"InvalidClientTokenId", "SignatureDoesNotMatch", "MissingAuthenticationToken":
			status = http.StatusForbidden
		case "InternalFailure", "InternalError":
			status = http.StatusInternalServerError
		case "ServiceUnavailable":
			status = http.StatusServiceUnavailable
		}
		if f.Status != 0 {
			status = f.Status
		}
		msg := "Injected fault"
		if f.Code == "Throttling" {
			msg = "Rate exceeded"
		}
		if f.Message != "" {
			msg = f.Message
		}
		return &apiError{status: status, code: f.Code, message: msg}
	}
	switch f.Status {
	case http.StatusServiceUnavailable:
		return &apiError{status: f.Status, code: "ServiceUnavailable", message: "Service is unable to handle request."}
	case 0:
		return nil
	default:
		if f.Status >= 500 {
			return &apiError{status: f.Status, code: "InternalFailure", message: "The request processing has failed because of an unknown error, exception or failure."}
		}
		return &apiError{status: f.Status, code: "InvalidRequest", message: "Injected fault"}
	}
}
