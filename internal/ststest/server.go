package ststest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"
)

const (
	maxBodyBytes   = 64 << 10
	maxHeaderBytes = 64 << 10
	stsVersion     = "2011-06-15"
)

// Options configures a Server. The zero value is usable.
type Options struct {
	// Now is the clock for issue times, session expiry, token expiry and SigV4 date skew.
	// Default time.Now.
	Now func() time.Time
	// Addr is the listen address. Default "127.0.0.1:0".
	Addr string
	// HTTPClient fetches OIDC discovery documents and JWKS of registered providers.
	// Default: a client with a 5 s timeout.
	HTTPClient *http.Client
}

// Server is an STS emulator listening on a local address.
type Server struct {
	now        func() time.Time
	httpClient *http.Client
	ln         net.Listener
	srv        *http.Server
	done       chan struct{} // closed by Close: wakes injected latencies
	served     chan struct{} // closed when Serve returns
	closeOnce  sync.Once

	mu           sync.Mutex // guards the model below
	roles        map[string]*role
	providers    map[string]*provider // "ACCOUNT ISSUER"
	baseKeys     map[string]*baseKey
	sessions     map[string]*session
	sessionOrder []string

	records recorder
	faults  faultSet
}

// TB is the part of testing.TB that Start uses.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Cleanup(func())
}

// NewServer listens on opts.Addr and serves STS until Close.
func NewServer(opts Options) (*Server, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 5 * time.Second}
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("ststest: listen: %w", err)
	}
	s := &Server{
		now:        opts.Now,
		httpClient: opts.HTTPClient,
		ln:         ln,
		done:       make(chan struct{}),
		served:     make(chan struct{}),
		roles:      map[string]*role{},
		providers:  map[string]*provider{},
		baseKeys:   map[string]*baseKey{},
		sessions:   map[string]*session{},
	}
	s.srv = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    maxHeaderBytes,
	}
	go func() {
		defer close(s.served)
		_ = s.srv.Serve(ln) // returns http.ErrServerClosed after Close
	}()
	return s, nil
}

// Start is NewServer for tests: it fails t on error and closes the server at cleanup.
func Start(t TB, opts Options) *Server {
	t.Helper()
	s, err := NewServer(opts)
	if err != nil {
		t.Fatalf("ststest.Start: %v", err)
		return nil
	}
	t.Cleanup(s.Close)
	return s
}

// URL returns the base URL, e.g. http://127.0.0.1:34567, for sts.Options.BaseEndpoint or
// the AWS CLI's --endpoint-url.
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() }

// Close stops the server, aborting requests that wait on an injected latency. It is safe
// to call more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.done)
		_ = s.srv.Close()
		<-s.served
	})
}

// ServeHTTP answers one STS Query-protocol request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	requestID := newRequestID()
	rec := Request{}
	params, body, perr := readParams(w, r)
	if perr == nil {
		rec.Action = params.Get("Action")
	}
	if perr == nil {
		if f, ok := s.faults.take(rec.Action); ok {
			if handled := s.applyFault(w, r, requestID, f, &rec); handled {
				return
			}
		}
	}
	var resp any
	err := perr
	if err == nil {
		resp, err = s.dispatch(r.Context(), r, body, params, &rec)
	}
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) {
			ae = newError(http.StatusInternalServerError, "InternalFailure", "The request processing has failed because of an unknown error, exception or failure.")
		}
		rec.Outcome = ae.code
		s.records.add(rec)
		writeError(w, requestID, ae)
		return
	}
	rec.Outcome = OutcomeOK
	s.records.add(rec)
	setRequestID(resp, requestID)
	writeXML(w, http.StatusOK, requestID, resp)
}

func setRequestID(resp any, id string) {
	switch v := resp.(type) {
	case *assumeRoleWithWebIdentityResponse:
		v.Xmlns, v.Metadata.RequestID = stsNamespace, id
	case *assumeRoleResponse:
		v.Xmlns, v.Metadata.RequestID = stsNamespace, id
	case *getCallerIdentityResponse:
		v.Xmlns, v.Metadata.RequestID = stsNamespace, id
	}
}

// readParams returns the Query-protocol parameters (form body of a POST, plus the query
// string) and the raw body for SigV4.
func readParams(w http.ResponseWriter, r *http.Request) (url.Values, []byte, error) {
	if r.URL.Path != "/" {
		return nil, nil, newError(http.StatusNotFound, "NotFound", "Not Found")
	}
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, nil, newError(http.StatusBadRequest, "MalformedQueryString", "The query string is malformed.")
	}
	switch r.Method {
	case http.MethodGet:
		return query, nil, nil
	case http.MethodPost:
	default:
		return nil, nil, newError(http.StatusMethodNotAllowed, "MethodNotAllowed", "The method %s is not allowed.", r.Method)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, nil, newError(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "Request body must be at most %d bytes.", maxBodyBytes)
		}
		return nil, nil, newError(http.StatusBadRequest, "MalformedQueryString", "The request body could not be read.")
	}
	if len(body) > 0 {
		mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || mt != "application/x-www-form-urlencoded" {
			return nil, nil, newError(http.StatusUnsupportedMediaType, "UnsupportedMediaType", "Content-Type must be application/x-www-form-urlencoded.")
		}
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, nil, newError(http.StatusBadRequest, "MalformedQueryString", "The request body is malformed.")
		}
		for k, v := range form {
			query[k] = append(query[k], v...)
		}
	}
	return query, body, nil
}

// dispatch routes by Action.
func (s *Server) dispatch(ctx context.Context, r *http.Request, body []byte, p url.Values, rec *Request) (any, error) {
	action := p.Get("Action")
	if action == "" {
		return nil, newError(http.StatusBadRequest, "MissingAction", "Missing Action")
	}
	if v := p.Get("Version"); v != stsVersion {
		return nil, newError(http.StatusBadRequest, "InvalidAction", "Could not find operation %s for version %s", action, v)
	}
	switch action {
	case "AssumeRoleWithWebIdentity":
		return s.assumeRoleWithWebIdentity(ctx, p, rec)
	case "AssumeRole":
		c, err := s.authenticate(ctx, r, body, rec)
		if err != nil {
			return nil, err
		}
		return s.assumeRole(c, p, rec)
	case "GetCallerIdentity":
		c, err := s.authenticate(ctx, r, body, rec)
		if err != nil {
			return nil, err
		}
		return s.getCallerIdentity(c), nil
	default:
		return nil, newError(http.StatusBadRequest, "InvalidAction", "Could not find operation %s for version %s", action, stsVersion)
	}
}
