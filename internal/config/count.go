package config

import (
	"fmt"

	"go.yaml.in/yaml/v3"
)

// Count is an int written in YAML as an integer. A plain int field would take
// "max_entries: 1.5" as 1 and "max_entries: 0.5" as 0: the decoder truncates a
// float silently. Count refuses it.
type Count int

// UnmarshalYAML implements yaml.Unmarshaler. A float is refused in the
// decoder's own words ("cannot unmarshal !!float `1.5` into int"), which
// rewriteYAMLMessage turns into the key's path and what it takes, as for
// any other wrong type.
func (c *Count) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!float" {
		return typeError(n, fmt.Sprintf("cannot unmarshal !!float `%s` into int", n.Value))
	}
	var v int
	if err := n.Decode(&v); err != nil {
		return err
	}
	*c = Count(v)
	return nil
}
