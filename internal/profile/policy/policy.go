// Package policy parses the template of an inline session policy so that
// the claims it is executed over can change the text of its JSON strings
// and nothing else.
//
// A session policy is JSON, and its template is executed over claims a
// caller may choose (GitHub's workflow and head_ref, GitLab's environment
// are free text). text/template knows nothing of JSON: a claim holding `"}`
// would end its string and add statements to the policy. So a policy
// template is held to the rule html/template applies to HTML, reduced to the
// one context a policy needs:
//
//   - [Parse] refuses a template unless every {{ }} (an action, or a whole
//     if, range or with block) sits inside a JSON string that is a value,
//     not an object's key, and the template with its actions removed is a
//     JSON object;
//   - every action's output is escaped as JSON string content: Parse
//     appends an escaping function to its pipeline, as html/template appends
//     its escapers. An output holding *, ?, $ or { fails the execution
//     ([ErrWildcard]): JSON escaping leaves them as they are, and IAM would
//     read them as wildcards or a policy variable, so a claim such as a
//     free-text workflow name "*" would widen a Resource to every tenant's.
//     $ and { are refused on their own, not only as ${: a variable can be
//     split across two outputs (two claims, two items of a range) or an
//     output and the template's text;
//   - [Template.CheckOutput] tells whether a rendered policy has the
//     template's JSON structure, in case the two above ever disagree.
//
// It also holds a template to what STS accepts, so that a policy STS would
// refuse fails at start-up or, when claims make it so, before any STS call:
// Parse refuses a template whose own text is over [MaxLen] characters or
// holds a character outside STS's set, or that is not a session policy in
// IAM's grammar (keys, Effect, Version and Sid written as they are, Sids
// alphanumeric and unique, no Principal); [Template.CheckManaged] and
// [CheckARNs] refuse a template whose text, with the hop's managed policy
// ARNs, is already over MaxLen characters; [CheckLimits] refuses a rendered
// policy that claims made too long (alone or with those ARNs) or put such a
// character into.
//
// The package uses only the standard library: config validation calls
// [Check] without importing the rest of the broker.
package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/template"
)

// escaperName is the function appended to every printing action. It is
// registered for policy templates only.
const escaperName = "_policyJSONString"

var (
	// ErrNotObject: the template, its actions removed, is not a JSON object.
	ErrNotObject = errors.New("not a JSON object")
	// ErrStructure: a rendered policy is not JSON with the template's
	// structure.
	ErrStructure = errors.New("rendered policy does not have the template's JSON structure")
	// ErrWildcard: an action printed *, ?, $ or {, which IAM would read as
	// a wildcard or as part of a policy variable, not as the claim's text.
	ErrWildcard = errors.New("a value printed into the policy holds *, ?, $ or { (an IAM wildcard or part of a policy variable)")
)

// Template is a parsed, checked and escaping policy template. It is safe for
// concurrent use.
type Template struct {
	tmpl *template.Template
	// shape is the JSON token sequence of the template with its actions
	// removed, every string replaced by stringToken: the structure every
	// output must have.
	shape []json.Token
	// minLen is the length in characters of the template's text without
	// its actions, which every rendering holds.
	minLen int
}

// Check returns why text cannot be the template of an inline session
// policy sent with the managed policy ARNs arns (nil for none), or nil; see
// [Parse] and [Template.CheckManaged].
func Check(text string, arns []string) error {
	t, err := Parse("policy", text, nil)
	if err != nil {
		return err
	}
	return t.CheckManaged(arns)
}

// Parse parses text as a text/template named name, with missingkey=error
// and funcs, and makes every action escape its output as JSON string
// content. It refuses a template that does not parse, an action ({{ }})
// outside a JSON string, within an escape or in an object's key, the text
// of an if, range or with block that ends the string the block starts in
// (or ends within an escape), invalid string content (a control character,
// an unknown escape), a character STS refuses in a policy, {{ define }},
// {{ block }} and {{ template }}, and a template that, its actions removed
// (its skeleton), is not a JSON object, is longer than [MaxLen] characters
// or is not a session policy in IAM's grammar (see checkGrammar): STS would
// refuse every rendering of it.
func Parse(name, text string, funcs template.FuncMap) (*Template, error) {
	t, err := template.New(name).Option("missingkey=error").Funcs(funcs).
		Funcs(template.FuncMap{escaperName: escape}).Parse(text)
	if err != nil {
		return nil, err
	}
	// A {{ template }} runs another tree, which the check does not follow.
	// Nothing a policy needs calls for one.
	if len(t.Templates()) > 1 {
		return nil, errors.New("{{ define }} and {{ block }} are not supported in a policy")
	}
	if t.Tree == nil {
		return nil, ErrNotObject
	}
	c := checker{text: text}
	if err := c.walk(t.Tree.Root, false); err != nil {
		return nil, err
	}
	shape, err := jsonShape(c.skeleton.Bytes())
	if err != nil {
		return nil, err
	}
	minLen, err := checkSkeletonLength(c.skeleton.Bytes())
	if err != nil {
		return nil, err
	}
	doc, err := readSkeleton(c.skeleton.Bytes(), c.templated)
	if err != nil {
		return nil, err
	}
	if err := checkGrammar(doc); err != nil {
		return nil, err
	}
	return &Template{tmpl: t, shape: shape, minLen: minLen}, nil
}

// Name returns the template's name.
func (t *Template) Name() string { return t.tmpl.Name() }

// Execute renders the policy over data into w. Check what it wrote with
// CheckOutput.
func (t *Template) Execute(w io.Writer, data any) error { return t.tmpl.Execute(w, data) }

// CheckOutput returns ErrStructure unless out, an output of Execute, is
// JSON with the template's structure: the same tokens, strings aside.
func (t *Template) CheckOutput(out string) error {
	if shape, err := jsonShape([]byte(out)); err != nil || !slices.Equal(shape, t.shape) {
		return ErrStructure
	}
	return nil
}

// stringToken stands for every string in a shape.
type stringToken struct{}

// jsonShape returns the tokens of doc, a JSON object, with every string
// (keys included) replaced by stringToken, or ErrNotObject.
func jsonShape(doc []byte) ([]json.Token, error) {
	if !json.Valid(doc) {
		return nil, ErrNotObject
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber() // numbers compare by their text
	var shape []json.Token
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, ErrNotObject
		}
		if _, ok := tok.(string); ok {
			tok = stringToken{}
		}
		shape = append(shape, tok)
	}
	if len(shape) == 0 || shape[0] != json.Delim('{') {
		return nil, ErrNotObject
	}
	return shape, nil
}

// escape is the function appended to every printing action: v printed as
// text/template prints it, then escaped as the content of a JSON string
// (RFC 8259 §7) by encoding/json: quotation mark, backslash and control
// characters, U+2028 and U+2029, and invalid UTF-8 (written as the ASCII
// escape \ufffd; a token's claims hold none, since decoding its JSON
// already replaced it with the character U+FFFD, which stays as it is).
// <, > and & are left as they are (SetEscapeHTML(false)): a policy is read
// by IAM, never by a browser, and the rendered policy is logged and
// compared, so it should read as written. An output holding *, ?, $ or {
// is refused with ErrWildcard.
func escape(v any) (string, error) {
	s := "<no value>" // what text/template prints for a null, as from range
	if v != nil {
		s = fmt.Sprint(v)
	}
	if strings.ContainsAny(s, "*?${") {
		return "", ErrWildcard
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	out := b.Bytes()
	return string(out[1 : len(out)-2]), nil // without the quotes and newline
}
