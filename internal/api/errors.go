package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/stsbroker/broker/internal/auth"
	"github.com/stsbroker/broker/internal/chain"
	"github.com/stsbroker/broker/internal/profile"
	"github.com/stsbroker/broker/internal/profile/policy"
)

// Error codes of the JSON error body. They are part of the external contract
// (design.md); the first three reuse RFC 6750's names.
const (
	codeInvalidRequest    = "invalid_request"
	codeInvalidToken      = "invalid_token"
	codeInsufficientScope = "insufficient_scope"
	codeUnknownProfile    = "unknown_profile"
	codeRateLimited       = "rate_limited"
	codeSTSRefused        = "sts_refused"
	codeSTSUnavailable    = "sts_unavailable"
	codeSTSTimeout        = "sts_timeout"
	codeIssuerUnavailable = "issuer_unavailable"
	codeNotFound          = "not_found"
	codeMethodNotAllowed  = "method_not_allowed"
	codeInternal          = "internal"
	// codeClientClosed and statusClientClosed (nginx's 499) record a
	// request whose client went away before the answer: nobody reads
	// them, but the access log and the request metrics do not count it as
	// the broker's failure.
	codeClientClosed   = "client_closed"
	statusClientClosed = 499
)

// apiError is what a client sees of a failure: Status, Code and Message are
// rendered; Err is the cause and goes only to the access log. Message is
// always built from typed fields, never from Err.Error(), so wrapped SDK or
// library text cannot leak into a response.
type apiError struct {
	Status     int
	Code       string
	Message    string
	RetryAfter int // seconds; sets Retry-After when > 0
	// Limit names the limit that refused the request (identity, global,
	// inflight, chains) for broker_rate_limited_total; "" for other errors.
	Limit string
	Err   error
}

func (e *apiError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("api: %d %s: %s: %v", e.Status, e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("api: %d %s: %s", e.Status, e.Code, e.Message)
}

func (e *apiError) Unwrap() error { return e.Err }

func badRequest(msg string) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: codeInvalidRequest, Message: msg}
}

// tokenMessages are the client sentences for each rejection reason.
var tokenMessages = map[string]string{
	auth.ReasonMissing:       "no bearer token in the Authorization header",
	auth.ReasonMalformed:     "token is malformed: not a compact JWS, or claims that do not decode",
	auth.ReasonNoSubject:     "token has no sub claim",
	auth.ReasonTooLarge:      "token is larger than this broker accepts",
	auth.ReasonUnknownIssuer: "token issuer is not trusted by this broker",
	auth.ReasonAlgorithm:     "token signing algorithm is not allowed",
	auth.ReasonSignature:     "token signature does not verify",
	auth.ReasonExpired:       "token expired",
	auth.ReasonNotYetValid:   "token is not valid yet",
	auth.ReasonAudience:      "token audience is not accepted",
}

// toAPIError maps a domain error to what the client sees. It is the only
// place in the broker that picks an HTTP status.
func toAPIError(err error) *apiError {
	var (
		ae *apiError
		rl *rateLimitError
		te *auth.TokenError
		ce *auth.ConditionError
		re *profile.RenderError
		he *chain.HopError
		am *chain.AmbientError
	)
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &rl):
		return rateLimited(rl, err)
	case errors.As(err, &te):
		if te.Reason == auth.ReasonIssuerDown {
			return &apiError{Status: http.StatusServiceUnavailable, Code: codeIssuerUnavailable,
				Message: "the token issuer's keys cannot be fetched; retry later", RetryAfter: 5, Err: err}
		}
		msg, ok := tokenMessages[te.Reason]
		if !ok {
			msg = "token rejected"
		}
		return &apiError{Status: http.StatusUnauthorized, Code: codeInvalidToken, Message: msg, Err: err}
	case errors.As(err, &ce):
		return &apiError{Status: http.StatusForbidden, Code: codeInsufficientScope,
			Message: fmt.Sprintf("condition %s on %s not met", ce.Operator, ce.Claim), Err: err}
	case errors.As(err, &re):
		msg := fmt.Sprintf("the token's claims do not fit %s", re.Field)
		switch {
		case re.ClaimMissing():
			msg = fmt.Sprintf("the token lacks a claim that %s needs", re.Field)
		case errors.Is(err, policy.ErrTooLong):
			// STS counts the hop's policy ARNs with its policy: say so, or
			// a policy shorter than the limit reads as a wrong refusal.
			with := ""
			if le, ok := errors.AsType[*policy.LengthError](err); ok && le.Managed > 0 {
				with = ", together with its policy_arns,"
			}
			msg = fmt.Sprintf("the token's claims make %s%s longer than the %d characters STS accepts", re.Field, with, policy.MaxLen)
		case errors.Is(err, policy.ErrCharset):
			msg = fmt.Sprintf("the token's claims put characters STS refuses (above U+00FF) into %s", re.Field)
		}
		return &apiError{Status: http.StatusForbidden, Code: codeInsufficientScope, Message: msg, Err: err}
	case errors.Is(err, chain.ErrTokenExpired):
		// Past exp but within the verifier's clock skew: STS would
		// refuse the token, so its chain did not start.
		return &apiError{Status: http.StatusUnauthorized, Code: codeInvalidToken, Message: tokenMessages[auth.ReasonExpired], Err: err}
	case errors.Is(err, profile.ErrUnknownProfile):
		return &apiError{Status: http.StatusNotFound, Code: codeUnknownProfile, Message: "unknown profile", Err: err}
	case errors.Is(err, errTooBusy):
		return &apiError{Status: http.StatusTooManyRequests, Code: codeRateLimited,
			Message: "too many requests in flight; retry shortly", RetryAfter: 1, Limit: limitInflight, Err: err}
	case errors.Is(err, chain.ErrBusy):
		return &apiError{Status: http.StatusTooManyRequests, Code: codeRateLimited,
			Message: "too many chains of STS calls waiting; retry shortly", RetryAfter: 1, Limit: limitChains, Err: err}
	case errors.As(err, &he):
		return hopError(he, err)
	case errors.As(err, &am):
		// The broker's own setup, not the caller's: transient to the
		// client (its credentials may appear: IMDS, a mounted file).
		msg := fmt.Sprintf("hop 1 (%s): the broker has no AWS credentials of its own to sign it", am.RoleARN)
		return &apiError{Status: http.StatusServiceUnavailable, Code: codeSTSUnavailable,
			Message: msg, RetryAfter: 5, Err: err}
	case errors.Is(err, context.DeadlineExceeded):
		return &apiError{Status: http.StatusGatewayTimeout, Code: codeSTSTimeout,
			Message: "no credentials from STS before the request deadline", Err: err}
	}
	return &apiError{Status: http.StatusInternalServerError, Code: codeInternal, Message: "internal error", Err: err}
}

