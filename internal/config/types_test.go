package config

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
)

func TestDurationUnmarshal(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		want    Duration
		wantErr string
	}{
		{name: "hours", yaml: "d: 1h", want: Duration(time.Hour)},
		{name: "minutes", yaml: "d: 30m", want: Duration(30 * time.Minute)},
		{name: "seconds", yaml: "d: 900s", want: Duration(900 * time.Second)},
		{name: "compound", yaml: "d: 1h30m", want: Duration(90 * time.Minute)},
		{name: "quoted", yaml: `d: "15m"`, want: Duration(15 * time.Minute)},
		{name: "null", yaml: "d: ~", want: 0},
		{name: "bare-integer", yaml: "d: 3600", wantErr: "yaml: unmarshal errors:\n  line 1: duration 3600 has no unit; write e.g. 3600s or 3600m"},
		{name: "float", yaml: "d: 1.5", wantErr: "yaml: unmarshal errors:\n  line 1: duration 1.5 has no unit; write e.g. 1.5s or 1.5m"},
		{name: "quoted-integer", yaml: `d: "3600"`, wantErr: "yaml: unmarshal errors:\n  line 1: invalid duration \"3600\": want e.g. 1h, 30m, 900s"},
		{name: "word", yaml: "d: soon", wantErr: "yaml: unmarshal errors:\n  line 1: invalid duration \"soon\": want e.g. 1h, 30m, 900s"},
		{name: "list", yaml: "d: [1h]", wantErr: "yaml: unmarshal errors:\n  line 1: duration must be a string such as 1h or 15m"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v struct{ D Duration }
			err := yaml.Unmarshal([]byte(tt.yaml), &v)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("Unmarshal() error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Unmarshal() error = %v", err)
			}
			if v.D != tt.want {
				t.Errorf("Unmarshal() = %v, want %v", v.D, tt.want)
			}
		})
	}
}

func TestDurationString(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{in: time.Hour, want: "1h"},
		{in: 90 * time.Minute, want: "1h30m"},
		{in: 15 * time.Minute, want: "15m"},
		{in: 90 * time.Second, want: "1m30s"},
		{in: 2*time.Hour + 5*time.Second, want: "2h0m5s"},
		{in: 0, want: "0s"},
		{in: -time.Hour, want: "-1h"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := Duration(tt.in).String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
			// The output must load back to the same value.
			var back Duration
			if err := yaml.Unmarshal([]byte(tt.want), &back); err != nil || back != Duration(tt.in) {
				t.Errorf("Unmarshal(%q) = %v, %v; want %v", tt.want, back, err, tt.in)
			}
		})
	}
}

func TestStringListUnmarshal(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		want    StringList
		wantErr string
	}{
		{name: "scalar", yaml: "v: repo:myorg/app:ref:refs/heads/main", want: StringList{"repo:myorg/app:ref:refs/heads/main"}},
		{name: "list", yaml: "v: [a, b]", want: StringList{"a", "b"}},
		{name: "block-list", yaml: "v:\n  - a\n  - b\n", want: StringList{"a", "b"}},
		{name: "number-kept-as-written", yaml: "v: 0123", want: StringList{"0123"}},
		{name: "alias", yaml: "x: &x [a]\nv: *x", want: StringList{"a"}},
		{name: "null", yaml: "v: ~", want: nil},
		{name: "empty-list", yaml: "v: []", want: StringList{}},
		{name: "nested-list", yaml: "v: [a, [b]]", wantErr: "yaml: unmarshal errors:\n  line 1: condition value must be a string"},
		{name: "null-element", yaml: "v: [a, ~]", wantErr: "yaml: unmarshal errors:\n  line 1: condition value must be a string"},
		{name: "mapping", yaml: "v: {a: b}", wantErr: "yaml: unmarshal errors:\n  line 1: condition values must be a string or a list of strings"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v struct {
				X any
				V StringList
			}
			err := yaml.Unmarshal([]byte(tt.yaml), &v)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("Unmarshal() error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Unmarshal() error = %v", err)
			}
			if diff := cmp.Diff(tt.want, v.V); diff != "" {
				t.Errorf("Unmarshal() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
