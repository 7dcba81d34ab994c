package deploy

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// terraformDir holds every Terraform file the tests check.
const terraformDir = "terraform"

// tfFile is one parsed Terraform file.
type tfFile struct {
	Path string
	Src  []byte
	Body *hclsyntax.Body
}

// terraformFiles returns the paths of every .tf and .tfvars(.example) file
// under terraformDir, sorted.
func terraformFiles(t *testing.T) []string {
	t.Helper()
	var paths []string
	err := filepath.WalkDir(terraformDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".terraform" {
			return filepath.SkipDir
		}
		name := d.Name()
		if !d.IsDir() && (strings.HasSuffix(name, ".tf") || strings.HasSuffix(name, ".tfvars") || strings.HasSuffix(name, ".tfvars.example")) {
			paths = append(paths, path)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", terraformDir, err)
	}
	slices.Sort(paths)
	return paths
}

// parseTerraform parses every Terraform file under terraformDir with hclparse
// and fails the test on any diagnostic.
func parseTerraform(t *testing.T) []tfFile {
	t.Helper()
	p := hclparse.NewParser()
	var files []tfFile
	for _, path := range terraformFiles(t) {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		f, diags := p.ParseHCL(src, path)
		if diags.HasErrors() {
			t.Fatalf("parse %s: %v", path, diags)
		}
		files = append(files, tfFile{Path: path, Src: src, Body: f.Body.(*hclsyntax.Body)})
	}
	if len(files) < 10 {
		t.Fatalf("found %d Terraform files under %s, want the two modules and the example", len(files), terraformDir)
	}
	return files
}

// parseSnippet parses src as a Terraform file named name.
func parseSnippet(t *testing.T, name, src string) tfFile {
	t.Helper()
	f, diags := hclparse.NewParser().ParseHCL([]byte(src), name)
	if diags.HasErrors() {
		t.Fatalf("parse snippet %s: %v", name, diags)
	}
	return tfFile{Path: name, Src: []byte(src), Body: f.Body.(*hclsyntax.Body)}
}

// ref is the source text of an expression that needs evaluation (a
// reference, an interpolating template, a function call), e.g.
// "var.allowed_subjects" or "${local.issuer_host}:aud".
type ref string

// static turns an HCL expression into plain values without evaluating
// anything: objects become map[string]any, tuples []any, constants string,
// and everything else a ref.
func static(e hclsyntax.Expression, src []byte) any {
	switch e := e.(type) {
	case *hclsyntax.ObjectConsExpr:
		m := make(map[string]any, len(e.Items))
		for _, item := range e.Items {
			m[keyString(item.KeyExpr, src)] = static(item.ValueExpr, src)
		}
		return m
	case *hclsyntax.TupleConsExpr:
		l := make([]any, len(e.Exprs))
		for i, x := range e.Exprs {
			l[i] = static(x, src)
		}
		return l
	case *hclsyntax.ParenthesesExpr:
		return static(e.Expression, src)
	}
	if v, diags := e.Value(nil); !diags.HasErrors() && v.IsWhollyKnown() && !v.IsNull() {
		switch v.Type() {
		case cty.String:
			return v.AsString()
		case cty.Number:
			return v.AsBigFloat().String()
		case cty.Bool:
			if v.True() {
				return "true"
			}
			return "false"
		}
	}
	text := strings.TrimSpace(string(e.Range().SliceBytes(src)))
	if _, ok := e.(*hclsyntax.TemplateExpr); ok {
		text = strings.TrimSuffix(strings.TrimPrefix(text, `"`), `"`)
	}
	return ref(text)
}

// keyString returns an object key: a bare word as written, a constant as its
// value, anything else as source text.
func keyString(e hclsyntax.Expression, src []byte) string {
	if k, ok := e.(*hclsyntax.ObjectConsKeyExpr); ok {
		if kw := hcl.ExprAsKeyword(k.Wrapped); kw != "" && !k.ForceNonLiteral {
			return kw
		}
		e = k.Wrapped
	}
	switch v := static(e, src).(type) {
	case string:
		return v
	case ref:
		return string(v)
	}
	return string(e.Range().SliceBytes(src))
}

// jsonencodeCall is one jsonencode(...) found in a Terraform file.
type jsonencodeCall struct {
	// Where is file:line of the call.
	Where string
	// Value is the static form of its argument.
	Value any
}

// jsonencodeCalls returns every jsonencode call with one argument in f.
func jsonencodeCalls(f tfFile) []jsonencodeCall {
	var calls []jsonencodeCall
	hclsyntax.VisitAll(f.Body, func(n hclsyntax.Node) hcl.Diagnostics {
		if c, ok := n.(*hclsyntax.FunctionCallExpr); ok && c.Name == "jsonencode" && len(c.Args) == 1 {
			calls = append(calls, jsonencodeCall{
				Where: c.Range().Filename + ":" + strconv.Itoa(c.Range().Start.Line),
				Value: static(c.Args[0], f.Src),
			})
		}
		return nil
	})
	return calls
}
