package api

import (
	"context"
	"errors"
	"testing"
	"time"
)

type ctxKey struct{}

func TestRequestContextLazyTimer(t *testing.T) {
	parent := context.WithValue(t.Context(), ctxKey{}, "v")
	deadline := time.Now().Add(time.Hour)
	rc := newRequestContext(parent, deadline)
	if got := rc.Value(ctxKey{}); got != "v" {
		t.Errorf("Value = %v, want the parent's v", got)
	}
	if d, ok := rc.Deadline(); !ok || !d.Equal(deadline) {
		t.Errorf("Deadline = %v, %v, want %v, true", d, ok, deadline)
	}
	rc.mu.Lock()
	started := rc.ctx != nil
	rc.mu.Unlock()
	if started {
		t.Errorf("timer started by Value and Deadline, want only by Done or Err")
	}
	rc.release()
	select {
	case <-rc.Done():
	default:
		t.Errorf("Done after release = open, want closed")
	}
	if err := rc.Err(); !errors.Is(err, context.Canceled) {
		t.Errorf("Err after release = %v, want context.Canceled", err)
	}
}

func TestRequestContextDeadline(t *testing.T) {
	start := time.Now()
	rc := newRequestContext(t.Context(), start.Add(50*time.Millisecond))
	defer rc.release()
	child, cancel := context.WithCancel(rc) // how the SDK and http.Client derive theirs
	defer cancel()
	fired := make(chan struct{})
	stop := context.AfterFunc(rc, func() { close(fired) })
	defer stop()
	select {
	case <-child.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("child of the request context not done 5s after a 50ms deadline")
	}
	if took := time.Since(start); took < 50*time.Millisecond {
		t.Errorf("done after %v, before the 50ms deadline", took)
	}
	if err := rc.Err(); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Err = %v, want context.DeadlineExceeded", err)
	}
	if err := child.Err(); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("child Err = %v, want context.DeadlineExceeded", err)
	}
	select {
	case <-fired:
	case <-time.After(5 * time.Second):
		t.Error("AfterFunc did not run")
	}
}

func TestRequestContextParent(t *testing.T) {
	parent, cancelParent := context.WithTimeout(t.Context(), time.Minute)
	rc := newRequestContext(parent, time.Now().Add(time.Hour))
	defer rc.release()
	pd, _ := parent.Deadline()
	if d, _ := rc.Deadline(); !d.Equal(pd) {
		t.Errorf("Deadline = %v, want the parent's earlier %v", d, pd)
	}
	done := rc.Done()
	cancelParent()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("request context not done after its parent was cancelled")
	}
	if err := rc.Err(); !errors.Is(err, context.Canceled) {
		t.Errorf("Err = %v, want context.Canceled", err)
	}
}
