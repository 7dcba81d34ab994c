package ststest

import (
	"maps"
	"slices"
	"sync"
)

const maxRecords = 1000

// Outcomes recorded besides STS error codes.
const (
	// OutcomeOK is a successful answer.
	OutcomeOK = "ok"
	// OutcomeDropped is a connection closed by a Drop fault.
	OutcomeDropped = "Dropped"
	// OutcomeCanceled is a request whose client went away (or the server closed) during
	// an injected latency.
	OutcomeCanceled = "Canceled"
)

// Request is what the emulator recorded about one call. It never holds a secret:
// ExternalIds and tokens are kept only as SHA-256 fingerprints.
type Request struct {
	Action, RoleARN, RoleSessionName, CallerARN, SourceIdentity, Outcome string
	// DurationSeconds is the requested value; 0 when the parameter was absent.
	DurationSeconds   int
	Tags              map[string]string
	TransitiveTagKeys []string
	PolicyARNs        []string
	Policy            string
	// ExternalIDSHA256 is the hex SHA-256 of ExternalId when present, "" when absent.
	ExternalIDSHA256 string
	// TokenSHA256 is the hex SHA-256 of the web identity token; TokenSubject its sub
	// once the token verified.
	TokenSHA256, TokenSubject string
	// AccessKeyID is the key id the request was signed with ("" when unsigned).
	AccessKeyID string
}

type recorder struct {
	mu     sync.Mutex
	ring   []Request // oldest first, at most maxRecords
	counts map[string]map[string]int
}

func (r *recorder) add(req Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.counts == nil {
		r.counts = map[string]map[string]int{}
	}
	byOutcome := r.counts[req.Action]
	if byOutcome == nil {
		byOutcome = map[string]int{}
		r.counts[req.Action] = byOutcome
	}
	byOutcome[req.Outcome]++
	if len(r.ring) >= maxRecords {
		r.ring = slices.Delete(r.ring, 0, len(r.ring)-maxRecords+1)
	}
	r.ring = append(r.ring, req)
}

// Calls returns how many calls of action were answered, whatever the outcome.
func (s *Server) Calls(action string) int {
	s.records.mu.Lock()
	defer s.records.mu.Unlock()
	n := 0
	for _, c := range s.records.counts[action] {
		n += c
	}
	return n
}

// CallsByOutcome returns how many calls of action ended with outcome: OutcomeOK, an STS
// error code, OutcomeDropped or OutcomeCanceled.
func (s *Server) CallsByOutcome(action, outcome string) int {
	s.records.mu.Lock()
	defer s.records.mu.Unlock()
	return s.records.counts[action][outcome]
}

// Requests returns the most recent requests (at most 1000), oldest first.
func (s *Server) Requests() []Request {
	s.records.mu.Lock()
	defer s.records.mu.Unlock()
	out := make([]Request, len(s.records.ring))
	for i, r := range s.records.ring {
		r.Tags = maps.Clone(r.Tags)
		r.TransitiveTagKeys = slices.Clone(r.TransitiveTagKeys)
		r.PolicyARNs = slices.Clone(r.PolicyARNs)
		out[i] = r
	}
	return out
}

// ResetRecords forgets recorded requests and counters.
func (s *Server) ResetRecords() {
	s.records.mu.Lock()
	defer s.records.mu.Unlock()
	s.records.ring = nil
	s.records.counts = nil
}
