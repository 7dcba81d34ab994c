package ststest

import (
	"fmt"
	"testing"
	"time"
)

// TestStoreSessionPrunes: a full store drops the expired sessions, then
// the oldest, down to sessionsAfterPrune, and keeps the newest; the
// insertion order stays in step with the map.
func TestStoreSessionPrunes(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	s := &Server{now: func() time.Time { return now }, sessions: map[string]*session{}}
	for i := range maxSessions {
		exp := now.Add(time.Hour)
		if i >= 50_000 && i < 55_000 {
			exp = now.Add(-time.Minute) // expired: dropped first, wherever they are
		}
		s.storeSession(&session{id: fmt.Sprint("s", i), expires: exp})
	}
	if len(s.sessions) != maxSessions {
		t.Fatalf("sessions before the store is full = %d, want %d", len(s.sessions), maxSessions)
	}
	s.storeSession(&session{id: "newest", expires: now.Add(time.Hour)})

	if got, want := len(s.sessions), sessionsAfterPrune+1; got != want {
		t.Errorf("sessions after pruning and storing one = %d, want %d", got, want)
	}
	// 5 000 expired went first; then the oldest down to sessionsAfterPrune.
	oldestKept := maxSessions - 5_000 - sessionsAfterPrune
	for _, tt := range []struct {
		id   string
		want bool
	}{
		{"newest", true}, {fmt.Sprint("s", maxSessions-1), true},
		{fmt.Sprint("s", oldestKept), true}, {fmt.Sprint("s", oldestKept-1), false}, {"s0", false},
		{"s50000", false}, {"s54999", false}, {"s55000", true},
	} {
		if _, ok := s.sessions[tt.id]; ok != tt.want {
			t.Errorf("session %s kept = %v, want %v", tt.id, ok, tt.want)
		}
	}
	if len(s.sessionOrder) != len(s.sessions) || s.sessionOrder[len(s.sessionOrder)-1] != "newest" {
		t.Errorf("order: %d ids ending %q, want %d ending newest", len(s.sessionOrder), s.sessionOrder[len(s.sessionOrder)-1], len(s.sessions))
	}
	// The next 10 % are stored without another pass.
	for i := range maxSessions - sessionsAfterPrune - 1 {
		s.storeSession(&session{id: fmt.Sprint("n", i), expires: now.Add(time.Hour)})
	}
	if _, ok := s.sessions[fmt.Sprint("s", oldestKept)]; !ok || len(s.sessions) != maxSessions {
		t.Errorf("after filling up again: %d sessions, oldest kept: %v; want %d and kept", len(s.sessions), ok, maxSessions)
	}
}
