package chain

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// sdkError wraps an STS error answer the way the SDK's operation stack does.
func sdkError(status int, code string) error {
	resp := &smithyhttp.Response{Response: &http.Response{StatusCode: status}}
	return &smithy.OperationError{
		ServiceID:     "STS",
		OperationName: "AssumeRole",
		Err: &awshttp.ResponseError{
			ResponseError: &smithyhttp.ResponseError{
				Response: resp,
				Err:      &smithy.GenericAPIError{Code: code, Message: "message"},
			},
			RequestID: "req-1",
		},
	}
}

func TestClassify(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	expired, cancel := context.WithDeadline(context.Background(), time.Unix(1, 0))
	defer cancel()
	tests := []struct {
		name      string
		ctx       context.Context
		err       error
		wantCode  string
		wantKind  ErrorKind
		wantEvict bool
	}{
		{name: "access-denied", err: sdkError(403, "AccessDenied"), wantCode: "AccessDenied", wantKind: Refused, wantEvict: true},
		{name: "validation-error", err: sdkError(400, "ValidationError"), wantCode: "ValidationError", wantKind: Refused},
		{name: "invalid-identity-token", err: sdkError(400, "InvalidIdentityToken"), wantCode: "InvalidIdentityToken", wantKind: Refused, wantEvict: true},
		{name: "expired-token-exception", err: sdkError(400, "ExpiredTokenException"), wantCode: "ExpiredTokenException", wantKind: Refused, wantEvict: false},
		{name: "expired-token", err: sdkError(403, "ExpiredToken"), wantCode: "ExpiredToken", wantKind: Refused, wantEvict: true},
		{name: "idp-rejected-claim", err: sdkError(403, "IDPRejectedClaim"), wantCode: "IDPRejectedClaim", wantKind: Refused, wantEvict: true},
		{name: "throttling", err: sdkError(400, "Throttling"), wantCode: "Throttling", wantKind: Unavailable},
		{name: "idp-communication-error", err: sdkError(400, "IDPCommunicationError"), wantCode: "IDPCommunicationError", wantKind: Unavailable},
		{name: "request-limit-exceeded", err: sdkError(400, "RequestLimitExceeded"), wantCode: "RequestLimitExceeded", wantKind: Unavailable},
		{name: "server-fault-any-code", err: sdkError(502, "BadGateway"), wantCode: "BadGateway", wantKind: Unavailable},
		{name: "sdk-retryable-code", err: sdkError(400, "RequestTimeoutException"), wantCode: "RequestTimeoutException", wantKind: Unavailable},
		{name: "after-max-attempts", err: &retry.MaxAttemptsError{Attempt: 3, Err: sdkError(503, "ServiceUnavailable")}, wantCode: "ServiceUnavailable", wantKind: Unavailable},
		{name: "connection-refused", err: fmt.Errorf("send request: %w", refused), wantCode: "", wantKind: Unavailable},
		{name: "deadline-in-error", err: fmt.Errorf("operation error: %w", context.DeadlineExceeded), wantCode: "", wantKind: Timeout},
		{name: "deadline-in-ctx", ctx: expired, err: errors.New("request canceled"), wantCode: "", wantKind: Timeout},
		{name: "cancelled", err: fmt.Errorf("operation error: %w", context.Canceled), wantCode: "", wantKind: Unavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := tt.ctx
			if ctx == nil {
				ctx = t.Context()
			}
			hop := Hop{RoleARN: "arn:aws:iam::222222222222:role/target"}
			got := classify(ctx, tt.err, 1, hop, actionAssumeRole)
			if got.Code != tt.wantCode || got.Kind != tt.wantKind {
				t.Errorf("classify() = code %q kind %d, want code %q kind %d", got.Code, got.Kind, tt.wantCode, tt.wantKind)
			}
			if got.Hop != 2 || got.RoleARN != hop.RoleARN || got.Action != actionAssumeRole {
				t.Errorf("classify() = hop %d role %q action %q, want hop 2 role %q action %q", got.Hop, got.RoleARN, got.Action, hop.RoleARN, actionAssumeRole)
			}
			if !errors.Is(got, tt.err) {
				t.Errorf("classify() does not wrap the SDK error")
			}
			if e := evicts(got); e != tt.wantEvict {
				t.Errorf("evicts() = %v, want %v", e, tt.wantEvict)
			}
			if tr := transient(got); tr != (tt.wantKind != Refused) {
				t.Errorf("transient() = %v, want %v", tr, tt.wantKind != Refused)
			}
		})
	}
}

func TestHopErrorMessage(t *testing.T) {
	he := classify(t.Context(), sdkError(403, "AccessDenied"), 1, Hop{RoleARN: "arn:aws:iam::222222222222:role/target"}, actionAssumeRole)
	want := "chain: hop 2 (arn:aws:iam::222222222222:role/target): AccessDenied: operation error STS: AssumeRole, https response error StatusCode: 403, RequestID: req-1, api error AccessDenied: message"
	if got := he.Error(); got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
