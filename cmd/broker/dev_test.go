package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/stsbroker/broker/internal/oidctest"
)

// TestDevTokenRewriteRecovers: a failed rewrite of the dev token (its
// directory removed) is logged and tried again, and rewriting resumes once
// the directory is back, instead of stopping for good while dev serves on.
func TestDevTokenRewriteRecovers(t *testing.T) {
	issuer := oidctest.Start(t, oidctest.Options{})
	dir := filepath.Join(t.TempDir(), "dev")
	path := filepath.Join(dir, "token")
	core, logs := observer.New(zapcore.InfoLevel)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- refreshDevToken(ctx, issuer, path, 20*time.Millisecond, zap.New(core)) }()

	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("waited 5s for %s; logs: %v", what, logs.All())
			}
		}
	}
	waitFor("a failed rewrite logged", func() bool {
		return logs.FilterMessage("cannot rewrite the dev token; retrying").Len() > 0
	})
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	waitFor("the token rewritten again", func() bool {
		_, err := os.Stat(path)
		return err == nil && logs.FilterMessage("dev token rewritten again").Len() == 1
	})
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("refreshDevToken() = %v, want %v", err, context.Canceled)
	}
}
