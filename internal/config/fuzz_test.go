package config

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoadConfig checks that Parse never panics and that its two outcomes are
// consistent: a config and no error, whose Validate agrees, or an error and
// no config.
func FuzzLoadConfig(f *testing.F) {
	for _, tt := range validateTests {
		f.Add([]byte(tt.yaml))
	}
	files, _ := filepath.Glob("../../configs/*.yaml")
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("a: &a [*a, *a]\n"))
	f.Add([]byte("---\n---\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("fuzz.yaml", data)
		switch {
		case err != nil && cfg != nil:
			t.Fatalf("Parse() = %v, %v; want no config with an error", cfg, err)
		case err == nil && cfg == nil:
			t.Fatal("Parse() = nil, nil")
		case err == nil:
			if verr := cfg.Validate(); verr != nil {
				t.Fatalf("Validate() of a parsed config = %v, want nil", verr)
			}
		}
	})
}
