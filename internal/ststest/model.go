package ststest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

const (
	defaultMaxSession = time.Hour
	maxSessions       = 100_000
	// sessionsAfterPrune is what a full session store is pruned down to.
	sessionsAfterPrune = maxSessions * 9 / 10
	maxClientIDs       = 100
)

// Role is an IAM role known to the emulator.
type Role struct {
	// ARN is arn:aws:iam::ACCOUNT:role/[path/]NAME.
	ARN string
	// TrustPolicy is the assume-role policy document as JSON (Terraform jsonencode shape).
	TrustPolicy string
	// MaxSessionDuration bounds DurationSeconds; zero means one hour. IAM allows 1h..12h.
	MaxSessionDuration time.Duration
}

type role struct {
	ref         roleRef
	id          string // AROA…
	maxDuration time.Duration
	policy      *policy
}

type provider struct {
	arn       string
	account   string
	issuer    string
	prefix    string // condition-key prefix
	clientIDs []string

	mu       sync.Mutex // guards verifier (held while discovery runs, bounded by the HTTP client timeout)
	verifier *oidc.IDTokenVerifier
}

type baseKey struct {
	id, secret string
	principal  principalInfo
	userID     string
}

type session struct {
	id, secret, token string
	expires           time.Time
	role              *role
	name              string
	sourceIdentity    string
	transitive        []tag // inherited by chained sessions
}

func (s *session) arn() string {
	return assumedRoleARN(s.role.ref.account, s.role.ref.name, s.name)
}

func (s *session) userID() string { return s.role.id + ":" + s.name }

// caller is the authenticated signer of a request.
type caller struct {
	arn          string // assumed-role ARN for sessions, IAM ARN for base keys
	principalARN string // aws:PrincipalArn: the role ARN for sessions
	account      string
	userID       string
	accessKeyID  string
	session      *session // nil for a base key
	// roleKey: a base key of a role, standing for the role credentials a
	// process starts from (an instance profile, IRSA, ECS). Those are a
	// role's session in AWS, so an AssumeRole made with them is role
	// chaining, capped at 1 hour like one made with a session.
	roleKey bool
}

