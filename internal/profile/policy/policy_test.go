package policy

import (
	"errors"
	"strings"
	"testing"
	"text/template"
)

// tenantPolicy is the security review's reproduction (see also the profile
// package's tests).
const tenantPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::artifacts/{{ .claims.repository }}/{{ .claims.workflow }}/*"}]}`

// TestTemplateCheckOutput: the check behind the escaping. The template's
// own output passes; the output of the same text without the escaper (as
// if it had a bug) is refused whenever a claim changed its structure.
func TestTemplateCheckOutput(t *testing.T) {
	tests := []struct {
		name     string
		workflow string
		wantErr  error // for the unescaped output
	}{
		{name: "plain", workflow: "build"},
		{name: "added-action", workflow: `x","Action":"s3:PutObject`, wantErr: ErrStructure},
		{name: "added-statement", workflow: `x"},{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::artifacts/myorg/victim`, wantErr: ErrStructure},
		{name: "invalid-json", workflow: `"`, wantErr: ErrStructure},
		{name: "added-key", workflow: `x","Condition":{},"Sid":"`, wantErr: ErrStructure},
		{name: "string-to-number", workflow: `","Resource":1,"X":"`, wantErr: ErrStructure},
	}
	p, err := Parse("policy", tenantPolicy, nil)
	if err != nil {
		t.Fatalf("Parse() error = %v", err)
	}
	unescaped, err := template.New("policy").Option("missingkey=error").Parse(tenantPolicy)
	if err != nil {
		t.Fatalf("template.Parse() error = %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := map[string]any{"claims": map[string]any{"repository": "myorg/app", "workflow": tt.workflow}}
			var escaped, raw strings.Builder
			switch err := p.Execute(&escaped, data); {
			case errors.Is(err, ErrWildcard):
				// Refused before escaping matters ({ of an added object).
			case err != nil:
				t.Fatalf("Execute() error = %v", err)
			default:
				if err := p.CheckOutput(escaped.String()); err != nil {
					t.Errorf("CheckOutput(escaped %s) = %v, want nil", escaped.String(), err)
				}
			}
			if err := unescaped.Execute(&raw, data); err != nil {
				t.Fatalf("Execute() unescaped error = %v", err)
			}
			if err := p.CheckOutput(raw.String()); !errors.Is(err, tt.wantErr) {
				t.Errorf("CheckOutput(unescaped %s) = %v, want %v", raw.String(), err, tt.wantErr)
			}
		})
	}
}

// TestParseRefusesJoins: a $ of the template's text right before an action
// or block, or a { right after one, would make an IAM policy variable with
// the other whenever the action prints nothing (an empty claim, an if that
// did not run, an empty range). The template's own ${…} is the author's
// and stays allowed.
func TestParseRefusesJoins(t *testing.T) {
	const head, tail = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/`, `/x"}]}`
	for _, tt := range []struct {
		name, resource string
		ok             bool
	}{
		{name: "dollar-before-action", resource: `${{ .claims.env }}{aws:username}`},
		{name: "dollar-before-action-alone", resource: `${{ .claims.env }}`},
		{name: "brace-after-action", resource: `{{ .claims.env }}{aws:username}`},
		{name: "dollar-before-if", resource: `${{ if .claims.pr }}x{{ end }}`},
		{name: "brace-after-if", resource: `{{ if .claims.pr }}x{{ end }}{aws:username}`},
		{name: "brace-first-in-body", resource: `{{ if .claims.pr }}{x}{{ end }}`},
		{name: "empty-range-between", resource: `${{ range .claims.g }}{{ . }}{{ end }}{aws:username}`},
		{name: "escaped-dollar-and-brace", resource: `\u0024{{ .claims.env }}\u007Baws:username}`},
		{name: "own-variable", resource: `${aws:username}/{{ .claims.env }}`, ok: true},
		{name: "apart", resource: `$-{{ .claims.env }}-{x}`, ok: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("policy", head+tt.resource+tail, nil)
			if got := err == nil; got != tt.ok {
				t.Errorf("Parse(%s) error = %v, want ok %v", tt.resource, err, tt.ok)
			}
		})
	}
}

// TestCheckLimits: STS's bounds on a policy, at their edges. Length is in
// characters, not bytes: 2048 of ÿ are 4096 bytes of UTF-8 and fit.
func TestCheckLimits(t *testing.T) {
	for _, tt := range []struct {
		name, out string
		wantErr   error
	}{
		{name: "at-limit", out: strings.Repeat("a", MaxLen)},
		{name: "latin-1-at-limit", out: strings.Repeat("ÿ", MaxLen)},
		{name: "over-limit", out: strings.Repeat("a", MaxLen+1), wantErr: ErrTooLong},
		{name: "latin-1-over-limit", out: strings.Repeat("é", MaxLen+1), wantErr: ErrTooLong},
		{name: "tab-newline-return-space-tilde-delete", out: "\t\n\r ~\x7f"},
		{name: "other-control-character", out: "a\x1fb", wantErr: ErrCharset},
		{name: "nul", out: "a\x00b", wantErr: ErrCharset},
		{name: "first-above-latin-1", out: "a\u0100", wantErr: ErrCharset},
		{name: "astral", out: "\U0001F680", wantErr: ErrCharset},
		{name: "invalid-utf8", out: "a\xffb", wantErr: ErrCharset},
		{name: "empty", out: ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckLimits(tt.out)
			if tt.wantErr == nil && err != nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("CheckLimits() = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

// TestParseSkeletonLengthInCharacters: the skeleton's length is counted
// in characters, as STS counts the policy.
func TestParseSkeletonLengthInCharacters(t *testing.T) {
	const head, tail = `{"Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"`, `{{ .claims.x }}"}}`
	pad := MaxLen - len(head) - len(`"}}`)
	if _, err := Parse("policy", head+strings.Repeat("é", pad)+tail, nil); err != nil {
		t.Errorf("Parse(%d characters of skeleton) error = %v, want nil", MaxLen, err)
	}
	if _, err := Parse("policy", head+strings.Repeat("é", pad+1)+tail, nil); err == nil || !strings.Contains(err.Error(), "2049 characters") {
		t.Errorf("Parse(%d characters of skeleton) error = %v, want one saying 2049 characters", MaxLen+1, err)
	}
}
