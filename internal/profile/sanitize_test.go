package profile

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/stsbroker/broker/internal/auth"
)

// stsName is STS's RoleSessionName/SourceIdentity constraint (wire-facts §4.3).
var stsName = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)

// sanitizeTests' hashes were computed with `printf %s INPUT | sha256sum | cut -c1-10`.
var sanitizeTests = []struct {
	name string
	in   string
	want string
}{
	{name: "valid-unchanged", in: "gha-123456789", want: "gha-123456789"},
	{name: "valid-all-punctuation", in: "a_b+c=d,e.f@g-h", want: "a_b+c=d,e.f@g-h"},
	{name: "valid-64-unchanged", in: strings.Repeat("x", 64), want: strings.Repeat("x", 64)},
	{name: "valid-2-unchanged", in: "ab", want: "ab"},
	{name: "colon-and-slash", in: "repo:myorg/app:ref:refs/heads/main", want: "repo-myorg-app-ref-refs-heads-main-0e549879bd"},
	{name: "slash", in: "a/b", want: "a-b-c14cddc033"},
	{name: "colon", in: "a:b", want: "a-b-6783a31eab"},
	{name: "aws-prefix", in: "aws:admin", want: "aws-admin-c923a1cc41"},
	{name: "65-truncated", in: strings.Repeat("x", 65), want: strings.Repeat("x", 53) + "-9537c5fdf1"},
	{name: "one-char", in: "a", want: "a-ca978112ca"},
	{name: "empty", in: "", want: "-e3b0c44298"},
	{name: "unicode-one-dash-per-rune", in: "jürgen", want: "j-rgen-19b720a911"},
}

func TestSanitizeSessionName(t *testing.T) {
	for _, tt := range sanitizeTests {
		t.Run(tt.name, func(t *testing.T) {
			got := SanitizeSessionName(tt.in)
			if got != tt.want {
				t.Errorf("SanitizeSessionName(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if !stsName.MatchString(got) {
				t.Errorf("SanitizeSessionName(%q) = %q, not a valid STS name", tt.in, got)
			}
		})
	}
}

func TestSanitizeSessionNameNoSilentCollision(t *testing.T) {
	tests := []struct {
		name string
		a, b string
	}{
		{name: "replaced-char", a: "repo:org/app", b: "repo/org:app"},
		{name: "replaced-vs-dash", a: "repo:org", b: "repo-org"},
		{name: "differ-after-cut", a: strings.Repeat("y", 70) + "1", b: strings.Repeat("y", 70) + "2"},
		{name: "unicode-vs-dash", a: "ü-x", b: "--x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := SanitizeSessionName(tt.a), SanitizeSessionName(tt.b)
			if a == b {
				t.Errorf("SanitizeSessionName(%q) = SanitizeSessionName(%q) = %q, want different names", tt.a, tt.b, a)
			}
		})
	}
}

func TestSanitizeTagValue(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{name: "valid-unchanged", in: "myorg/app:ref=main+x@y_z.w-v 1", want: "myorg/app:ref=main+x@y_z.w-v 1"},
		{name: "unicode-letters-kept", in: "jürgen 日本 ٣", want: "jürgen 日本 ٣"},
		{name: "others-replaced", in: `a!b#c"d,e`, want: "a_b_c_d_e"},
		{name: "invalid-utf8", in: "a\xffb", want: "a_b"},
		{name: "empty", in: "", want: ""},
		{name: "257-truncated", in: strings.Repeat("v", 257), want: strings.Repeat("v", 256)},
		// U+1D400 MATHEMATICAL BOLD CAPITAL A is a letter outside the BMP:
		// two UTF-16 units, so only 128 fit.
		{name: "astral-counted-twice", in: strings.Repeat("\U0001D400", 200), want: strings.Repeat("\U0001D400", 128)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sanitizeTagValue(tt.in); got != tt.want {
				t.Errorf("sanitizeTagValue(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestValidTagKey(t *testing.T) {
	tests := []struct {
		name string
		key  string
		want bool
	}{
		{name: "plain", key: "repo", want: true},
		{name: "punctuation", key: "aws-org:team/x", want: true},
		{name: "empty", key: "", want: false},
		{name: "128", key: strings.Repeat("k", 128), want: true},
		{name: "129", key: strings.Repeat("k", 129), want: false},
		{name: "bang", key: "a!", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := validTagKey(tt.key); got != tt.want {
				t.Errorf("validTagKey(%q) = %v, want %v", tt.key, got, tt.want)
			}
		})
	}
}

// FuzzRenderSessionName renders the default session name ({{ .claims.sub }})
// through a real Profile: the result is always a valid STS name, the same on
// every call, unchanged when the sub already was one, and otherwise marked
// with the hash of the sub.
func FuzzRenderSessionName(f *testing.F) {
	for _, tt := range sanitizeTests {
		f.Add(tt.in)
	}
	f.Add(strings.Repeat("é", 40))
	f.Add("\xff\xfe")
	p, err := New(Config{
		Name:   "fuzz",
		Issuer: "github",
		Chain:  []HopConfig{{RoleARN: "arn:aws:iam::111111111111:role/r"}},
	})
	if err != nil {
		f.Fatalf("New() error = %v", err)
	}
	f.Fuzz(func(t *testing.T, sub string) {
		// As in a verified token, sub is what the JSON payload decodes to
		// (invalid UTF-8 becomes U+FFFD).
		id := &auth.Identity{Issuer: "github", Payload: payload(map[string]any{"sub": sub})}
		claims, err := id.Claims()
		if err != nil {
			t.Fatalf("Claims() error = %v", err)
		}
		sub = claims["sub"].(string)
		id.Subject = sub
		plan, err := p.Render(id, "token")
		if err != nil {
			t.Fatalf("Render() error = %v", err)
		}
		again, err := p.Render(id, "token")
		if err != nil {
			t.Fatalf("Render() again error = %v", err)
		}
		got := plan.Hops[0].SessionName
		if again.Hops[0].SessionName != got {
			t.Fatalf("Render() session name = %q then %q, want deterministic", got, again.Hops[0].SessionName)
		}
		if !stsName.MatchString(got) {
			t.Fatalf("Render() session name = %q for sub %q, not a valid STS name", got, sub)
		}
		if stsName.MatchString(sub) {
			if got != sub {
				t.Fatalf("Render() session name = %q, want valid sub %q unchanged", got, sub)
			}
			return
		}
		sum := sha256.Sum256([]byte(sub))
		if suffix := "-" + hex.EncodeToString(sum[:5]); !strings.HasSuffix(got, suffix) {
			t.Fatalf("Render() session name = %q for sub %q, want suffix %q", got, sub, suffix)
		}
	})
}

// FuzzSanitizeTagValue: the result is always in STS's tag-value charset and
// at most 256 UTF-16 code units.
func FuzzSanitizeTagValue(f *testing.F) {
	f.Add("myorg/app")
	f.Add("a\xffb!")
	f.Add(strings.Repeat("\U0001D400", 200))
	valid := regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)
	f.Fuzz(func(t *testing.T, in string) {
		got := sanitizeTagValue(in)
		if !utf8.ValidString(got) || !valid.MatchString(got) {
			t.Fatalf("sanitizeTagValue(%q) = %q, not in STS's charset", in, got)
		}
		if n := len(utf16.Encode([]rune(got))); n > 256 {
			t.Fatalf("sanitizeTagValue(%q) has %d UTF-16 units, want ≤ 256", in, n)
		}
	})
}
