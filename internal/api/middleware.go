package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"go.uber.org/zap"
)

// record collects what the access log says about one request. Handlers fill
// it through recordFrom; the access-log middleware writes it once.
type record struct {
	requestID string
	profile   string
	issuer    string
	subject   string
	cache     string
	code      string
	err       error
}

type recordKey struct{}

func recordFrom(ctx context.Context) *record {
	rec, _ := ctx.Value(recordKey{}).(*record)
	return rec
}

// statusWriter remembers the status code for the access log and metrics.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// observe is the outermost middleware: it assigns the request id, recovers
// panics, and writes exactly one access-log line and the request metrics.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := s.now()
		rec := &record{requestID: newRequestID()}
		sw := &statusWriter{ResponseWriter: w}
		sw.Header().Set("X-Request-Id", rec.requestID)
		r = r.WithContext(context.WithValue(r.Context(), recordKey{}, rec))

		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.writeError(sw, r, fmt.Errorf("api: panic: %v", p))
			}
			took := s.now().Sub(start)
			route := chi.RouteContext(r.Context()).RoutePattern()
			if route == "" {
				route = "unmatched"
			}
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			s.metrics.requests.WithLabelValues(route, strconv.Itoa(status)).Observe(took.Seconds())
			s.accessLog(r, rec, route, status, took)
		}()
		next.ServeHTTP(sw, r)
	})
}

func (s *Server) accessLog(r *http.Request, rec *record, route string, status int, took time.Duration) {
	level, msg := zap.InfoLevel, "request"
	if status >= 500 {
		level = zap.ErrorLevel
	}
	ce := s.log.Check(level, msg)
	if ce == nil {
		return
	}
	fields := append(make([]zap.Field, 0, 12),
		zap.String("request_id", rec.requestID),
		zap.String("method", r.Method),
		zap.String("route", route),
		zap.Int("status", status),
		zap.Duration("duration", took),
		zap.String("remote", r.RemoteAddr),
	)
	if rec.profile != "" {
		fields = append(fields, zap.String("profile", rec.profile))
	}
	if rec.issuer != "" {
		fields = append(fields, zap.String("issuer", rec.issuer), zap.String("sub", rec.subject))
	}
	if rec.cache != "" {
		fields = append(fields, zap.String("cache", rec.cache))
	}
	if rec.code != "" {
		fields = append(fields, zap.String("error_code", rec.code))
	}
	if rec.err != nil {
		// Causes are our own typed errors or SDK errors; neither carries a
		// token or a secret (the log test in this package greps for them).
		fields = append(fields, zap.String("error", rec.err.Error()))
	}
	ce.Write(fields...)
}

// errTooBusy is returned when MaxInflight token-verifying requests are running.
var errTooBusy = errors.New("api: too many requests in flight")

// limitInflight bounds concurrent token-verifying requests; beyond the bound the
// broker answers 429 at once instead of queueing without limit. Like the
// global rate limit's, this refusal comes before anyone is identified and
// writes no audit line (the access log and broker_rate_limited_total count
// it): under the overload it answers, one audit write per request would add
// to it.
func (s *Server) limitInflight(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case s.inflight <- struct{}{}:
			defer func() { <-s.inflight }()
			next.ServeHTTP(w, r)
		default:
			s.writeError(w, r, errTooBusy)
		}
	})
}
