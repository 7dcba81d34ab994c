package auth

import (
	"encoding/json"
	"slices"
	"strconv"
)

// Operator names, as they appear in a profile and in a [ConditionError].
const (
	OpStringEquals = "StringEquals"
	OpStringLike   = "StringLike"
)

// Conditions are a profile's claim conditions, modelled on IAM condition
// blocks. Each map goes from a claim name to the values it may have.
//
// The values listed for one claim are alternatives (OR); every listed claim
// must match (AND), across both operators. A claim that is a list (aud)
// matches when any element matches. Numbers and booleans compare as their
// JSON text ("12", "true"). A claim that is missing, null or an object never
// matches, as in IAM, where a condition on an absent key is false.
type Conditions struct {
	// StringEquals requires an exact, case-sensitive match.
	StringEquals map[string][]string
	// StringLike requires a match of [MatchLike] patterns.
	StringLike map[string][]string
}

// Match returns nil if claims meet every condition, and otherwise a
// *[ConditionError] naming the first failing operator and claim. Operators are
// checked in a fixed order (StringEquals, then StringLike) and claims in
// sorted order, so the error is deterministic. The error never contains a
// claim value or a pattern.
func (c Conditions) Match(claims map[string]any) error {
	if err := matchOp(OpStringEquals, c.StringEquals, claims, func(want, got string) bool { return want == got }); err != nil {
		return err
	}
	return matchOp(OpStringLike, c.StringLike, claims, MatchLike)
}

func matchOp(op string, conds map[string][]string, claims map[string]any, match func(want, got string) bool) error {
	names := make([]string, 0, len(conds))
	for name := range conds {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if !claimMatches(claims[name], conds[name], match) {
			return &ConditionError{Operator: op, Claim: name}
		}
	}
	return nil
}

// claimMatches reports whether a claim value matches one of wants: a scalar
// as its string form, a list when any of its scalar elements does. A value
// that is missing, null or an object never matches.
func claimMatches(v any, wants []string, match func(want, got string) bool) bool {
	if s, ok := scalarString(v); ok {
		return anyMatch(wants, s, match)
	}
	switch l := v.(type) {
	case []any:
		for _, e := range l {
			if s, ok := scalarString(e); ok && anyMatch(wants, s, match) {
				return true
			}
		}
	case []string:
		for _, s := range l {
			if anyMatch(wants, s, match) {
				return true
			}
		}
	}
	return false
}

func anyMatch(wants []string, got string, match func(want, got string) bool) bool {
	for _, want := range wants {
		if match(want, got) {
			return true
		}
	}
	return false
}

// scalarString is the string form of a string, number or boolean claim.
func scalarString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case int:
		return strconv.Itoa(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case bool:
		return strconv.FormatBool(x), true
	default:
		return "", false
	}
}
