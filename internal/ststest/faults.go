package ststest

import (
	"net/http"
	"sync"
	"time"
)

// Fault is a failure injected into the answers of an action.
type Fault struct {
	// Latency delays the answer; the wait ends early when the client goes away or the
	// server closes.
	Latency time.Duration
	// Code answers this STS error code (e.g. "Throttling": 400 Sender;
	// "IDPCommunicationError"); Status overrides its HTTP status when set.
	Code string
	// Message replaces the answer's message for Code ("Injected fault"
	// otherwise), for codes whose meaning STS tells by the message.
	Message string
	// Status answers this HTTP status with an XML error when Code is empty
	// (500 InternalFailure, 503 ServiceUnavailable).
	Status int
	// Drop closes the connection without an answer.
	Drop bool
	// Times applies the fault to the next Times calls; 0 means until ClearFaults.
	Times int
}

type faultEntry struct {
	action string
	fault  Fault
	left   int // remaining uses; 0 = unlimited
}

type faultSet struct {
	mu      sync.Mutex
	entries []faultEntry
}

// InjectFault adds a fault for action ("" = every action). Faults apply in the order they
// were injected; the first one that matches a call is used.
func (s *Server) InjectFault(action string, f Fault) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.entries = append(s.faults.entries, faultEntry{action: action, fault: f, left: max(f.Times, 0)})
}

// ClearFaults removes every injected fault.
func (s *Server) ClearFaults() {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.entries = nil
}

// take returns the fault for this call of action, consuming one use.
func (fs *faultSet) take(action string) (Fault, bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for i := range fs.entries {
		e := &fs.entries[i]
		if e.action != "" && e.action != action {
			continue
		}
		f := e.fault
		if e.left > 0 {
			e.left--
			if e.left == 0 {
				fs.entries = append(fs.entries[:i], fs.entries[i+1:]...)
			}
		}
		return f, true
	}
	return Fault{}, false
}

// applyFault performs f. It reports true when the request was answered (or dropped) and
// recorded; false means the call proceeds normally (a latency-only fault). The record is
// added before the client can see the answer, so counters are exact when a call returns.
func (s *Server) applyFault(w http.ResponseWriter, r *http.Request, requestID string, f Fault, rec *Request) bool {
	if f.Latency > 0 {
		t := time.NewTimer(f.Latency)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			rec.Outcome = OutcomeCanceled
			s.records.add(*rec)
			return true
		case <-s.done:
			rec.Outcome = OutcomeCanceled
			s.records.add(*rec)
			return true
		}
	}
	if f.Drop {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			// Not hijackable (HTTP/2): answer a 503 instead of leaving the client hanging.
			ae := faultError(Fault{Status: http.StatusServiceUnavailable})
			rec.Outcome = ae.code
			s.records.add(*rec)
			writeError(w, requestID, ae)
			return true
		}
		rec.Outcome = OutcomeDropped
		s.records.add(*rec)
		_ = conn.Close()
		return true
	}
	if ae := faultError(f); ae != nil {
		rec.Outcome = ae.code
		s.records.add(*rec)
		writeError(w, requestID, ae)
		return true
	}
	return false
}
