package ststest

import (
	"encoding/json"
	"fmt"
	"strings"
)

// condition is one (operator, key, values) triple of a Condition block.
type condition struct {
	op       string // base operator, e.g. "StringLike"
	set      string // "", "ForAnyValue" or "ForAllValues"
	ifExists bool
	key      string // lower case: IAM condition keys are case-insensitive
	values   []string
}

// operators lists the supported base operators and whether each is negated.
var operators = map[string]bool{
	"StringEquals":              false,
	"StringNotEquals":           true,
	"StringEqualsIgnoreCase":    false,
	"StringNotEqualsIgnoreCase": true,
	"StringLike":                false,
	"StringNotLike":             true,
	"ArnEquals":                 false,
	"ArnNotEquals":              true,
	"ArnLike":                   false,
	"ArnNotLike":                true,
	"Null":                      false,
}

func parseConditions(raw json.RawMessage) ([]condition, error) {
	var block map[string]map[string]json.RawMessage
	if err := json.Unmarshal(raw, &block); err != nil {
		return nil, fmt.Errorf("condition: %w", err)
	}
	var out []condition
	for _, opName := range sortedKeys(block) {
		c := condition{}
		base := opName
		if rest, ok := strings.CutPrefix(base, "ForAnyValue:"); ok {
			c.set, base = "ForAnyValue", rest
		} else if rest, ok := strings.CutPrefix(base, "ForAllValues:"); ok {
			c.set, base = "ForAllValues", rest
		}
		if rest, ok := strings.CutSuffix(base, "IfExists"); ok && base != "Null" {
			c.ifExists, base = true, rest
		}
		if _, ok := operators[base]; !ok {
			return nil, fmt.Errorf("condition: unsupported operator %q", opName)
		}
		if base == "Null" && (c.set != "" || c.ifExists) {
			return nil, fmt.Errorf("condition: invalid operator %q", opName)
		}
		c.op = base
		keys := block[opName]
		if len(keys) == 0 {
			return nil, fmt.Errorf("condition %s: no keys", opName)
		}
		for _, key := range sortedKeys(keys) {
			vals, err := stringOrList(keys[key])
			if err != nil || len(vals) == 0 {
				return nil, fmt.Errorf("condition %s %s: want a string or a non-empty list", opName, key)
			}
			if base == "Null" {
				for _, v := range vals {
					if v != "true" && v != "false" {
						return nil, fmt.Errorf("condition Null %s: value %q, want true or false", key, v)
					}
				}
			}
			cc := c
			cc.key = strings.ToLower(key)
			cc.values = vals
			out = append(out, cc)
		}
	}
	return out, nil
}

// holds evaluates the condition against the request context (lower-case key → values).
// Semantics (IAM): a missing key makes a condition false, a negated one true, ForAllValues
// true, ForAnyValue false, …IfExists true; several policy values are ORed (negated: none
// may match).
func (c condition) holds(ctx map[string][]string) bool {
	vals := ctx[c.key]
	present := len(vals) > 0
	if c.op == "Null" {
		for _, v := range c.values {
			if (v == "true") != present {
				return true
			}
		}
		return false
	}
	negated := operators[c.op]
	if !present {
		switch {
		case c.ifExists:
			return true
		case c.set == "ForAllValues":
			return true
		case c.set == "ForAnyValue":
			return false
		default:
			return negated
		}
	}
	ok := func(v string) bool { return c.matchAny(v) != negated }
	switch c.set {
	case "ForAllValues":
		for _, v := range vals {
			if !ok(v) {
				return false
			}
		}
		return true
	case "ForAnyValue":
		for _, v := range vals {
			if ok(v) {
				return true
			}
		}
		return false
	default:
		if negated { // must match none of the policy values, for every request value
			for _, v := range vals {
				if c.matchAny(v) {
					return false
				}
			}
			return true
		}
		for _, v := range vals {
			if c.matchAny(v) {
				return true
			}
		}
		return false
	}
}

// matchAny reports whether the request value v matches any policy value under the
// positive form of the operator.
func (c condition) matchAny(v string) bool {
	for _, pv := range c.values {
		var m bool
		switch c.op {
		case "StringEquals", "StringNotEquals", "ArnEquals", "ArnNotEquals":
			m = v == pv
		case "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase":
			m = strings.EqualFold(v, pv)
		case "StringLike", "StringNotLike", "ArnLike", "ArnNotLike":
			m = globMatch(pv, v)
		}
		if m {
			return true
		}
	}
	return false
}

// globMatch matches s against an IAM pattern: '*' any run, '?' one character,
// case-sensitive. Linear time (no backtracking blow-up).
func globMatch(pattern, s string) bool {
	p, str := []rune(pattern), []rune(s)
	pi, si := 0, 0
	star, mark := -1, 0
	for si < len(str) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == str[si]):
			pi++
			si++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}
