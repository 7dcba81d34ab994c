package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// A session policy is an IAM identity policy that STS intersects with the
// role's permissions; IAM checks its grammar on every AssumeRole and answers
// MalformedPolicyDocument for one it refuses. The grammar does not depend on
// claims (keys are literal, and Effect, Version and Sid are refused when
// templated), so it is checked once, at start-up, on the skeleton: the
// template without its actions, where every value an action prints is an
// empty string.

// policyKeys, statementKeys: the keys IAM's grammar allows at the top level
// of an identity policy and in one of its statements. Principal and
// NotPrincipal are refused with their own message (see checkStatement).
var (
	policyKeys    = []string{"Version", "Id", "Statement"}
	statementKeys = []string{"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition"}
	versions      = []string{"2012-10-17", "2008-10-17"}
)

// node is a JSON value of a skeleton, read in order, so that the grammar
// check knows which strings a template prints into and sees a repeated key
// (a map would keep one of them and hide the other).
type node struct {
	kind byte // '{', '[', '"' for a string, 0 for a number, true, false or null
	str  string
	// templated: an action or block prints into the string.
	templated bool
	keys      []string // an object's keys, in order
	items     []*node  // an object's values (parallel to keys) or an array's items
}

// member returns the value of key in an object, or nil.
func (n *node) member(key string) *node {
	if i := slices.Index(n.keys, key); i >= 0 {
		return n.items[i]
	}
	return nil
}

// readSkeleton reads skeleton, valid JSON (see jsonShape), into nodes.
// templated holds the ordinals of the strings an action prints into (see
// checker.templated). A key repeated in one object is an error: which of
// the two IAM would apply is not defined, and the check below would look at
// one of them only.
func readSkeleton(skeleton []byte, templated map[int]bool) (*node, error) {
	dec := json.NewDecoder(bytes.NewReader(skeleton))
	dec.UseNumber()
	ordinal := 0 // of the next string, keys included
	var read func() (*node, error)
	read = func() (*node, error) {
		tok, err := dec.Token()
		if err != nil {
			return nil, ErrNotObject
		}
		switch t := tok.(type) {
		case json.Delim:
			n := &node{kind: byte(t)}
			for dec.More() {
				if n.kind == '{' {
					tok, err := dec.Token()
					if err != nil {
						return nil, ErrNotObject
					}
					key, _ := tok.(string)
					ordinal++
					if slices.Contains(n.keys, key) {
						return nil, fmt.Errorf("key %q appears twice in one object: which one IAM applies is not defined", key)
					}
					n.keys = append(n.keys, key)
				}
				item, err := read()
				if err != nil {
					return nil, err
				}
				n.items = append(n.items, item)
			}
			if _, err := dec.Token(); err != nil { // the closing delimiter
				return nil, ErrNotObject
			}
			return n, nil
		case string:
			n := &node{kind: '"', str: t, templated: templated[ordinal]}
			ordinal++
			return n, nil
		default:
			return &node{}, nil
		}
	}
	return read()
}

// checkGrammar returns why doc, a skeleton read by readSkeleton, is not a
// session policy in IAM's grammar, or nil: an object with only Version,
// Id and Statement; Version, if present, "2012-10-17" or "2008-10-17" as
// written; Statement an object or a non-empty array of objects (see
// checkStatement) whose Sids, where present, are unique. Condition blocks
// are checked as objects only: their operators and keys are IAM's to judge,
// and they are literal.
func checkGrammar(doc *node) error {
	if err := onlyKeys(doc, "the policy", policyKeys); err != nil {
		return err
	}
	if v := doc.member("Version"); v != nil && !literalIn(v, versions) {
		return errors.New(`the policy's Version must be "2012-10-17" or "2008-10-17", written as it is (not printed by a template action)`)
	}
	if id := doc.member("Id"); id != nil && id.kind != '"' {
		return errors.New("the policy's Id must be a string")
	}
	st := doc.member("Statement")
	switch {
	case st == nil:
		return errors.New("the policy has no Statement, which IAM requires")
	case st.kind == '{':
		return checkStatement(st, "Statement")
	case st.kind != '[' || len(st.items) == 0:
		return errors.New("the policy's Statement must be an object or a non-empty array of objects")
	}
	sids := make(map[string]int) // statement index by Sid
	for i, s := range st.items {
		path := fmt.Sprintf("Statement[%d]", i)
		if s.kind != '{' {
			return fmt.Errorf("%s must be an object", path)
		}
		if err := checkStatement(s, path); err != nil {
			return err
		}
		// IAM refuses a policy that repeats a Sid (MalformedPolicyDocument:
		// "Statement IDs (SID) in a single policy must be unique"), but not
		// a repeated empty one: Terraform's aws_iam_policy_document writes
		// "Sid": "" on every statement without one, and AWS accepts that.
		sid := s.member("Sid")
		if sid == nil || sid.str == "" {
			continue
		}
		if j, ok := sids[sid.str]; ok {
			return fmt.Errorf("%s.Sid %q repeats Statement[%d].Sid: IAM requires a statement's Sid to be unique within the policy, and STS refuses it", path, sid.str, j)
		}
		sids[sid.str] = i
	}
	return nil
}

