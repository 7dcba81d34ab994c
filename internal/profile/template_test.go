package profile

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stsbroker/broker/internal/auth"
)

// TestTemplateFastFormMatchesTextTemplate renders every template both ways
// over claim sets with strings, numbers, lists, nulls and missing claims:
// wherever the fast form answers, its output is text/template's, and it
// declines (falls back) exactly where a value is not a plain string.
func TestTemplateFastFormMatchesTextTemplate(t *testing.T) {
	templates := []struct {
		text string
		fast bool // has a fast form
	}{
		{"{{ .claims.sub }}", true},
		{"gha-{{ .claims.repository }}-{{ .claims.run_id }}", true},
		{"{{.issuer}}/{{.subject}}@{{.profile}}", true},
		{"{{- .claims.actor -}} x", true},
		{"literal", true},
		{"", true},
		{"{{ .claims.sub | printf \"%.10s\" }}", false},
		{"{{ .claims.nested.inner }}", false},
		{"{{ if .claims.actor }}a{{ end }}", false},
		{"{{ $x := .claims.sub }}{{ $x }}", false},
		{"{{ .claims }}", false},
		{"{{ index .claims \"sub\" }}", false},
	}
	claimSets := []map[string]any{
		{"sub": "repo:myorg/app:ref:refs/heads/main", "repository": "myorg/app", "run_id": "123", "actor": "alice",
			"nested": map[string]any{"inner": "v"}},
		{"sub": "s", "repository": "r", "run_id": float64(1234567), "actor": "", "nested": map[string]any{}},
		{"sub": "s", "repository": nil, "run_id": []any{"a"}, "actor": true},
		{"sub": "s", "repository": "r", "run_id": json.Number("99"), "actor": "bob"}, // how auth decodes numbers
		{"sub": "s"},
		{"sub": strings.Repeat("x", maxRendered+1), "repository": "r", "run_id": "1"},
	}
	for _, tt := range templates {
		tm, err := newTmpl("session_name", tt.text)
		if err != nil {
			t.Fatalf("newTmpl(%q) = %v", tt.text, err)
		}
		if got := tm.fast != nil; got != tt.fast {
			t.Errorf("template %q: fast form = %v, want %v", tt.text, got, tt.fast)
		}
		for i, claims := range claimSets {
			id := &auth.Identity{Issuer: "github", Subject: "sub-" + string(rune('a'+i)), Claims: claims}
			data := map[string]any{"claims": claims, "issuer": id.Issuer, "subject": id.Subject, "profile": "deploy"}
			want, wantErr := executeText(tm.t, data)
			got, ok := tm.executeFast(id, "deploy")
			if !ok {
				continue
			}
			if wantErr != nil {
				t.Errorf("template %q, claims %d: fast = %q, text/template fails: %v", tt.text, i, got, wantErr)
				continue
			}
			if got != want {
				t.Errorf("template %q, claims %d: fast = %q, text/template = %q", tt.text, i, got, want)
			}
		}
	}

	// A value that is not a string declines the fast form, so Render gives
	// text/template's answer: a number is printed, a missing claim fails.
	tm, _ := newTmpl("session_name", "gha-{{ .claims.run_id }}")
	d := &templateData{id: &auth.Identity{Claims: map[string]any{"run_id": float64(42)}}, profile: "p"}
	if got, err := d.execute(tm); err != nil || got != "gha-42" {
		t.Errorf("execute(number claim) = %q, %v, want gha-42", got, err)
	}
	d = &templateData{id: &auth.Identity{Claims: map[string]any{}}, profile: "p"}
	var re *RenderError
	if _, err := d.execute(tm); !errors.As(err, &re) || re.Field != "session_name" {
		t.Errorf("execute(missing claim) error = %v, want a RenderError for session_name", err)
	}
	d = &templateData{id: &auth.Identity{Claims: map[string]any{"run_id": strings.Repeat("x", maxRendered)}}, profile: "p"}
	if _, err := d.execute(tm); !errors.As(err, &re) || !errors.Is(err, errTooLarge) {
		t.Errorf("execute(oversized) error = %v, want errTooLarge", err)
	}
}
