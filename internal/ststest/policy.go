package ststest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

const maxPolicyBytes = 10 * 1024

// policy is a parsed trust (assume-role) policy.
type policy struct {
	statements []statement
}

type statement struct {
	deny         bool
	anyPrincipal bool     // "Principal": "*"
	aws          []string // normalised: "*", arn:aws:iam::ACCT:root, or a full ARN
	federated    []string
	actions      []string // lower-case patterns
	conditions   []condition
}

var actionRE = regexp.MustCompile(`^(\*|[A-Za-z0-9-]+:[A-Za-z0-9*?]+)$`)

// parsePolicy parses and validates a trust policy document. It refuses what IAM refuses for
// a trust policy (Resource, missing Principal) and what the emulator does not evaluate
// (NotPrincipal, NotAction, unknown condition operators) rather than silently allowing it.
func parsePolicy(doc string) (*policy, error) {
	if len(doc) > maxPolicyBytes {
		return nil, fmt.Errorf("trust policy: %d bytes, at most %d", len(doc), maxPolicyBytes)
	}
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.DisallowUnknownFields()
	var raw struct {
		Version   string          `json:"Version"`
		ID        string          `json:"Id"`
		Statement json.RawMessage `json:"Statement"`
	}
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("trust policy: %w", err)
	}
	if dec.More() {
		return nil, errors.New("trust policy: trailing data after the document")
	}
	if raw.Version != "2012-10-17" && raw.Version != "2008-10-17" {
		return nil, fmt.Errorf("trust policy: Version %q, want 2012-10-17", raw.Version)
	}
	var rawStmts []json.RawMessage
	switch trimmed := bytes.TrimSpace(raw.Statement); {
	case len(trimmed) == 0:
		return nil, errors.New("trust policy: missing Statement")
	case trimmed[0] == '[':
		if err := json.Unmarshal(trimmed, &rawStmts); err != nil {
			return nil, fmt.Errorf("trust policy: Statement: %w", err)
		}
	default:
		rawStmts = []json.RawMessage{trimmed}
	}
	if len(rawStmts) == 0 {
		return nil, errors.New("trust policy: empty Statement")
	}
	p := &policy{}
	for i, rs := range rawStmts {
		st, err := parseStatement(rs)
		if err != nil {
			return nil, fmt.Errorf("trust policy: statement %d: %w", i, err)
		}
		p.statements = append(p.statements, st)
	}
	return p, nil
}

func parseStatement(raw json.RawMessage) (statement, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return statement{}, err
	}
	var st statement
	for k := range fields {
		switch k {
		case "Sid", "Effect", "Principal", "Action", "Condition":
		case "Resource", "NotResource":
			return statement{}, fmt.Errorf("has prohibited field %s", k)
		default:
			return statement{}, fmt.Errorf("unsupported field %q", k)
		}
	}
	var effect string
	if err := json.Unmarshal(fields["Effect"], &effect); err != nil || (effect != "Allow" && effect != "Deny") {
		return statement{}, errors.New(`effect must be "Allow" or "Deny"`)
	}
	st.deny = effect == "Deny"
	if err := st.parsePrincipal(fields["Principal"]); err != nil {
		return statement{}, err
	}
	actions, err := stringOrList(fields["Action"])
	if err != nil || len(actions) == 0 {
		return statement{}, errors.New("action must be a string or a non-empty list of strings")
	}
	for _, a := range actions {
		if !actionRE.MatchString(a) {
			return statement{}, fmt.Errorf("invalid action %q", a)
		}
		st.actions = append(st.actions, strings.ToLower(a))
	}
	if c, ok := fields["Condition"]; ok {
		if st.conditions, err = parseConditions(c); err != nil {
			return statement{}, err
		}
	}
	return st, nil
}

func (st *statement) parsePrincipal(raw json.RawMessage) error {
	if len(raw) == 0 {
		return errors.New("missing Principal")
	}
	var star string
	if json.Unmarshal(raw, &star) == nil {
		if star != "*" {
			return fmt.Errorf("principal %q: want \"*\" or an object", star)
		}
		st.anyPrincipal = true
		return nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || len(obj) == 0 {
		return errors.New("principal must be \"*\" or a non-empty object")
	}
	for kind, v := range obj {
		vals, err := stringOrList(v)
		if err != nil || len(vals) == 0 {
			return fmt.Errorf("principal %s must be a string or a non-empty list of strings", kind)
		}
		switch kind {
		case "AWS":
			for _, a := range vals {
				n, err := normaliseAWSPrincipal(a)
				if err != nil {
					return err
				}
				st.aws = append(st.aws, n)
			}
		case "Federated":
			for _, f := range vals {
				if !providerARNRE.MatchString(f) && !strings.Contains(f, ".") {
					return fmt.Errorf("invalid Federated principal %q", f)
				}
			}
			st.federated = append(st.federated, vals...)
		case "Service", "CanonicalUser":
			// Valid in IAM, never matches a caller of the emulator.
		default:
			return fmt.Errorf("invalid principal type %q", kind)
		}
	}
	return nil
}

// normaliseAWSPrincipal turns "ACCT" into arn:aws:iam::ACCT:root and checks the ARN shape.
// IAM rejects wildcards inside principal ARNs; so does this.
func normaliseAWSPrincipal(p string) (string, error) {
	switch {
	case p == "*":
		return p, nil
	case accountRE.MatchString(p):
		return "arn:aws:iam::" + p + ":root", nil
	case strings.ContainsAny(p, "*?"):
		return "", fmt.Errorf("invalid principal %q: wildcards are not allowed in principal ARNs", p)
	case rootARNRE.MatchString(p), roleARNRE.MatchString(p), userARNRE.MatchString(p), assumedRoleARNRE.MatchString(p):
		return p, nil
	default:
		return "", fmt.Errorf("invalid principal %q", p)
	}
}

// stringOrList decodes a JSON string or array of strings. Numbers and booleans are taken
// as their JSON text, as IAM does for condition values.
func stringOrList(raw json.RawMessage) ([]string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil, errors.New("missing value")
	}
	if raw[0] == '[' {
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, err
		}
		out := make([]string, 0, len(items))
		for _, it := range items {
			s, err := scalar(it)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, nil
	}
	s, err := scalar(raw)
	if err != nil {
		return nil, err
	}
	return []string{s}, nil
}

func scalar(raw json.RawMessage) (string, error) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", err
	}
	switch t := v.(type) {
	case string:
		return t, nil
	case bool, float64:
		return string(bytes.TrimSpace(raw)), nil
	default:
		return "", fmt.Errorf("want a string, got %s", bytes.TrimSpace(raw))
	}
}

// sortedKeys returns m's keys in order (deterministic parse errors).
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
