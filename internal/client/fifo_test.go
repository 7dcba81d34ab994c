//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package client

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// mkfifo makes a named pipe in a temporary directory. At cleanup it opens
// the pipe for writing without blocking and closes it, which ends a reader
// still waiting for a writer (the goroutine FileSource leaves behind).
func mkfifo(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "token")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Fatalf("Mkfifo(%s) error = %v", p, err)
	}
	t.Cleanup(func() {
		if f, err := os.OpenFile(p, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
	})
	return p
}

// --timeout covers the token file: a named pipe nobody writes to blocks
// open(2) forever, and the call must still end at its deadline, transient,
// without asking the broker.
func TestRunTokenFIFOWithoutWriterTimesOut(t *testing.T) {
	b := startBroker(t, answer{status: 200, body: okBody})
	fifo := mkfifo(t)
	type result struct {
		exit           int
		stdout, stderr string
	}
	done := make(chan result, 1)
	go func() {
		exit, stdout, stderr := runClient(t, Config{URL: b.srv.URL, Profile: "prod-deploy", Source: FileSource{Path: fifo}, Timeout: 200 * time.Millisecond})
		done <- result{exit, stdout, stderr}
	}()
	var r result
	select {
	case r = <-done:
	case <-time.After(5 * time.Second):
		t.Fatalf("Run() still blocked after 5s, want it to end at its 200ms timeout")
	}
	if want := "broker: token source: no token within 200ms\n"; r.exit != ExitTransient || r.stdout != "" || r.stderr != want {
		t.Errorf("Run() = %d, stdout %q, stderr %q; want %d, empty, %q", r.exit, r.stdout, r.stderr, ExitTransient, want)
	}
	if got := len(b.requests()); got != 0 {
		t.Errorf("broker got %d requests, want 0", got)
	}
}

// A pipe that does get a writer (a FIFO, or a shell's <(…) process
// substitution) still gives its token.
func TestFileSourceReadsFIFO(t *testing.T) {
	fifo := mkfifo(t)
	go func() {
		f, err := os.OpenFile(fifo, os.O_WRONLY, 0) // blocks until Token opens it
		if err != nil {
			return
		}
		defer f.Close()
		_, _ = f.WriteString(callerJWT + "\n")
	}()
	got, err := FileSource{Path: fifo}.Token(t.Context())
	if err != nil || got != callerJWT {
		t.Errorf("Token() = %q, %v; want the token, nil", got, err)
	}
}