// AddRole registers a role; its trust policy is parsed and validated now.
func (s *Server) AddRole(r Role) error {
	ref, ok := parseRoleARN(r.ARN)
	if !ok {
		return fmt.Errorf("ststest: add role: invalid role ARN %q", r.ARN)
	}
	maxDur := r.MaxSessionDuration
	if maxDur == 0 {
		maxDur = defaultMaxSession
	}
	if maxDur < time.Hour || maxDur > 12*time.Hour {
		return fmt.Errorf("ststest: add role %s: max session duration %v outside 1h..12h", r.ARN, maxDur)
	}
	p, err := parsePolicy(r.TrustPolicy)
	if err != nil {
		return fmt.Errorf("ststest: add role %s: %w", r.ARN, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.roles[r.ARN]; dup {
		return fmt.Errorf("ststest: add role %s: already exists", r.ARN)
	}
	s.roles[r.ARN] = &role{ref: ref, id: stableID("AROA", r.ARN), maxDuration: maxDur, policy: p}
	return nil
}

// AddOIDCProvider registers an IAM OIDC identity provider in account and returns its ARN,
// arn:aws:iam::ACCOUNT:oidc-provider/<issuer without scheme>. Unlike IAM, an http issuer on
// a loopback host is accepted (the emulator is local).
func (s *Server) AddOIDCProvider(account, issuerURL string, clientIDs ...string) (string, error) {
	if !accountRE.MatchString(account) {
		return "", fmt.Errorf("ststest: add oidc provider: invalid account %q", account)
	}
	if err := checkIssuerURL(issuerURL); err != nil {
		return "", fmt.Errorf("ststest: add oidc provider: %w", err)
	}
	if len(clientIDs) > maxClientIDs {
		return "", fmt.Errorf("ststest: add oidc provider: %d client ids, at most %d", len(clientIDs), maxClientIDs)
	}
	for _, id := range clientIDs {
		if id == "" || len(id) > 255 {
			return "", errors.New("ststest: add oidc provider: client id must be 1..255 characters")
		}
	}
	prefix := issuerKeyPrefix(issuerURL)
	p := &provider{
		arn:       "arn:aws:iam::" + account + ":oidc-provider/" + prefix,
		account:   account,
		issuer:    issuerURL,
		prefix:    prefix,
		clientIDs: append([]string(nil), clientIDs...),
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := account + " " + issuerURL
	if _, dup := s.providers[key]; dup {
		return "", fmt.Errorf("ststest: add oidc provider %s: already exists", p.arn)
	}
	s.providers[key] = p
	return p.arn, nil
}

func checkIssuerURL(issuer string) error {
	if len(issuer) > 255 {
		return errors.New("issuer url longer than 255 characters")
	}
	u, err := url.Parse(issuer)
	if err != nil {
		return fmt.Errorf("issuer url: %w", err)
	}
	if u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("issuer url %q: want scheme://host[/path] without query, fragment or user", issuer)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if ip := net.ParseIP(host); (ip != nil && ip.IsLoopback()) || host == "localhost" {
			return nil
		}
		return fmt.Errorf("issuer url %q: http only on a loopback host", issuer)
	default:
		return fmt.Errorf("issuer url %q: scheme must be https", issuer)
	}
}

// AddAccessKey creates a long-term access key (AKIA…) for an IAM user or role ARN: the
// "ambient" credentials a process might start from. A role's key stands for
// the role credentials of an instance profile, IRSA or ECS, which in AWS are
// a session of the role: an AssumeRole made with it is role chaining, and
// its DurationSeconds is capped at 1 hour.
func (s *Server) AddAccessKey(principalARN string) (accessKeyID, secretAccessKey string, err error) {
	p, ok := parsePrincipalARN(principalARN)
	if !ok {
		return "", "", fmt.Errorf("ststest: add access key: %q is not an IAM user or role ARN", principalARN)
	}
	prefix := "AIDA"
	if p.isRole {
		prefix = "AROA"
	}
	k := &baseKey{id: newAccessKeyID("AKIA"), secret: newSecretKey(), principal: p, userID: stableID(prefix, principalARN)}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.baseKeys) >= maxSessions {
		return "", "", errors.New("ststest: add access key: too many keys")
	}
	s.baseKeys[k.id] = k
	return k.id, k.secret, nil
}

func (s *Server) lookupRole(arn string) *role {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.roles[arn]
}

func (s *Server) lookupProvider(account, issuer string) *provider {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.providers[account+" "+issuer]
}

// storeSession keeps the session. When the store is full it drops the
// expired sessions and then the oldest, down to sessionsAfterPrune, so that
// this pass over every session runs once per maxSessions/10 new sessions
// rather than on each one (a benchmark caching 100 000 identities makes
// 200 000 sessions).
func (s *Server) storeSession(se *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.sessions) >= maxSessions {
		now := s.now()
		for id, old := range s.sessions {
			if !now.Before(old.expires) {
				delete(s.sessions, id)
			}
		}
		for len(s.sessions) > sessionsAfterPrune && len(s.sessionOrder) > 0 {
			delete(s.sessions, s.sessionOrder[0])
			s.sessionOrder = s.sessionOrder[1:]
		}
		s.compactOrder()
	}
	s.sessions[se.id] = se
	s.sessionOrder = append(s.sessionOrder, se.id)
}

// compactOrder drops ids of deleted sessions from the insertion order. Caller holds s.mu.
func (s *Server) compactOrder() {
	kept := s.sessionOrder[:0]
	for _, id := range s.sessionOrder {
		if _, ok := s.sessions[id]; ok {
			kept = append(kept, id)
		}
	}
	s.sessionOrder = append([]string(nil), kept...)
}

// issue creates and stores a session of r.
func (s *Server) issue(r *role, name string, d time.Duration, sourceIdentity string, transitive []tag) *session {
	se := &session{
		id:             newAccessKeyID("ASIA"),
		secret:         newSecretKey(),
		token:          newSessionToken(),
		expires:        s.now().Add(d).UTC().Truncate(time.Second),
		role:           r,
		name:           name,
		sourceIdentity: sourceIdentity,
		transitive:     transitive,
	}
	s.storeSession(se)
	return se
}

// validJSON reports whether doc is one JSON value.
func validJSON(doc string) bool {
	return json.Valid([]byte(strings.TrimSpace(doc)))
}
