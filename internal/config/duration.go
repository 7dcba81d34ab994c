package config

import (
	"fmt"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Duration is a time.Duration written in YAML as Go spells durations: "1h",
// "30m", "900s", "1h30m". A bare integer is an error: "3600" could mean
// seconds (STS's DurationSeconds) or nanoseconds (time.Duration), and a wrong
// guess is off by a factor of a billion.
type Duration time.Duration

// UnmarshalYAML implements yaml.Unmarshaler. Its errors are *yaml.TypeError
// so the decoder keeps going, reports every bad value and adds line numbers.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return typeError(n, "duration must be a string such as 1h or 15m")
	}
	switch n.ShortTag() {
	case "!!null":
		*d = 0
		return nil
	case "!!int", "!!float":
		return typeError(n, fmt.Sprintf("duration %s has no unit; write e.g. %ss or %sm", n.Value, n.Value, n.Value))
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return typeError(n, fmt.Sprintf("invalid duration %q: want e.g. 1h, 30m, 900s", n.Value))
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML implements yaml.Marshaler, so a dumped Config loads again.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// String formats d without zero trailing units: "1h", "1h30m", "15m", "90s"
// becomes "1m30s".
func (d Duration) String() string {
	s := time.Duration(d).String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// typeError reports a bad value at n's line the way yaml's own decoding
// errors do, so Parse prefixes it with the file name like the rest.
func typeError(n *yaml.Node, msg string) error {
	return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %s", n.Line, msg)}}
}
