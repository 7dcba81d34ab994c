package profile

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/stsbroker/broker/internal/auth"
)

// TestPrepare: Prepare gives Render's plan with its key and the request's
// token, computes it once per identity and profile, and returns the same
// errors as Authorize and Render, every time.
func TestPrepare(t *testing.T) {
	p, err := New(prodDeploy())
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	id := githubIdentity(githubClaims("123"))
	want, err := p.Render(id, testToken)
	if err != nil {
		t.Fatalf("Render() = %v", err)
	}

	first, err := p.Prepare(id, testToken)
	if err != nil {
		t.Fatalf("Prepare() = %v", err)
	}
	if diff := cmp.Diff(want, first.Plan()); diff != "" {
		t.Errorf("Prepare() plan differs from Render (-want +got):\n%s", diff)
	}
	if first.Key() != want.Key() {
		t.Errorf("Prepare() key differs from the rendered plan's key")
	}

	second, err := p.Prepare(id, "another-token")
	if err != nil {
		t.Fatalf("Prepare() again = %v", err)
	}
	if got := second.Plan().WebIdentityToken; got != "another-token" {
		t.Errorf("second Prepare() token = %q, want the request's", got.Reveal())
	}
	if &second.Plan().Hops[0] != &first.Plan().Hops[0] {
		t.Errorf("second Prepare() rendered again, want the plan kept with the identity")
	}

	// The token is the request's, never kept with the identity.
	if k, _ := p.Prepare(id, ""); k.Plan().WebIdentityToken != "" {
		t.Errorf("Prepare() without a token = %q, want none: a token was kept", k.Plan().WebIdentityToken.Reveal())
	}
	if _, err := p.Prepare(nil, testToken); err == nil {
		t.Errorf("Prepare(nil) = nil error, want an error")
	}

	// Another identity with the same claims values is rendered on its own.
	other := githubIdentity(githubClaims("123"))
	third, err := p.Prepare(other, testToken)
	if err != nil || &third.Plan().Hops[0] == &first.Plan().Hops[0] {
		t.Errorf("Prepare(other identity) = shared plan or %v, want its own", err)
	}

	// Another profile on the same identity gets its own plan.
	cfg := prodDeploy()
	cfg.Name = "other"
	p2, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := p2.Prepare(id, testToken)
	if err != nil || k2.Plan().Profile != "other" {
		t.Errorf("Prepare(other profile) = %q, %v, want its own plan", k2.Plan().Profile, err)
	}

	// Refusals are kept as well, and stay the same error.
	evil := githubClaims("123")
	evil["repository_owner"] = "evil"
	refused := githubIdentity(evil)
	for i := range 2 {
		_, err := p.Prepare(refused, testToken)
		var ce *auth.ConditionError
		if !errors.As(err, &ce) || ce.Claim != "repository_owner" {
			t.Errorf("Prepare(refused) #%d error = %v, want a ConditionError on repository_owner", i, err)
		}
	}
	noRunID := githubClaims("123")
	delete(noRunID, "run_id")
	missing := githubIdentity(noRunID)
	var re *RenderError
	if _, err := p.Prepare(missing, testToken); !errors.As(err, &re) || re.Field != "session_name" {
		t.Errorf("Prepare(no run_id) error = %v, want a RenderError for session_name", err)
	}
}

// TestPrepareRetired: a profile a reload replaced still prepares the same
// plan, but keeps nothing with the identity; profiles the next set keeps
// are not retired.
func TestPrepareRetired(t *testing.T) {
	replaced, err := New(prodDeploy())
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	cfg := prodDeploy()
	cfg.Name = "kept"
	kept, err := New(cfg)
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	old, err := NewSet(replaced, kept)
	if err != nil {
		t.Fatalf("NewSet() = %v", err)
	}
	next, err := NewSet(kept)
	if err != nil {
		t.Fatalf("NewSet() = %v", err)
	}
	old.Retire(next)

	id := githubIdentity(githubClaims("123"))
	want, err := replaced.Render(id, testToken)
	if err != nil {
		t.Fatalf("Render() = %v", err)
	}
	first, err1 := replaced.Prepare(id, testToken)
	second, err2 := replaced.Prepare(id, testToken)
	if err1 != nil || err2 != nil {
		t.Fatalf("Prepare() on a retired profile = %v, %v", err1, err2)
	}
	if diff := cmp.Diff(want, first.Plan()); diff != "" || first.Key() != want.Key() {
		t.Errorf("Prepare() on a retired profile differs from Render (-want +got):\n%s", diff)
	}
	if &first.Plan().Hops[0] == &second.Plan().Hops[0] {
		t.Errorf("Prepare() on a retired profile kept its plan with the identity, want nothing kept")
	}
	k1, _ := kept.Prepare(id, testToken)
	k2, _ := kept.Prepare(id, testToken)
	if &k1.Plan().Hops[0] != &k2.Plan().Hops[0] {
		t.Errorf("Prepare() on a profile the next set keeps computed twice, want it kept with the identity")
	}
}

// TestUndecodableClaims: an identity whose payload is not a JSON object
// (never one from the verifier) is an error everywhere, and not one that
// reads as a refusal: no ConditionError or RenderError, no empty list.
func TestUndecodableClaims(t *testing.T) {
	p, err := New(prodDeploy())
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	s, err := NewSet(p)
	if err != nil {
		t.Fatalf("NewSet() = %v", err)
	}
	for _, payload := range []string{"", "null", "[]", `{"run_id":`, `"x"`} {
		id := githubIdentity(nil)
		id.Payload = []byte(payload)
		var ce *auth.ConditionError
		var re *RenderError
		if err := p.Authorize(id); err == nil || errors.As(err, &ce) {
			t.Errorf("Authorize(payload %q) = %v, want an error that is not a ConditionError", payload, err)
		}
		if _, err := p.Render(id, testToken); err == nil || errors.As(err, &re) {
			t.Errorf("Render(payload %q) = %v, want an error that is not a RenderError", payload, err)
		}
		if _, err := p.Prepare(id, testToken); err == nil || errors.As(err, &ce) || errors.As(err, &re) {
			t.Errorf("Prepare(payload %q) = %v, want an error that is neither", payload, err)
		}
		if names, err := s.Allowed(id); err == nil || names != nil {
			t.Errorf("Allowed(payload %q) = %v, %v; want nil and an error", payload, names, err)
		}
	}
}
