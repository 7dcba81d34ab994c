package profile

import (
	"errors"
	"fmt"
	"slices"

	"github.com/stsbroker/broker/internal/auth"
)

// maxNameInError bounds how much of a requested profile name (it comes from
// the URL) an error repeats.
const maxNameInError = 64

// Set is the immutable collection of configured profiles, by name. It is safe
// for concurrent use.
type Set struct {
	byName map[string]*Profile
	names  []string // sorted
}

// NewSet builds a Set. Two profiles with the same name are an error.
func NewSet(profiles ...*Profile) (*Set, error) {
	s := &Set{byName: make(map[string]*Profile, len(profiles))}
	for _, p := range profiles {
		if p == nil {
			return nil, errors.New("profile: nil profile")
		}
		if _, dup := s.byName[p.name]; dup {
			return nil, fmt.Errorf("profile: duplicate name %q", p.name)
		}
		s.byName[p.name] = p
		s.names = append(s.names, p.name)
	}
	slices.Sort(s.names)
	return s, nil
}

// Retire marks the profiles of s that next does not hold (by pointer) as
// replaced: [Profile.Prepare] stops keeping its results with identities for
// them. A reload calls it with the set that replaces s, before it makes the
// verifier forget its tokens. Retiring is for good: a retired profile put
// back into service still works, only without keeping its results.
func (s *Set) Retire(next *Set) {
	for name, p := range s.byName {
		if next == nil || next.byName[name] != p {
			p.retired.Store(true)
		}
	}
}

// Get returns the profile called name, or an error wrapping
// [ErrUnknownProfile].
func (s *Set) Get(name string) (*Profile, error) {
	if p, ok := s.byName[name]; ok {
		return p, nil
	}
	if len(name) > maxNameInError {
		name = name[:maxNameInError] + "…"
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownProfile, name)
}

// Allowed returns the sorted names of the profiles id is authorized for
// ([Profile.Authorize]); never nil without an error. The error is that of
// an identity whose claims do not decode (never one from the verifier): it
// is not an empty list.
func (s *Set) Allowed(id *auth.Identity) ([]string, error) {
	names := []string{}
	if id == nil {
		return names, nil
	}
	claims, err := id.Claims() // once, not once per profile
	if err != nil {
		return nil, fmt.Errorf("profile: allowed: %w", err)
	}
	for _, n := range s.names {
		if s.byName[n].authorize(id, claims) == nil {
			names = append(names, n)
		}
	}
	return names, nil
}