// checkStatement checks one statement: only the keys of statementKeys;
// Effect "Allow" or "Deny" as written, so that no claim chooses it;
// exactly one of Action and NotAction and one of Resource and NotResource,
// each a string or an array of strings; Condition an object; Sid a string
// of ASCII letters and digits as written, so that no claim decides whether
// STS refuses the policy (see checkSid). checkGrammar checks that Sids are
// unique.
func checkStatement(s *node, path string) error {
	for _, k := range s.keys {
		if k == "Principal" || k == "NotPrincipal" {
			return fmt.Errorf("%s has %s: a session policy cannot have one (it applies to the session it is passed with), and STS refuses it", path, k)
		}
	}
	if err := onlyKeys(s, path, statementKeys); err != nil {
		return err
	}
	if e := s.member("Effect"); e == nil || !literalIn(e, []string{"Allow", "Deny"}) {
		return fmt.Errorf(`%s.Effect must be "Allow" or "Deny", written as it is (not printed by a template action)`, path)
	}
	for _, pair := range [][2]string{{"Action", "NotAction"}, {"Resource", "NotResource"}} {
		v, notV := s.member(pair[0]), s.member(pair[1])
		if (v == nil) == (notV == nil) {
			return fmt.Errorf("%s must have exactly one of %s and %s", path, pair[0], pair[1])
		}
		key := pair[0]
		if v == nil {
			v, key = notV, pair[1]
		}
		if !stringOrStrings(v) {
			return fmt.Errorf("%s.%s must be a string or an array of strings", path, key)
		}
	}
	if c := s.member("Condition"); c != nil && c.kind != '{' {
		return fmt.Errorf("%s.Condition must be an object", path)
	}
	if sid := s.member("Sid"); sid != nil {
		return checkSid(sid, path)
	}
	return nil
}

// checkSid checks a statement's Sid: a string that no action prints into,
// of ASCII letters and digits only. IAM refuses any other character
// ("Statement IDs (SID) must be alpha-numeric. Check that your input
// satisfies the regular expression [0-9A-Za-z]*", MalformedPolicyDocument),
// so a Sid a claim printed into would let the claim decide whether STS
// refuses the policy; and a Sid is a label, which no claim needs to choose.
func checkSid(sid *node, path string) error {
	switch {
	case sid.kind != '"':
		return fmt.Errorf("%s.Sid must be a string", path)
	case sid.templated:
		return fmt.Errorf("%s.Sid must be written as it is (not printed by a template action)", path)
	case strings.ContainsFunc(sid.str, func(r rune) bool { return !isAlphanumeric(r) }):
		return fmt.Errorf("%s.Sid %q must be ASCII letters and digits only (IAM's [0-9A-Za-z]*), and STS refuses it", path, sid.str)
	}
	return nil
}

// isAlphanumeric reports whether r is an ASCII letter or digit.
func isAlphanumeric(r rune) bool {
	return '0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z'
}

// onlyKeys refuses a key of obj that is not in allowed. A key printed by a
// template action never gets here: the checker refuses it.
func onlyKeys(obj *node, where string, allowed []string) error {
	for _, k := range obj.keys {
		if !slices.Contains(allowed, k) {
			return fmt.Errorf("%s has key %q, which IAM's policy grammar does not allow there (want %s)", where, k, strings.Join(allowed, ", "))
		}
	}
	return nil
}

// literalIn reports whether n is a string no action prints into, equal to
// one of want.
func literalIn(n *node, want []string) bool {
	return n.kind == '"' && !n.templated && slices.Contains(want, n.str)
}

// stringOrStrings reports whether n is a string or an array of strings.
func stringOrStrings(n *node) bool {
	if n.kind == '"' {
		return true
	}
	if n.kind != '[' {
		return false
	}
	for _, it := range n.items {
		if it.kind != '"' {
			return false
		}
	}
	return true
}
