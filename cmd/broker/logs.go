package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// accessLogBuffer and accessLogFlush bound how long access-log lines wait:
// until this much is pending, a second has passed, another line is written
// through, or serve exits.
const (
	accessLogBuffer = 256 << 10
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
}

// newLogs opens the sinks: stderr for the operational and access logs, and
// auditSink ("stderr", "stdout" or a file path, appended, created 0600).
func newLogs(auditSink string, stderr io.Writer) (*logs, error) {
	buf := &zapcore.BufferedWriteSyncer{WS: flushOnly{stderr}, Size: accessLogBuffer, FlushInterval: accessLogFlush}
	through := writeThrough{buf}
	l := &logs{
		log:    newLoggerTo(through),
		access: newLoggerTo(buf),
		close:  func() { _ = buf.Stop() },
	}
	switch auditSink {
	case "", "stderr":
		l.audit = newLoggerTo(through).Named("audit")
	case "stdout":
		l.audit = newLogger(os.Stdout).Named("audit")
	default:
		f, err := os.OpenFile(auditSink, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			l.close()
			return nil, fmt.Errorf("audit.sink: %w", err)
		}
		l.audit = newLogger(f).Named("audit")
		l.close = func() { _ = buf.Stop(); _ = f.Close() }
	}
	return l, nil
}

// newLogger returns the JSON logger of `serve` and `dev`, written to w as
// lines come.
func newLogger(w io.Writer) *zap.Logger {
	return newLoggerTo(zapcore.Lock(zapcore.AddSync(w)))
}

// newLoggerTo returns a JSON logger on ws. Times (ts, and time fields such
// as an audit line's expiration) are RFC 3339 in UTC with the fraction of a
// second the clock gives, "2026-11-22T14:25:24.123456789Z": the form of the
// API's Expiration, and one Go formats without parsing a layout.
func newLoggerTo(ws zapcore.WriteSyncer) *zap.Logger {
	enc := zap.NewProductionEncoderConfig()
	enc.EncodeTime = func(t time.Time, e zapcore.PrimitiveArrayEncoder) {
		zapcore.RFC3339NanoTimeEncoder(t.UTC(), e)
	}
	return zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(enc), ws, zap.InfoLevel))
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

// flushOnly is stderr as the buffer's destination. Its Sync does nothing:
// the buffer's Sync is a flush, never an fsync of whatever stderr is.
type flushOnly struct{ io.Writer }

func (flushOnly) Sync() error { return nil }
