package ststest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
)

// Messages of MalformedPolicyDocument. The first three are IAM's words as
// seen in real answers; IAM has more specific ones for some other cases,
// which the emulator does not try to match.
const (
	msgPolicyNotJSON   = "The policy is not in the valid JSON format."
	msgPolicyPrincipal = "Policy document should not specify a principal."
	msgPolicyActions   = "Policy statement must contain actions."
	msgPolicyResources = "Policy statement must contain resources."
	msgPolicySyntax    = "Syntax errors in policy."
	// IAM's words for a Sid, as its answers to CreatePolicy and
	// PutRolePolicy give them; that STS words a session policy's the same
	// is assumed.
	msgPolicySidChars  = "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*"
	msgPolicySidUnique = "Statement IDs (SID) in a single policy must be unique."
)

// checkSessionPolicy answers MalformedPolicyDocument (HTTP 400) unless doc,
// the Policy parameter of AssumeRole or AssumeRoleWithWebIdentity, is a
// session policy in IAM's grammar for an identity policy, as STS does:
//
//   - one JSON object with only Version, Id and Statement; Version, if
//     present, "2012-10-17" or "2008-10-17"; Id a string;
//   - Statement present, an object or a non-empty array of objects;
//   - each statement with only Sid (a string of ASCII letters and digits,
//     unique among the statements), Effect ("Allow" or "Deny"), Action or
//     NotAction (exactly one), Resource or NotResource (exactly one), each
//     a string or an array of strings, and Condition (an object); no
//     Principal or NotPrincipal: a session policy applies to the session
//     it is passed with.
//
// Condition operators and keys, action and resource names are not checked.
// A repeated key is read as encoding/json reads it (the last one wins). The
// length and character-set limits are ValidationErrors, checked before this
// (see parseAssume). It shares no code with the broker's own check (package
// profile/policy), which this emulator is there to test.
func checkSessionPolicy(doc string) *apiError {
	malformed := func(msg string) *apiError {
		return newError(http.StatusBadRequest, "MalformedPolicyDocument", "%s", msg)
	}
	if !validJSON(doc) {
		return malformed(msgPolicyNotJSON)
	}
	var top map[string]json.RawMessage
	if json.Unmarshal([]byte(doc), &top) != nil || top == nil {
		return malformed(msgPolicySyntax)
	}
	for k := range top {
		if k != "Version" && k != "Id" && k != "Statement" {
			return malformed(msgPolicySyntax)
		}
	}
	if v, ok := top["Version"]; ok && !jsonStringIn(v, "2012-10-17", "2008-10-17") {
		return malformed(msgPolicySyntax)
	}
	if id, ok := top["Id"]; ok && !jsonString(id) {
		return malformed(msgPolicySyntax)
	}
	stmts, ok := statements(top["Statement"])
	if !ok {
		return malformed(msgPolicySyntax)
	}
	sids := make(map[string]bool)
	for _, st := range stmts {
		if msg := checkSessionStatement(st); msg != "" {
			return malformed(msg)
		}
		// An empty Sid may repeat: Terraform's aws_iam_policy_document
		// writes "Sid": "" on every statement without one, and AWS
		// accepts it.
		if raw, ok := st["Sid"]; ok {
			var sid string
			_ = json.Unmarshal(raw, &sid) // a string: checkSessionStatement
			if sid == "" {
				continue
			}
			if sids[sid] {
				return malformed(msgPolicySidUnique)
			}
			sids[sid] = true
		}
	}
	return nil
}

// statements returns the statements of a Statement element: one object, or
// a non-empty array of objects.
func statements(raw json.RawMessage) ([]map[string]json.RawMessage, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil, false
	}
	var one map[string]json.RawMessage
	if raw[0] == '{' {
		if json.Unmarshal(raw, &one) != nil {
			return nil, false
		}
		return []map[string]json.RawMessage{one}, true
	}
	var items []json.RawMessage
	if raw[0] != '[' || json.Unmarshal(raw, &items) != nil || len(items) == 0 {
		return nil, false
	}
	out := make([]map[string]json.RawMessage, 0, len(items))
	for _, it := range items {
		var st map[string]json.RawMessage
		if json.Unmarshal(it, &st) != nil || st == nil {
			return nil, false
		}
		out = append(out, st)
	}
	return out, true
}

// checkSessionStatement returns the MalformedPolicyDocument message for
// st, or "".
func checkSessionStatement(st map[string]json.RawMessage) string {
	if _, ok := st["Principal"]; ok {
		return msgPolicyPrincipal
	}
	if _, ok := st["NotPrincipal"]; ok {
		return msgPolicyPrincipal
	}
	for k := range st {
		switch k {
		case "Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition":
		default:
			return msgPolicySyntax
		}
	}
	if !jsonStringIn(st["Effect"], "Allow", "Deny") {
		return msgPolicySyntax
	}
	for _, pair := range []struct{ key, notKey, missing string }{
		{"Action", "NotAction", msgPolicyActions},
		{"Resource", "NotResource", msgPolicyResources},
	} {
		v, has := st[pair.key]
		nv, hasNot := st[pair.notKey]
		switch {
		case !has && !hasNot:
			return pair.missing
		case has && hasNot:
			return msgPolicySyntax
		case hasNot:
			v = nv
		}
		if !jsonStrings(v) {
			return msgPolicySyntax
		}
	}
	if c, ok := st["Condition"]; ok {
		var obj map[string]json.RawMessage
		if json.Unmarshal(c, &obj) != nil || obj == nil {
			return msgPolicySyntax
		}
	}
	if sid, ok := st["Sid"]; ok {
		if !jsonString(sid) {
			return msgPolicySyntax
		}
		var s string
		_ = json.Unmarshal(sid, &s)
		if !sidRE.MatchString(s) {
			return msgPolicySidChars
		}
	}
	return ""
}

// sidRE is IAM's pattern for a statement's Sid.
var sidRE = regexp.MustCompile(`^[0-9A-Za-z]*$`)

// jsonString reports whether raw is a JSON string.
func jsonString(raw json.RawMessage) bool {
	var s string
	return json.Unmarshal(raw, &s) == nil && bytes.HasPrefix(bytes.TrimSpace(raw), []byte(`"`))
}

// jsonStringIn reports whether raw is a JSON string equal to one of want.
func jsonStringIn(raw json.RawMessage, want ...string) bool {
	var s string
	return jsonString(raw) && json.Unmarshal(raw, &s) == nil && slices.Contains(want, s)
}

// jsonStrings reports whether raw is a JSON string or an array of strings.
func jsonStrings(raw json.RawMessage) bool {
	if jsonString(raw) {
		return true
	}
	var items []json.RawMessage
	if !bytes.HasPrefix(bytes.TrimSpace(raw), []byte("[")) || json.Unmarshal(raw, &items) != nil {
		return false
	}
	for _, it := range items {
		if !jsonString(it) {
			return false
		}
	}
	return true
}
