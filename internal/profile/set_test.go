package profile

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/stsbroker/broker/internal/auth"
)

// newTestProfile builds a one-hop profile for issuer whose repository_owner
// must be owner.
func newTestProfile(t *testing.T, name, issuer, owner string) *Profile {
	t.Helper()
	p, err := New(Config{
		Name:       name,
		Issuer:     issuer,
		Conditions: auth.Conditions{StringEquals: map[string][]string{"repository_owner": {owner}}},
		Chain:      []HopConfig{{RoleARN: toolingRole}},
	})
	if err != nil {
		t.Fatalf("New(%q) error = %v", name, err)
	}
	return p
}

func TestNewSetDuplicate(t *testing.T) {
	a := newTestProfile(t, "deploy", "github", "myorg")
	b := newTestProfile(t, "deploy", "gitlab", "myorg")
	_, err := NewSet(a, b)
	if err == nil || err.Error() != `profile: duplicate name "deploy"` {
		t.Errorf("NewSet() error = %v, want profile: duplicate name \"deploy\"", err)
	}
	if _, err := NewSet(a, nil); err == nil || err.Error() != "profile: nil profile" {
		t.Errorf("NewSet(nil) error = %v, want profile: nil profile", err)
	}
}

func TestSetGet(t *testing.T) {
	deploy := newTestProfile(t, "deploy", "github", "myorg")
	s, err := NewSet(deploy)
	if err != nil {
		t.Fatalf("NewSet() error = %v", err)
	}
	got, err := s.Get("deploy")
	if err != nil || got != deploy {
		t.Errorf("Get(deploy) = %p, %v, want %p, nil", got, err, deploy)
	}

	tests := []struct {
		name    string
		get     string
		wantMsg string
	}{
		{name: "unknown", get: "prod", wantMsg: `profile: unknown: "prod"`},
		{name: "long-name-cut", get: strings.Repeat("n", 100), wantMsg: `profile: unknown: "` + strings.Repeat("n", 64) + `…"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := s.Get(tt.get)
			if !errors.Is(err, ErrUnknownProfile) {
				t.Errorf("Get(%q) error = %v, want %v", tt.get, err, ErrUnknownProfile)
			}
			if err != nil && err.Error() != tt.wantMsg {
				t.Errorf("Get(%q) error = %q, want %q", tt.get, err, tt.wantMsg)
			}
			if p != nil {
				t.Errorf("Get(%q) = %p, want nil", tt.get, p)
			}
		})
	}
}

func TestSetAllowed(t *testing.T) {
	s, err := NewSet(
		newTestProfile(t, "zeta", "github", "myorg"),
		newTestProfile(t, "alpha", "github", "myorg"),
		newTestProfile(t, "mid", "github", "otherorg"),
		newTestProfile(t, "beta", "gitlab", "myorg"),
	)
	if err != nil {
		t.Fatalf("NewSet() error = %v", err)
	}
	tests := []struct {
		name string
		id   *auth.Identity
		want []string
	}{
		{
			name: "github-myorg",
			id:   &auth.Identity{Issuer: "github", Payload: payload(map[string]any{"repository_owner": "myorg"})},
			want: []string{"alpha", "zeta"},
		},
		{
			name: "gitlab-myorg",
			id:   &auth.Identity{Issuer: "gitlab", Payload: payload(map[string]any{"repository_owner": "myorg"})},
			want: []string{"beta"},
		},
		{
			name: "none",
			id:   &auth.Identity{Issuer: "github", Payload: payload(map[string]any{"repository_owner": "nobody"})},
			want: []string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Allowed(tt.id)
			if err != nil {
				t.Fatalf("Allowed() error = %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Allowed() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
