package policy

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"text/template"
	"unicode/utf8"
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
// characters, not bytes: 2048 of ÿ are 4096 bytes of UTF-8 and fit. The
// hop's managed policy ARNs (managed characters) count against the same
// 2048.
func TestCheckLimits(t *testing.T) {
	for _, tt := range []struct {
		name, out string
		managed   int
		wantErr   error
	}{
		{name: "at-limit", out: strings.Repeat("a", MaxLen)},
		{name: "latin-1-at-limit", out: strings.Repeat("ÿ", MaxLen)},
		{name: "over-limit", out: strings.Repeat("a", MaxLen+1), wantErr: ErrTooLong},
		{name: "latin-1-over-limit", out: strings.Repeat("é", MaxLen+1), wantErr: ErrTooLong},
		{name: "with-policy-arns-at-limit", out: strings.Repeat("a", MaxLen-38), managed: 38},
		{name: "with-policy-arns-over-limit", out: strings.Repeat("a", MaxLen-37), managed: 38, wantErr: ErrTooLong},
		{name: "latin-1-with-policy-arns-over-limit", out: strings.Repeat("é", MaxLen-37), managed: 38, wantErr: ErrTooLong},
		{name: "tab-newline-return-space-tilde-delete", out: "\t\n\r ~\x7f"},
		{name: "other-control-character", out: "a\x1fb", wantErr: ErrCharset},
		{name: "nul", out: "a\x00b", wantErr: ErrCharset},
		{name: "first-above-latin-1", out: "a\u0100", wantErr: ErrCharset},
		{name: "astral", out: "\U0001F680", wantErr: ErrCharset},
		// What a token's invalid UTF-8 is once its JSON is decoded, and
		// what the escaper writes for invalid UTF-8 (TestInvalidUTF8).
		{name: "replacement-character", out: "a\ufffdb", wantErr: ErrCharset},
		{name: "replacement-character-escaped", out: `a\ufffdb`},
		{name: "empty", out: ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckLimits(tt.out, tt.managed)
			if tt.wantErr == nil && err != nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("CheckLimits() = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

// TestLengthError: the message says whether the policy ARNs counted, and
// gives sizes only.
func TestLengthError(t *testing.T) {
	for _, tt := range []struct {
		name    string
		out     string
		managed int
		want    string
	}{
		{
			name: "policy-alone",
			out:  strings.Repeat("a", MaxLen+1),
			want: "the claims make the rendered policy longer than the 2048 characters STS accepts (2049 characters)",
		},
		{
			name:    "with-policy-arns",
			out:     strings.Repeat("a", 2000),
			managed: 76,
			want:    "the claims make the rendered policy, together with the hop's policy_arns, longer than the 2048 characters STS accepts for both (2000 characters of policy, 76 of policy ARNs)",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckLimits(tt.out, tt.managed)
			le, ok := errors.AsType[*LengthError](err)
			if !ok || !errors.Is(err, ErrTooLong) {
				t.Fatalf("CheckLimits() = %v, want a *LengthError wrapping ErrTooLong", err)
			}
			if le.Policy != utf8.RuneCountInString(tt.out) || le.Managed != tt.managed {
				t.Errorf("LengthError = %+v, want Policy %d, Managed %d", le, utf8.RuneCountInString(tt.out), tt.managed)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("CheckLimits() error = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestManagedLen: STS counts the ARNs' plaintext: the sum of their lengths.
func TestManagedLen(t *testing.T) {
	for _, tt := range []struct {
		name string
		arns []string
		want int
	}{
		{name: "none", want: 0},
		{name: "one", arns: []string{"arn:aws:iam::aws:policy/ReadOnlyAccess"}, want: 38},
		{name: "two", arns: []string{"arn:aws:iam::aws:policy/ReadOnlyAccess", "arn:aws:iam::123456789012:policy/p"}, want: 38 + 34},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := ManagedLen(tt.arns); got != tt.want {
				t.Errorf("ManagedLen() = %d, want %d", got, tt.want)
			}
		})
	}
}

// TestInvalidUTF8: what happens to invalid UTF-8 in a claim. A token's
// claims are decoded from JSON, which replaces it with U+FFFD: the escaper
// leaves that character as it is and CheckLimits refuses it. Invalid UTF-8
// that reached the escaper as it is (no decoded token holds any) would be
// written as the ASCII escape \ufffd, which STS accepts.
func TestInvalidUTF8(t *testing.T) {
	p, err := Parse("policy", tenantPolicy, nil)
	if err != nil {
		t.Fatalf("Parse() error = %v", err)
	}
	render := func(t *testing.T, claims map[string]any) string {
		t.Helper()
		var out strings.Builder
		if err := p.Execute(&out, map[string]any{"claims": claims}); err != nil {
			t.Fatalf("Execute() error = %v", err)
		}
		return out.String()
	}

	t.Run("decoded-from-token", func(t *testing.T) {
		var claims map[string]any
		if err := json.Unmarshal([]byte("{\"repository\":\"myorg/app\",\"workflow\":\"a\xffb\"}"), &claims); err != nil {
			t.Fatalf("json.Unmarshal() error = %v", err)
		}
		out := render(t, claims)
		if !strings.Contains(out, "/a\ufffdb/") {
			t.Errorf("rendered policy %q, want the workflow with the character U+FFFD", out)
		}
		if err := CheckLimits(out, 0); !errors.Is(err, ErrCharset) {
			t.Errorf("CheckLimits() = %v, want ErrCharset", err)
		}
	})
	t.Run("as-it-is", func(t *testing.T) {
		out := render(t, map[string]any{"repository": "myorg/app", "workflow": "a\xffb"})
		if !strings.Contains(out, `/a\ufffdb/`) {
			t.Errorf("rendered policy %q, want the workflow with the ASCII escape \\ufffd", out)
		}
		if err := CheckLimits(out, 0); err != nil {
			t.Errorf("CheckLimits() = %v, want nil", err)
		}
	})
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
