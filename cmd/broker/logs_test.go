package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// messages returns the "msg" of each JSON line in out.
func messages(t *testing.T, out string) []string {
	t.Helper()
	var msgs []string
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if line == "" {
			continue
		}
		var m struct {
			Msg string `json:"msg"`
			TS  string `json:"ts"`
		}
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("line %q is not JSON: %v", line, err)
		}
		if _, err := time.Parse(time.RFC3339, m.TS); err != nil || len(m.TS) != len("2026-11-22T14:25:24.123Z") || !strings.HasSuffix(m.TS, "Z") {
			t.Errorf("ts = %q, want RFC 3339 in UTC with milliseconds (%v)", m.TS, err)
		}
		msgs = append(msgs, m.Msg)
	}
	return msgs
}

// TestLogsStderr: access lines wait in the buffer; an audit or operational
// line is written at once and takes them along, in order; close flushes.
func TestLogsStderr(t *testing.T) {
	stderr := &syncBuffer{}
	l, err := newLogs("stderr", stderr)
	if err != nil {
		t.Fatalf("newLogs() = %v", err)
	}
	l.access.Info("request 1")
	l.access.Info("request 2")
	if got := stderr.String(); got != "" {
		t.Fatalf("stderr after two access lines = %q, want nothing yet (buffered)", got)
	}
	l.audit.Info("credentials issued")
	want := []string{"request 1", "request 2", "credentials issued"}
	if diff := cmp.Diff(want, messages(t, stderr.String())); diff != "" {
		t.Fatalf("stderr after an audit line (-want +got):\n%s", diff)
	}
	l.access.Info("request 3")
	l.log.Warn("background refresh failed")
	want = append(want, "request 3", "background refresh failed")
	if diff := cmp.Diff(want, messages(t, stderr.String())); diff != "" {
		t.Fatalf("stderr after an operational line (-want +got):\n%s", diff)
	}
	l.access.Info("request 4")
	l.close()
	want = append(want, "request 4")
	if diff := cmp.Diff(want, messages(t, stderr.String())); diff != "" {
		t.Errorf("stderr after close (-want +got):\n%s", diff)
	}
}

// TestLogsAccessFlushedWithinInterval: a lone access line reaches stderr
// within the flush interval, without any other line.
func TestLogsAccessFlushedWithinInterval(t *testing.T) {
	stderr := &syncBuffer{}
	l, err := newLogs("stderr", stderr)
	if err != nil {
		t.Fatalf("newLogs() = %v", err)
	}
	defer l.close()
	start := time.Now()
	l.access.Info("request")
	for stderr.String() == "" {
		if time.Since(start) > accessLogFlush+2*time.Second {
			t.Fatalf("access line not written %s after logging it (flush interval %s)", time.Since(start), accessLogFlush)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if diff := cmp.Diff([]string{"request"}, messages(t, stderr.String())); diff != "" {
		t.Errorf("stderr (-want +got):\n%s", diff)
	}
}

// TestLogsAuditFile: with a file sink, audit lines are in the file as soon
// as they are logged, and none of them on stderr.
func TestLogsAuditFile(t *testing.T) {
	stderr := &syncBuffer{}
	path := filepath.Join(t.TempDir(), "audit.log")
	l, err := newLogs(path, stderr)
	if err != nil {
		t.Fatalf("newLogs() = %v", err)
	}
	l.audit.Info("credentials issued")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"credentials issued"}, messages(t, string(raw))); diff != "" {
		t.Errorf("audit file right after logging (-want +got):\n%s", diff)
	}
	l.access.Info("request")
	l.close()
	if diff := cmp.Diff([]string{"request"}, messages(t, stderr.String())); diff != "" {
		t.Errorf("stderr after close (-want +got):\n%s", diff)
	}

	if _, err := newLogs(filepath.Join(t.TempDir(), "missing", "audit.log"), stderr); err == nil || !strings.Contains(err.Error(), "audit.sink") {
		t.Errorf("newLogs(unopenable path) error = %v, want an audit.sink error", err)
	}
}

// writeRecorder records each write it is given; the first failFirst writes
// fail.
type writeRecorder struct {
	mu        sync.Mutex
	failFirst int
	writes    []string
}

func (w *writeRecorder) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.failFirst > 0 {
		w.failFirst--
		return 0, errors.New("write /dev/stderr: resource temporarily unavailable")
	}
	w.writes = append(w.writes, string(p))
	return len(p), nil
}

func (w *writeRecorder) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Join(w.writes, "")
}

// TestLogsSurviveAFailedWrite: a write that fails loses its own lines and
// no others; later audit lines still reach stderr.
func TestLogsSurviveAFailedWrite(t *testing.T) {
	stderr := &writeRecorder{failFirst: 1}
	l, err := newLogs("stderr", stderr)
	if err != nil {
		t.Fatalf("newLogs() = %v", err)
	}
	defer l.close()
	l.audit.Info("credentials issued 1") // fails
	l.audit.Info("credentials issued 2")
	l.access.Info("request 3")
	l.audit.Info("credentials issued 4")
	want := []string{"credentials issued 2", "request 3", "credentials issued 4"}
	if diff := cmp.Diff(want, messages(t, stderr.String())); diff != "" {
		t.Errorf("stderr after one failed write (-want +got):\n%s", diff)
	}
}

// TestLogsWritesArePipeAtomic: every write to stderr holds whole lines and
// at most PIPE_BUF bytes, so it cannot be interleaved on a shared pipe.
func TestLogsWritesArePipeAtomic(t *testing.T) {
	stderr := &writeRecorder{}
	l, err := newLogs("stderr", stderr)
	if err != nil {
		t.Fatalf("newLogs() = %v", err)
	}
	var want []string
	for i := range 40 {
		msg := fmt.Sprintf("request %d %s", i, strings.Repeat("x", 200))
		l.access.Info(msg)
		want = append(want, msg)
	}
	l.audit.Info("credentials issued")
	want = append(want, "credentials issued")
	l.close()
	if diff := cmp.Diff(want, messages(t, stderr.String())); diff != "" {
		t.Fatalf("stderr (-want +got):\n%s", diff)
	}
	stderr.mu.Lock()
	defer stderr.mu.Unlock()
	if len(stderr.writes) < 3 {
		t.Errorf("%d writes for 40 lines of 300 bytes, want the buffer to flush at %d bytes", len(stderr.writes), accessLogBuffer)
	}
	for i, w := range stderr.writes {
		if len(w) > 4096 || !strings.HasSuffix(w, "\n") {
			t.Errorf("write %d: %d bytes, ends %q; want at most 4096 bytes of whole lines", i, len(w), w[max(0, len(w)-5):])
		}
	}
}

// TestLogsAccessAfterClose: an access line logged after close (a request
// that outlived the shutdown) is written at once, not left in the buffer.
func TestLogsAccessAfterClose(t *testing.T) {
	stderr := &syncBuffer{}
	l, err := newLogs("stderr", stderr)
	if err != nil {
		t.Fatalf("newLogs() = %v", err)
	}
	l.close()
	l.access.Info("late request")
	if diff := cmp.Diff([]string{"late request"}, messages(t, stderr.String())); diff != "" {
		t.Errorf("stderr (-want +got):\n%s", diff)
	}
}
