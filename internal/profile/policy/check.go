package policy

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"text/template/parse"
)

// checker walks a policy's parse tree in output order, following the JSON
// lexical state of the text around the actions.
type checker struct {
	text     string // the template, for error positions
	lex      lexer
	skeleton bytes.Buffer // the top-level text: the template without its actions

	// dollar: the text just before the next node ended in $; printed: an
	// action or block came just before the next text. Together they refuse
	// a $ and a { of the template's text that an empty output (an empty
	// claim, an if that did not run) would join into an IAM policy variable.
	dollar, printed bool

	// templated holds the ordinals (see lexer.strings) of the skeleton's
	// strings that an action or block prints into: values a claim can
	// change, which the grammar check refuses where IAM's grammar must be
	// written as it is (Effect, Version).
	templated map[int]bool
}

// claims records that n, an action that prints or a block, is in the
// string being read, and refuses it in an object's key: the keys are IAM's
// grammar (Effect, Resource, a condition operator or key), and a claim
// choosing one would choose what the policy means.
func (c *checker) claims(n parse.Node) error {
	if c.lex.inKey {
		return fmt.Errorf("template actions must not be in a JSON key (keys are IAM's policy grammar: write them as they are): %s at %s", clip(n.String()), c.atNode(n))
	}
	if c.templated == nil {
		c.templated = make(map[int]bool)
	}
	c.templated[c.lex.strings-1] = true
	return nil
}

// joins refuses a $ right before an action or block, such as the "${{" of
// GitHub workflow syntax: see checker.dollar.
func (c *checker) joins(n parse.Node) error {
	if c.dollar {
		return fmt.Errorf("a $ right before %s at %s would make ${ with a { after it when it prints nothing (an IAM policy variable)", clip(n.String()), c.atNode(n))
	}
	return nil
}

// walk checks list and appends the escaper to its printing actions. inBlock
// reports whether list is the body of an if, range or with: its text must
// stay inside the string the block starts in, and is not part of the
// skeleton (each body keeps the JSON valid on its own, since any of them may
// run, once or many times).
func (c *checker) walk(list *parse.ListNode, inBlock bool) error {
	if list == nil {
		return nil
	}
	for _, n := range list.Nodes {
		switch n := n.(type) {
		case *parse.TextNode:
			if err := c.textNode(n, inBlock); err != nil {
				return err
			}
		case *parse.CommentNode:
			// Prints nothing.
		case *parse.ActionNode:
			if !c.lex.inContent() {
				return c.outside(n)
			}
			if err := c.joins(n); err != nil {
				return err
			}
			c.dollar, c.printed = false, true
			// An action that declares or assigns a variable prints nothing;
			// escaping its value would escape it twice when printed.
			if len(n.Pipe.Decl) == 0 {
				if err := c.claims(n); err != nil {
					return err
				}
				n.Pipe.Cmds = append(n.Pipe.Cmds, &parse.CommandNode{
					NodeType: parse.NodeCommand,
					Pos:      n.Pos,
					Args:     []parse.Node{parse.NewIdentifier(escaperName).SetPos(n.Pos)},
				})
			}
		case *parse.BreakNode, *parse.ContinueNode:
			// They end a range body early: the state there is the body's
			// end state.
			if !c.lex.inContent() {
				return c.outside(n)
			}
		case *parse.IfNode:
			if err := c.block(n, &n.BranchNode); err != nil {
				return err
			}
		case *parse.RangeNode:
			if err := c.block(n, &n.BranchNode); err != nil {
				return err
			}
		case *parse.WithNode:
			if err := c.block(n, &n.BranchNode); err != nil {
				return err
			}
		case *parse.TemplateNode:
			return errors.New("{{ template }} is not supported in a policy")
		default:
			return fmt.Errorf("%s at %s is not supported in a policy", clip(n.String()), c.atNode(n))
		}
	}
	return nil
}

// block checks an if, range or with: it must start inside a string, and
// each of its bodies must end inside that string (not within an escape), so
// the text after the block is read in the same state whichever body ran.
func (c *checker) block(n parse.Node, b *parse.BranchNode) error {
	if !c.lex.inContent() {
		return c.outside(n)
	}
	if err := c.joins(n); err != nil {
		return err
	}
	if err := c.claims(n); err != nil {
		return err
	}
	for _, body := range []*parse.ListNode{b.List, b.ElseList} {
		c.dollar, c.printed = false, true
		if err := c.walk(body, true); err != nil {
			return err
		}
		if !c.lex.inContent() {
			return fmt.Errorf("the text of %s at %s must stay inside its JSON string", clip(n.String()), c.atNode(n))
		}
	}
	c.dollar, c.printed = false, true
	return nil
}

