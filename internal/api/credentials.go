package api

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/go-chi/chi/v5"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/stsbroker/broker/internal/auth"
	"github.com/stsbroker/broker/internal/chain"
	"github.com/stsbroker/broker/internal/profile"
)

// validProfileName checks the syntax of a profile name, [A-Za-z0-9_.-]{1,64}
// (config validation enforces the same); a name that fails it is a bad
// request, and one that passes is safe to echo in a message. It runs on every
// request, so it is a byte loop rather than a regexp.
func validProfileName(name string) bool {
	if len(name) < 1 || len(name) > 64 {
		return false
	}
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == '.', c == '-':
		default:
			return false
		}
	}
	return true
}

// handleCredentials serves GET /v1/credentials/{profile}[?format=env].
func (s *Server) handleCredentials(w http.ResponseWriter, r *http.Request) error {
	format, err := credentialsFormat(r)
	token, terr := s.requestToken(r, false)
	if terr != nil {
		return s.refuse(r, terr)
	}
	if err != nil {
		return err
	}
	creds, err := s.issue(r, token)
	if err != nil {
		return err
	}
	if format == "env" {
		return writeEnv(w, creds)
	}
	return writeProcess(w, creds)
}

// handleContainer serves GET /v1/container/{profile} in the container
// credentials format that every AWS SDK reads from
// AWS_CONTAINER_CREDENTIALS_FULL_URI.
func (s *Server) handleContainer(w http.ResponseWriter, r *http.Request) error {
	if len(r.URL.RawQuery) > 0 {
		return badRequest("this endpoint takes no query parameters")
	}
	token, err := s.requestToken(r, true)
	if err != nil {
		return s.refuse(r, err)
	}
	creds, err := s.issue(r, token)
	if err != nil {
		return err
	}
	return writeContainer(w, creds)
}

func credentialsFormat(r *http.Request) (string, error) {
	if r.URL.RawQuery == "" {
		return "json", nil
	}
	// r.URL.Query drops what does not parse ("format=env;x=1", "%zz"): a
	// caller that asked for env lines would get JSON to eval.
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return "", badRequest("the query string does not parse; want format=json or format=env")
	}
	for k := range q {
		if k != "format" {
			return "", badRequest("unknown query parameter; only format is accepted")
		}
	}
	if len(q["format"]) > 1 {
		return "", badRequest("format given more than once")
	}
	switch f := q.Get("format"); f {
	case "", "json", "process":
		return "json", nil
	case "env":
		return "env", nil
	default:
		return "", badRequest("format must be json or env")
	}
}

// issue runs the credentials steps in order: verify, resolve the profile,
// authorize and render the plan (once per verified token), get from the
// cache. Every request verifies its own token, cache hit or not.
func (s *Server) issue(r *http.Request, token string) (chain.Credentials, error) {
	// The wall clock, not s.now: the deadline arms a real timer.
	rc := newRequestContext(r.Context(), time.Now().Add(s.cfg.RequestTimeout))
	defer rc.release()
	var ctx context.Context = rc
	rec := recordFrom(ctx)
	st := s.current.Load()

	id, err := s.verify(ctx, st.verifier, token)
	if err != nil {
		return chain.Credentials{}, s.refuse(r, err)
	}
	rec.issuer, rec.subject = id.Issuer, id.Subject
	if err := s.allowIdentity(id); err != nil {
		return chain.Credentials{}, s.refuse(r, err)
	}

	name := chi.URLParam(r, "profile")
	if !validProfileName(name) {
		return chain.Credentials{}, s.refuse(r, badRequest("profile name must match [A-Za-z0-9_.-]{1,64}"))
	}
	p, err := st.profiles.Get(name)
	if err != nil {
		if errors.Is(err, profile.ErrUnknownProfile) {
			err = unknownProfile(name, err)
		}
		return chain.Credentials{}, s.refuse(r, err)
	}
	rec.profile = name
	// Authorize, render and key: once per verified token, not per request.
	keyed, err := p.Prepare(id, chain.Secret(token))
	if err != nil {
		return chain.Credentials{}, s.refuse(r, err)
	}
	plan := keyed.Plan()
	creds, outcome, err := s.cfg.Cache.GetKeyed(ctx, keyed)
	if err != nil {
		return chain.Credentials{}, s.refuse(r, err, appendPlanFields(nil, plan)...)
	}
	if !creds.Valid() {
		// Never a 200 with empty or zero-value credentials.
		return chain.Credentials{}, errors.New("api: cache returned incomplete credentials")
	}
	rec.cache = string(outcome)
	s.metrics.served.WithLabelValues(name, string(outcome)).Inc()
	if ce := s.audit.Check(zap.InfoLevel, "credentials issued"); ce != nil {
		fields := appendPlanFields(s.appendAuditFields(make([]zap.Field, 0, 14), r), plan)
		ce.Write(append(fields,
			zap.String("access_key_id", creds.AccessKeyID),
			zap.String("assumed_role_arn", creds.AssumedRoleARN),
			zap.Time("expiration", creds.Expiration),
			zap.String("cache", string(outcome)),
		)...)
	}
	return creds, nil
}

func (s *Server) verify(ctx context.Context, v *auth.Verifier, token string) (*auth.Identity, error) {
	id, err := v.Verify(ctx, token)
	result := "ok"
	if err != nil {
		result = "error"
		var te *auth.TokenError
		if errors.As(err, &te) {
			result = te.Reason
		}
	}
	s.metrics.verifications.WithLabelValues(result).Inc()
	return id, err
}

// refuse writes the audit line of a refusal and returns err unchanged.
func (s *Server) refuse(r *http.Request, err error, extra ...zap.Field) error {
	ae := requestError(r, err)
	fields := append(s.appendAuditFields(make([]zap.Field, 0, 8+len(extra)), r), extra...)
	fields = append(fields, zap.Int("status", ae.Status), zap.String("reason", ae.Code), zap.String("detail", ae.Message))
	s.audit.Info("credentials refused", fields...)
	return err
}

// appendAuditFields appends who asked: remote address, request id, issuer
// and sub once verified, profile once resolved.
func (s *Server) appendAuditFields(fields []zap.Field, r *http.Request) []zap.Field {
	rec := recordFrom(r.Context())
	fields = append(fields, zap.String("remote", r.RemoteAddr))
	if rec == nil {
		return fields
	}
	fields = append(fields, zap.String("request_id", rec.requestID))
	if rec.issuer != "" {
		fields = append(fields, zap.String("issuer", rec.issuer), zap.String("sub", rec.subject))
	}
	if rec.profile != "" {
		fields = append(fields, zap.String("profile", rec.profile))
	}
	return fields
}

// appendPlanFields appends the audit fields of a rendered plan: role ARNs,
// session name, source identity. The ExternalId and the token are never
// logged.
func appendPlanFields(fields []zap.Field, p chain.Plan) []zap.Field {
	var session, sourceIdentity string
	for _, h := range p.Hops {
		session = h.SessionName
		if h.SourceIdentity != "" {
			sourceIdentity = h.SourceIdentity
		}
	}
	fields = append(fields, zap.Array("role_arns", roleARNs(p.Hops)), zap.String("session_name", session))
	if sourceIdentity != "" {
		fields = append(fields, zap.String("source_identity", sourceIdentity))
	}
	return fields
}

// roleARNs logs the hops' role ARNs as a JSON array without copying them.
type roleARNs []chain.Hop

func (hops roleARNs) MarshalLogArray(enc zapcore.ArrayEncoder) error {
	for _, h := range hops {
		enc.AppendString(h.RoleARN)
	}
	return nil
}
