package main

import (
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// accessLogBuffer and accessLogFlush bound how long access-log lines wait:
// until this much is pending, a second has passed, another line is written
// through, or serve exits. The size is PIPE_BUF on Linux: a flush is one
// atomic write to a pipe, so another writer on the same pipe (an audit sink
// on stdout with 2>&1) cannot land inside one of our lines.
const (
	accessLogBuffer = 4096
	accessLogFlush  = time.Second
)

// logs are serve's loggers. Everything written to stderr goes through one
// buffer under one lock, so lines never interleave. Access-log lines (one a
// request) wait in the buffer; every other line, operational or audit, is
// written through at once and takes the waiting access lines with it. An
// audit line therefore reaches its sink before the answer it records is
// sent, and a hit costs one write to stderr instead of two.
type logs struct {
	log    *zap.Logger // operational: written through
	access *zap.Logger // one line a request: buffered
	audit  *zap.Logger // written through, to audit.sink
	close  func()
	// auditErrors counts audit lines a file or stdout sink failed to take
	// (broker_audit_write_errors_total). A stderr sink shares stderrSink,
	// which drops failed lines unseen, as for every other line there.
	auditErrors atomic.Int64
}

// newLogs opens the sinks: stderr for the operational and access logs, and
// auditSink ("stderr", "stdout" or a file path, appended, created 0600).
func newLogs(auditSink string, stderr io.Writer) (*logs, error) {
	buf := &zapcore.BufferedWriteSyncer{WS: stderrSink{stderr}, Size: accessLogBuffer, FlushInterval: accessLogFlush}
	through := writeThrough{buf}
	access := &accessSink{buf: buf}
	stop := func() {
		access.closed.Store(true)
		_ = buf.Stop()
	}
	l := &logs{
		log:    newLoggerTo(through),
		access: newLoggerTo(access),
		close:  stop,
	}
	switch auditSink {
	case "", "stderr":
		l.audit = newLoggerTo(through).Named("audit")
	case "stdout":
		l.audit = l.auditLogger(os.Stdout)
	default:
		f, err := os.OpenFile(auditSink, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			l.close()
			return nil, fmt.Errorf("audit.sink: %w", err)
		}
		l.audit = l.auditLogger(f)
		l.close = func() { stop(); _ = f.Close() }
	}
	return l, nil
}

// auditLogger is the audit logger on w, a file or stdout. A line that w
// does not take (a full disk, a closed pipe) is counted and reported on the
// operational log as JSON, instead of zap's plain-text note on stderr: the
// credentials it records were issued all the same.
func (l *logs) auditLogger(w io.Writer) *zap.Logger {
	ws := failedWrites{WriteSyncer: zapcore.Lock(zapcore.AddSync(w)), failed: func(err error) {
		l.auditErrors.Add(1)
		l.log.Error("audit line not written; the request was answered without its audit record", zap.Error(err))
	}}
	return newLoggerTo(ws, zap.ErrorOutput(zapcore.AddSync(io.Discard))).Named("audit")
}

// failedWrites reports each failed Write of its WriteSyncer to failed.
type failedWrites struct {
	zapcore.WriteSyncer
	failed func(error)
}

func (f failedWrites) Write(p []byte) (int, error) {
	n, err := f.WriteSyncer.Write(p)
	if err != nil {
		f.failed(err)
	}
	return n, err
}

// newLogger returns the JSON logger of `serve` and `dev`, written to w as
// lines come.
func newLogger(w io.Writer) *zap.Logger {
	return newLoggerTo(zapcore.Lock(zapcore.AddSync(w)))
}

// logTime is the layout of times in logs (ts, and time fields such as an
// audit line's expiration): RFC 3339 in UTC with milliseconds,
// "2026-11-22T14:25:24.123Z". Fixed width, so lines sort by time as text.
const logTime = "2006-01-02T15:04:05.000Z07:00"

// newLoggerTo returns a JSON logger on ws.
func newLoggerTo(ws zapcore.WriteSyncer, opts ...zap.Option) *zap.Logger {
	enc := zap.NewProductionEncoderConfig()
	layout := zapcore.TimeEncoderOfLayout(logTime)
	enc.EncodeTime = func(t time.Time, e zapcore.PrimitiveArrayEncoder) { layout(t.UTC(), e) }
	return zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(enc), ws, zap.InfoLevel), opts...)
}

// writeThrough writes a line into the shared buffer and flushes it.
type writeThrough struct{ buf *zapcore.BufferedWriteSyncer }

func (w writeThrough) Write(p []byte) (int, error) {
	n, err := w.buf.Write(p)
	if err != nil {
		return n, err
	}
	return n, w.buf.Sync()
}

func (w writeThrough) Sync() error { return w.buf.Sync() }

// accessSink buffers access lines until close, and writes them through
// after it: a request that outlives the shutdown still gets its line.
type accessSink struct {
	buf    *zapcore.BufferedWriteSyncer
	closed atomic.Bool
}

func (a *accessSink) Write(p []byte) (int, error) {
	n, err := a.buf.Write(p)
	if err == nil && a.closed.Load() {
		err = a.buf.Sync()
	}
	return n, err
}

func (a *accessSink) Sync() error { return a.buf.Sync() }

// stderrSink is stderr behind the buffer. A failed write loses its lines,
// as it did before there was a buffer, and is not reported to the buffer:
// bufio.Writer keeps its first error and fails every later write, so one
// transient failure (EAGAIN, EPIPE while a log collector restarts) would
// silence every line after it, audit lines included. Its Sync does nothing:
// the buffer's Sync is a flush, never an fsync of whatever stderr is.
type stderrSink struct{ w io.Writer }

func (s stderrSink) Write(p []byte) (int, error) {
	_, _ = s.w.Write(p)
	return len(p), nil
}

func (stderrSink) Sync() error { return nil }
