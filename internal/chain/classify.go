package chain

import (
	"context"
	"errors"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
)

// unavailableCodes are STS answers that say "not now" rather than "no": the
// SDK retried them and gave up (wire-facts §4.6).
var unavailableCodes = map[string]bool{
	"Throttling":            true,
	"ThrottlingException":   true,
	"RequestLimitExceeded":  true,
	"IDPCommunicationError": true,
	"InternalFailure":       true,
	"ServiceUnavailable":    true,
}

// evictingCodes are STS refusals that mean cached credentials of the plan are
// no longer to be trusted: the identity was rejected (design.md: AccessDenied,
// InvalidIdentityToken, ExpiredToken). An InvalidIdentityToken that says STS
// could not fetch the issuer's keys is no refusal (see classify).
//
// ExpiredTokenException is not one of them: AssumeRoleWithWebIdentity says
// so when the one caller's token that a fill used has expired (the verifier
// allows a few seconds of skew past exp), which says nothing about the
// identity's other tokens or about the credentials they share. The request
// fails; a refresh keeps the entry (stale) for the next caller's token.
var evictingCodes = map[string]bool{
	"AccessDenied":         true,
	"InvalidIdentityToken": true,
	"ExpiredToken":         true,
	"IDPRejectedClaim":     true,
}

// knownCodes are the STS error codes reported as themselves in the
// Observe outcome (a metrics label): the codes above and the other client
// errors STS documents or sends (wire-facts §4.6). Anything else, from an
// sts_endpoint that is not STS, is reported as "other" so that the label
// stays a bounded set; the HopError keeps the real code.
var knownCodes = func() map[string]bool {
	m := map[string]bool{
		"ExpiredTokenException":      true,
		"InvalidClientTokenId":       true,
		"MalformedPolicyDocument":    true,
		"PackedPolicyTooLarge":       true,
		"RegionDisabledException":    true,
		"ValidationError":            true,
		"InvalidParameterValue":      true,
		"SignatureDoesNotMatch":      true,
		"IncompleteSignature":        true,
		"MissingAuthenticationToken": true,
		"RequestExpired":             true,
		"InvalidAction":              true,
		"OptInRequired":              true,
	}
	for c := range unavailableCodes {
		m[c] = true
	}
	for c := range evictingCodes {
		m[c] = true
	}
	return m
}()

// outcomeLabel is the Observe outcome of a failed call with STS error code
// code: the code when known, "other" for an unknown one, "error" when no
// answer came ("").
func outcomeLabel(code string) string {
	switch {
	case code == "":
		return "error"
	case knownCodes[code]:
		return code
	}
	return "other"
}

// classify turns an error of the STS call of hop i (0-based) into a
// *HopError. ctx is the call's context: a deadline that passed makes the
// failure a Timeout whatever the SDK wrapped around it.
func classify(ctx context.Context, err error, i int, hop Hop, action string) *HopError {
	he := &HopError{Hop: i + 1, RoleARN: hop.RoleARN, Action: action, Err: err}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		he.Code = apiErr.ErrorCode()
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded):
		he.Kind = Timeout
	case he.Code == "":
		// No answer: connection refused or reset, cancelled, or a body
		// the SDK could not read.
		he.Kind = Unavailable
	case he.Code == "InvalidIdentityToken" && strings.HasPrefix(apiErr.ErrorMessage(), noVerificationKey):
		// STS could not fetch the issuer's keys (wire-facts §4.5): its
		// trouble reaching the issuer, as IDPCommunicationError is, not
		// a verdict on the token, which the broker verified against
		// those keys. Not evicting: what is cached stays served.
		he.Kind = Unavailable
	case unavailableCodes[he.Code] || serverFault(err) ||
		retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err) == aws.TrueTernary:
		he.Kind = Unavailable
	default:
		he.Kind = Refused
	}
	return he
}

// serverFault reports whether STS answered with a 5xx status.
func serverFault(err error) bool {
	var re *awshttp.ResponseError
	return errors.As(err, &re) && re.HTTPStatusCode() >= 500
}

// noVerificationKey starts STS's message for an InvalidIdentityToken that
// is its failure to fetch the issuer's keys.
const noVerificationKey = "Couldn't retrieve verification key"

// evicts reports whether err is an STS refusal that must drop the plan's
// cached credentials.
func evicts(err error) bool {
	var he *HopError
	return errors.As(err, &he) && he.Kind == Refused && evictingCodes[he.Code]
}

// callerToken reports whether err is the one caller's web identity token a
// chain used being refused: by STS (ExpiredTokenException, see
// evictingCodes), or before STS was asked (ErrTokenExpired). Another token
// of the identity may succeed at once.
func callerToken(err error) bool {
	if errors.Is(err, ErrTokenExpired) {
		return true
	}
	var he *HopError
	return errors.As(err, &he) && he.Action == actionWebIdentity && he.Code == "ExpiredTokenException"
}

// transient reports whether err may go away on its own (Unavailable or
// Timeout); such errors are never cached.
func transient(err error) bool {
	var he *HopError
	return errors.As(err, &he) && he.Kind != Refused
}
