package profile

import (
	"text/template"
	"text/template/parse"

	"github.com/stsbroker/broker/internal/auth"
)

// tmpl is a parsed template. Most templates in practice are text and
// references to string values ("gha-{{ .claims.repository }}"); for those,
// fast holds the pieces and Render joins them without text/template's
// reflection, which is most of a cache hit's rendering cost. Anything else,
// and any value that is not a string, goes through text/template, so both
// ways give the same output and the same errors.
type tmpl struct {
	t    *template.Template
	fast []piece // nil: always text/template
}

// piece is literal text or a reference to one string value.
type piece struct {
	ref  ref
	text string // the literal (refText) or the claim's name (refClaim)
}

type ref int

const (
	refText ref = iota
	refClaim
	refIssuer
	refSubject
	refProfile
)

// newTmpl parses text with the options Render relies on.
func newTmpl(field, text string) (*tmpl, error) {
	t, err := template.New(field).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, err
	}
	return &tmpl{t: t, fast: pieces(t)}, nil
}

// pieces returns t's fast form, or nil if t uses anything but text and
// {{ .claims.NAME }}, {{ .issuer }}, {{ .subject }}, {{ .profile }}.
func pieces(t *template.Template) []piece {
	if t.Tree == nil || t.Tree.Root == nil || len(t.Templates()) != 1 {
		return nil
	}
	var out []piece
	for _, n := range t.Tree.Root.Nodes {
		switch n := n.(type) {
		case *parse.TextNode:
			out = append(out, piece{ref: refText, text: string(n.Text)})
		case *parse.ActionNode:
			p, ok := fieldRef(n.Pipe)
			if !ok {
				return nil
			}
			out = append(out, p)
		default:
			return nil
		}
	}
	if out == nil {
		out = []piece{} // an empty template: fast, renders ""
	}
	return out
}

// fieldRef recognises a pipeline that is exactly one field reference.
func fieldRef(pipe *parse.PipeNode) (piece, bool) {
	if pipe == nil || pipe.IsAssign || len(pipe.Decl) != 0 || len(pipe.Cmds) != 1 || len(pipe.Cmds[0].Args) != 1 {
		return piece{}, false
	}
	f, ok := pipe.Cmds[0].Args[0].(*parse.FieldNode)
	if !ok {
		return piece{}, false
	}
	switch {
	case len(f.Ident) == 2 && f.Ident[0] == "claims":
		return piece{ref: refClaim, text: f.Ident[1]}, true
	case len(f.Ident) == 1 && f.Ident[0] == "issuer":
		return piece{ref: refIssuer}, true
	case len(f.Ident) == 1 && f.Ident[0] == "subject":
		return piece{ref: refSubject}, true
	case len(f.Ident) == 1 && f.Ident[0] == "profile":
		return piece{ref: refProfile}, true
	}
	return piece{}, false
}

// executeFast renders t's fast form. ok is false when t has none, when a
// referenced claim is missing or not a string, or when the output would
// exceed maxRendered: text/template then renders it, or reports the error.
func (t *tmpl) executeFast(id *auth.Identity, profile string) (out string, ok bool) {
	if t.fast == nil {
		return "", false
	}
	value := func(p piece) (string, bool) {
		switch p.ref {
		case refText:
			return p.text, true
		case refClaim:
			s, ok := id.Claims[p.text].(string)
			return s, ok
		case refIssuer:
			return id.Issuer, true
		case refSubject:
			return id.Subject, true
		case refProfile:
			return profile, true
		}
		return "", false
	}
	if len(t.fast) == 1 { // the common "{{ .claims.sub }}": no copy
		s, ok := value(t.fast[0])
		return s, ok && len(s) <= maxRendered
	}
	var buf [128]byte
	b := buf[:0]
	for _, p := range t.fast {
		s, ok := value(p)
		if !ok || len(b)+len(s) > maxRendered {
			return "", false
		}
		b = append(b, s...)
	}
	return string(b), true
}
