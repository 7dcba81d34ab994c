package deploy

import (
	"bytes"
	"os"
	"testing"

	"github.com/hashicorp/hcl/v2/hclwrite"
)

// formatProblem says whether src is not canonically formatted HCL.
func formatProblem(path string, src []byte) string {
	if !bytes.Equal(hclwrite.Format(src), src) {
		return path + ": not canonically formatted (run terraform fmt)"
	}
	return ""
}

func TestTerraformFormat(t *testing.T) {
	for _, path := range terraformFiles(t) {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if p := formatProblem(path, src); p != "" {
			t.Errorf("%s", p)
		}
	}
}

func TestFormatCheckFails(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want string
	}{
		{name: "canonical", src: "a = 1\nbb = {\n  c = 2\n}\n", want: ""},
		{name: "unaligned-equals", src: "a = 1\nbb = 2\n", want: "bad.tf: not canonically formatted (run terraform fmt)"},
		{name: "wrong-indent", src: "x {\n    y = 1\n}\n", want: "bad.tf: not canonically formatted (run terraform fmt)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := formatProblem("bad.tf", []byte(tt.src)); got != tt.want {
				t.Errorf("formatProblem(%q) = %q, want %q", tt.src, got, tt.want)
			}
		})
	}
}