// unknownProfile is the 404 for a profile name that passed the syntax check;
// the name is safe to echo because it passed validProfileName.
func unknownProfile(name string, err error) *apiError {
	return &apiError{Status: http.StatusNotFound, Code: codeUnknownProfile,
		Message: fmt.Sprintf("unknown profile %q", name), Err: err}
}

// rateLimited is the 429 of a token bucket; the message says which limit
// and when to retry.
func rateLimited(rl *rateLimitError, err error) *apiError {
	msg := fmt.Sprintf("too many requests from this identity; retry in %ds", rl.RetryAfter)
	if rl.Limit == limitGlobal {
		msg = fmt.Sprintf("the broker is at its request limit; retry in %ds", rl.RetryAfter)
	}
	return &apiError{Status: http.StatusTooManyRequests, Code: codeRateLimited,
		Message: msg, RetryAfter: rl.RetryAfter, Limit: rl.Limit, Err: err}
}

func hopError(he *chain.HopError, err error) *apiError {
	code := he.Code
	if code == "" {
		code = "no answer"
	}
	where := fmt.Sprintf("hop %d (%s)", he.Hop, he.RoleARN)
	switch he.Kind {
	case chain.Timeout:
		return &apiError{Status: http.StatusGatewayTimeout, Code: codeSTSTimeout,
			Message: where + ": no answer from STS before the request deadline", Err: err}
	case chain.Unavailable:
		return &apiError{Status: http.StatusServiceUnavailable, Code: codeSTSUnavailable,
			Message: where + ": " + code, RetryAfter: 5, Err: err}
	default:
		return &apiError{Status: http.StatusBadGateway, Code: codeSTSRefused,
			Message: where + ": " + code, Err: err}
	}
}

// errorBody is the JSON error of design.md. On /v1/container it also
// carries the code as "code": the AWS SDKs read {"code","message"} from a
// container-credentials endpoint (wire-facts §2.5), and the Go SDK's error
// would otherwise show an empty code.
type errorBody struct {
	Error   string `json:"error"`
	Code    string `json:"code,omitempty"`
	Message string `json:"message"`
}

// requestError is toAPIError for err, the failure of r; except that a
// failure caused by r's client going away (a wait for STS, for an issuer's
// keys, for a slot, cut by the request's cancellation) is 499
// client_closed: nobody reads the answer, and it is no failure of the
// broker's. A refusal decided on its own (a condition, STS's answer) keeps
// its status and reason even if the client left meanwhile: the audit line
// says why it was refused.
func requestError(r *http.Request, err error) *apiError {
	if errors.Is(err, context.Canceled) && errors.Is(r.Context().Err(), context.Canceled) {
		return &apiError{Status: statusClientClosed, Code: codeClientClosed,
			Message: "the client closed the request", Err: err}
	}
	return toAPIError(err)
}

// writeError renders err and attaches it to the request's access-log record.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	ae := requestError(r, err)
	if rec := recordFrom(r.Context()); rec != nil {
		rec.code = ae.Code
		rec.err = err
	}
	h := w.Header()
	if ae.Code == codeInvalidToken {
		h.Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	}
	if ae.Code == codeInsufficientScope {
		h.Set("WWW-Authenticate", `Bearer error="insufficient_scope"`)
	}
	if ae.Limit != "" {
		s.metrics.rateLimited.WithLabelValues(ae.Limit).Inc()
	}
	if ae.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(ae.RetryAfter))
	}
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(ae.Status)
	body := errorBody{Error: ae.Code, Message: ae.Message}
	if strings.HasPrefix(r.URL.Path, "/v1/container/") {
		body.Code = ae.Code
	}
	_ = json.NewEncoder(w).Encode(body)
}
