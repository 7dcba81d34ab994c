package config

import "go.yaml.in/yaml/v3"

// StringList is a condition's values: YAML accepts a single scalar
// ("sub: repo:myorg/app:ref:refs/heads/main") or a sequence of scalars
// ("aud: [a, b]"). Any of the values may match. Numbers and booleans are kept
// as written ("repository_id: 123" is the string "123").
type StringList []string

// UnmarshalYAML implements yaml.Unmarshaler.
func (l *StringList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	switch n.Kind {
	case yaml.ScalarNode:
		if n.ShortTag() == "!!null" {
			*l = nil
			return nil
		}
		*l = StringList{n.Value}
		return nil
	case yaml.SequenceNode:
		out := make(StringList, 0, len(n.Content))
		for _, e := range n.Content {
			if e.Kind == yaml.AliasNode && e.Alias != nil {
				e = e.Alias
			}
			if e.Kind != yaml.ScalarNode || e.ShortTag() == "!!null" {
				return typeError(e, "condition value must be a string")
			}
			out = append(out, e.Value)
		}
		*l = out
		return nil
	default:
		return typeError(n, "condition values must be a string or a list of strings")
	}
}