func (c *checker) textNode(n *parse.TextNode, inBlock bool) error {
	if c.printed && len(n.Text) > 0 && n.Text[0] == '{' {
		return fmt.Errorf("a { right after an action or block at %s would make ${ with a $ before it when it prints nothing (an IAM policy variable)", c.at(int(n.Pos)))
	}
	// Written as escapes, $ and { would get past the two checks above.
	if lower := bytes.ToLower(n.Text); bytes.Contains(lower, []byte(`\u0024`)) || bytes.Contains(lower, []byte(`\u007b`)) {
		return fmt.Errorf("write $ and { as themselves, not as \\u escapes (at %s)", c.at(int(n.Pos)))
	}
	c.dollar, c.printed = bytes.HasSuffix(n.Text, []byte("$")), false
	for i, b := range n.Text {
		wasString := c.lex.inString
		if !c.lex.next(b) {
			return fmt.Errorf("invalid character or escape in a JSON string at %s", c.at(int(n.Pos)+i))
		}
		if inBlock && wasString && !c.lex.inString {
			return fmt.Errorf("the text of an if, range or with block must not end the JSON string it is in (at %s)", c.at(int(n.Pos)+i))
		}
	}
	// Block bodies too: STS refuses the character whenever one runs.
	for i, r := range string(n.Text) {
		if !stsRune(r) {
			return fmt.Errorf("%U at %s is a character STS refuses in a policy (it accepts tab, newline, carriage return and U+0020 to U+00FF)", r, c.at(int(n.Pos)+i))
		}
	}
	if !inBlock {
		c.skeleton.Write(n.Text)
	}
	return nil
}

func (c *checker) outside(n parse.Node) error {
	return fmt.Errorf("template actions must be inside JSON strings: %s at %s", clip(n.String()), c.atNode(n))
}

// atNode formats where n's {{ is. A node's Position is that of its first
// token (".claims.x" in "{{ .claims.x }}", the pipeline after "if"), and
// nothing between the delimiter and that token can contain "{{".
func (c *checker) atNode(n parse.Node) string {
	pos := min(int(n.Position()), len(c.text))
	if i := strings.LastIndex(c.text[:pos], "{{"); i >= 0 {
		pos = i
	}
	return c.at(pos)
}

// at formats a byte offset of the template as line:column, both from 1.
func (c *checker) at(pos int) string {
	before := c.text[:min(pos, len(c.text))]
	line := strings.Count(before, "\n") + 1
	col := len(before) - strings.LastIndexByte(before, '\n')
	return fmt.Sprintf("%d:%d", line, col)
}

// clip shortens a node's text for an error message.
func clip(s string) string {
	const maxLen = 40
	if len(s) > maxLen {
		return s[:maxLen] + "…"
	}
	return s
}

// lexer follows JSON text byte by byte, only far enough to know whether it
// is inside a string (RFC 8259 §7) and whether that string is an object's
// key, and checks what is inside strings: no control character, only the
// escapes JSON defines. Outside strings it checks nothing; jsonShape does.
type lexer struct {
	inString bool
	// escape is 0 outside an escape, -1 after a backslash, and 1 to 4 for
	// the hex digits of a \u escape still to come.
	escape int
	// open holds '{' or '[' for each object or array not yet closed;
	// wantKey: the next string is a key of the innermost object; inKey: the
	// string being read is one. In text that is not JSON they can be wrong,
	// and jsonShape refuses that text anyway.
	open           []byte
	wantKey, inKey bool
	// strings counts the strings started so far, keys included: the
	// ordinal of a string in the skeleton (block bodies cannot start one).
	strings int
}

// inContent reports whether the next byte would be the content of a string:
// inside one, and not within an escape.
func (l *lexer) inContent() bool { return l.inString && l.escape == 0 }

// next moves past b and reports whether b is valid where it is.
func (l *lexer) next(b byte) bool {
	switch {
	case !l.inString:
		l.structure(b)
	case l.escape == -1:
		switch b {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			l.escape = 0
		case 'u':
			l.escape = 4
		default:
			return false
		}
	case l.escape > 0:
		if !isHex(b) {
			return false
		}
		l.escape--
	case b == '"':
		l.inString = false
	case b == '\\':
		l.escape = -1
	case b < 0x20:
		return false
	}
	return true
}

// structure moves past b, a byte outside strings.
func (l *lexer) structure(b byte) {
	switch b {
	case '"':
		l.inString, l.inKey, l.wantKey = true, l.wantKey, false
		l.strings++
	case '{':
		l.open = append(l.open, b)
		l.wantKey = true
	case '[':
		l.open = append(l.open, b)
		l.wantKey = false
	case '}', ']':
		if len(l.open) > 0 {
			l.open = l.open[:len(l.open)-1]
		}
		l.wantKey = false
	case ':':
		l.wantKey = false
	case ',':
		l.wantKey = len(l.open) > 0 && l.open[len(l.open)-1] == '{'
	}
}

func isHex(b byte) bool {
	return '0' <= b && b <= '9' || 'a' <= b && b <= 'f' || 'A' <= b && b <= 'F'
}
