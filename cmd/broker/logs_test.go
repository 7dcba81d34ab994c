package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
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
		if _, err := time.Parse(time.RFC3339Nano, m.TS); err != nil || !strings.HasSuffix(m.TS, "Z") {
			t.Errorf("ts = %q, want RFC 3339 in UTC (%v)", m.TS, err)
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
