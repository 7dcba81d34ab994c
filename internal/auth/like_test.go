package auth

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

var likeTests = []struct {
	name    string
	pattern string
	s       string
	want    bool
}{
	{name: "empty-both", pattern: "", s: "", want: true},
	{name: "empty-pattern", pattern: "", s: "a", want: false},
	{name: "literal", pattern: "abc", s: "abc", want: true},
	{name: "literal-case-sensitive", pattern: "abc", s: "ABC", want: false},
	{name: "literal-prefix-only", pattern: "abc", s: "abcd", want: false},
	{name: "anchored-start", pattern: "bc", s: "abc", want: false},
	{name: "star-only", pattern: "*", s: "", want: true},
	{name: "star-anything", pattern: "*", s: "repo:x", want: true},
	{name: "star-middle", pattern: "repo:myorg/*:ref:refs/heads/main", s: "repo:myorg/app:ref:refs/heads/main", want: true},
	{name: "star-middle-wrong-branch", pattern: "repo:myorg/*:ref:refs/heads/main", s: "repo:myorg/app:ref:refs/heads/dev", want: false},
	{name: "star-spans-separators", pattern: "repo:myorg/*", s: "repo:myorg/a:b/c", want: true},
	{name: "star-empty-run", pattern: "a*b", s: "ab", want: true},
	{name: "star-backtrack", pattern: "a*b*c", s: "aXbYbZc", want: true},
	{name: "star-backtrack-fail", pattern: "a*b*c", s: "aXbYbZ", want: false},
	{name: "stars-consecutive", pattern: "a**c", s: "abc", want: true},
	{name: "trailing-star", pattern: "abc*", s: "abc", want: true},
	{name: "question-one", pattern: "a?c", s: "abc", want: true},
	{name: "question-not-empty", pattern: "a?c", s: "ac", want: false},
	{name: "question-not-two", pattern: "a?c", s: "abbc", want: false},
	{name: "question-rune", pattern: "a?c", s: "aéc", want: true},
	{name: "question-star", pattern: "?*", s: "", want: false},
	{name: "regexp-metachars-literal", pattern: "a.b+(c)", s: "a.b+(c)", want: true},
	{name: "regexp-dot-is-literal", pattern: "a.b", s: "axb", want: false},
	{name: "unicode-literal", pattern: "ü*", s: "über", want: true},
	{name: "newline", pattern: "a*b", s: "a\nb", want: true},
}

func TestMatchLike(t *testing.T) {
	for _, tt := range likeTests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MatchLike(tt.pattern, tt.s); got != tt.want {
				t.Errorf("MatchLike(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
			}
		})
	}
}

// likeRegexp is the reference: the pattern as an anchored regular expression.
func likeRegexp(pattern string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString(`\A(?s:`)
	for _, r := range pattern {
		switch r {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString(`)\z`)
	return regexp.Compile(b.String())
}

func FuzzStringLike(f *testing.F) {
	for _, tt := range likeTests {
		f.Add(tt.pattern, tt.s)
	}
	f.Fuzz(func(t *testing.T, pattern, s string) {
		if len(pattern) > 64 || len(s) > 256 || !utf8.ValidString(pattern) || !utf8.ValidString(s) {
			t.Skip()
		}
		re, err := likeRegexp(pattern)
		if err != nil {
			t.Skip()
		}
		if got, want := MatchLike(pattern, s), re.MatchString(s); got != want {
			t.Errorf("MatchLike(%q, %q) = %v, want %v (regexp %s)", pattern, s, got, want, re)
		}
	})
}
