package ststest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

func TestFaults(t *testing.T) {
	const action = "AssumeRoleWithWebIdentity"
	tests := []struct {
		name         string
		fault        Fault
		faultAction  string
		wantCode     string // "" = the call succeeds
		wantStatus   int
		wantCalls    int
		wantOutcomes map[string]int
	}{
		{
			name: "throttling-until-cleared", fault: Fault{Code: "Throttling"}, faultAction: action,
			wantCode: "Throttling", wantStatus: 400, wantCalls: 3, wantOutcomes: map[string]int{"Throttling": 3},
		},
		{
			name: "throttling-twice-then-ok", fault: Fault{Code: "Throttling", Times: 2}, faultAction: action,
			wantCalls: 3, wantOutcomes: map[string]int{"Throttling": 2, OutcomeOK: 1},
		},
		{
			name: "service-unavailable", fault: Fault{Status: 503}, faultAction: "",
			wantCode: "ServiceUnavailable", wantStatus: 503, wantCalls: 3, wantOutcomes: map[string]int{"ServiceUnavailable": 3},
		},
		{
			name: "internal-failure-once", fault: Fault{Status: 500, Times: 1}, faultAction: action,
			wantCalls: 2, wantOutcomes: map[string]int{"InternalFailure": 1, OutcomeOK: 1},
		},
		{
			name: "idp-communication-error-retried", fault: Fault{Code: "IDPCommunicationError"}, faultAction: action,
			wantCode: "IDPCommunicationError", wantStatus: 400, wantCalls: 3, wantOutcomes: map[string]int{"IDPCommunicationError": 3},
		},
		{
			name: "access-denied-not-retried", fault: Fault{Code: "AccessDenied"}, faultAction: action,
			wantCode: "AccessDenied", wantStatus: 403, wantCalls: 1, wantOutcomes: map[string]int{"AccessDenied": 1},
		},
		{
			name: "other-action-unaffected", fault: Fault{Code: "Throttling"}, faultAction: "AssumeRole",
			wantCalls: 1, wantOutcomes: map[string]int{OutcomeOK: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newSeedEnv(t)
			e.srv.InjectFault(tt.faultAction, tt.fault)
			err := e.arwwi(t, e.iss.mint(t, e.iss.claims()), nil)
			if tt.wantCode == "" {
				if err != nil {
					t.Fatalf("AssumeRoleWithWebIdentity() = %v, want success", err)
				}
			} else {
				if err == nil {
					t.Fatalf("AssumeRoleWithWebIdentity() succeeded, want %s", tt.wantCode)
				}
				if code, _, status := apiErrorOf(t, err); code != tt.wantCode || status != tt.wantStatus {
					t.Errorf("error = %s (HTTP %d), want %s (HTTP %d)", code, status, tt.wantCode, tt.wantStatus)
				}
			}
			if got := e.srv.Calls(action); got != tt.wantCalls {
				t.Errorf("Calls() = %d, want %d", got, tt.wantCalls)
			}
			for outcome, want := range tt.wantOutcomes {
				if got := e.srv.CallsByOutcome(action, outcome); got != want {
					t.Errorf("CallsByOutcome(%q) = %d, want %d", outcome, got, want)
				}
			}
			e.srv.ClearFaults()
			if err := e.arwwi(t, e.iss.mint(t, e.iss.claims()), nil); err != nil {
				t.Errorf("AssumeRoleWithWebIdentity() after ClearFaults = %v", err)
			}
		})
	}
}

func TestFaultDrop(t *testing.T) {
	e := newSeedEnv(t)
	e.srv.InjectFault("", Fault{Drop: true})
	err := e.arwwi(t, e.iss.mint(t, e.iss.claims()), nil)
	if err == nil {
		t.Fatal("AssumeRoleWithWebIdentity() succeeded, want a transport error")
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		t.Errorf("error = API error %s, want a transport error", ae.ErrorCode())
	}
	if got := e.srv.CallsByOutcome("AssumeRoleWithWebIdentity", OutcomeDropped); got != 3 {
		t.Errorf("CallsByOutcome(Dropped) = %d, want 3 (SDK retries)", got)
	}
}

func TestFaultLatencyHonoursDeadline(t *testing.T) {
	e := newSeedEnv(t)
	e.srv.InjectFault("GetCallerIdentity", Fault{Latency: 10 * time.Second})
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := e.client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}, withCreds("AKIAAAAAAAAAAAAAAAAA", "s", ""))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("GetCallerIdentity() = %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("GetCallerIdentity() took %v, want about 200ms", d)
	}
	deadline := time.Now().Add(5 * time.Second)
	for e.srv.CallsByOutcome("GetCallerIdentity", OutcomeCanceled) != 1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := e.srv.CallsByOutcome("GetCallerIdentity", OutcomeCanceled); got != 1 {
		t.Errorf("CallsByOutcome(Canceled) = %d, want 1", got)
	}
}

func TestFaultLatencyThenAnswer(t *testing.T) {
	e := newSeedEnv(t)
	e.srv.InjectFault("AssumeRoleWithWebIdentity", Fault{Latency: 100 * time.Millisecond, Times: 1})
	start := time.Now()
	if err := e.arwwi(t, e.iss.mint(t, e.iss.claims()), nil); err != nil {
		t.Fatalf("AssumeRoleWithWebIdentity() = %v", err)
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("call took %v, want >= 100ms", d)
	}
}

func TestCloseAbortsLatency(t *testing.T) {
	srv, err := NewServer(Options{})
	if err != nil {
		t.Fatalf("NewServer() = %v", err)
	}
	srv.InjectFault("", Fault{Latency: time.Minute})
	done := make(chan error, 1)
	go func() {
		_, err := newClient(srv).GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{},
			func(o *sts.Options) { o.RetryMaxAttempts = 1; o.Credentials = aws.AnonymousCredentials{} })
		done <- err
	}()
	time.Sleep(200 * time.Millisecond) // let the request reach the latency wait
	start := time.Now()
	srv.Close()
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Close() took %v, want prompt", d)
	}
	select {
	case err := <-done:
		if err == nil {
			t.Errorf("GetCallerIdentity() succeeded after Close, want an error")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("GetCallerIdentity() still blocked after Close")
	}
	srv.Close() // idempotent
}
