package config

import (
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The yaml decoder's own messages name Go types ("field tsl not found in
// type config.Server", "cannot unmarshal !!str `many` into int"). These
// rewrite them into the configuration's words: the key's path, what the key
// takes, what was found.
var (
	unknownFieldRe = regexp.MustCompile("^line ([0-9]+): field (.+) not found in type (.+)$")
	wrongTypeRe    = regexp.MustCompile("^line ([0-9]+): cannot unmarshal (!![a-z]+)(?: `(.*)`)? into (.+)$")
)

// keyAt is a mapping key or a list item of the document: its path
// ("profiles.deploy.chain[1].role_arn") and its key ("" for an item).
type keyAt struct {
	path string
	key  string
}

// keyIndex finds the key a decoder message is about from what the message
// gives: the line and the key's name, or the line and the value's tag and
// text. Several keys can fit on one line (flow style, a one-line JSON
// file); then the message names none rather than a wrong one. Each entry
// keeps at most maxCandidates keys, so building and querying it is linear in
// the document.
type keyIndex struct {
	byKey   map[lineKey][]keyAt
	byValue map[lineValue][]keyAt
	// aliased: decoder messages about an alias's value give the line of
	// its anchor, where other keys are; no path is named then.
	aliased bool
}

type lineKey struct {
	line int
	key  string
}

type lineValue struct {
	line       int
	tag, value string
}

const maxCandidates = 8

func newKeyIndex(root *yaml.Node) *keyIndex {
	ix := &keyIndex{byKey: map[lineKey][]keyAt{}, byValue: map[lineValue][]keyAt{}}
	ix.add(root, "")
	return ix
}

func (ix *keyIndex) add(n *yaml.Node, prefix string) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			ix.add(c, prefix)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			path := k.Value
			if prefix != "" {
				path = prefix + "." + k.Value
			}
			ix.note(k.Line, keyAt{path: path, key: k.Value}, v)
			ix.add(v, path)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			// An item is indexed like a key without a name, so a wrong
			// item ("audiences: [a, {b: c}]") is named by its path.
			path := fmt.Sprintf("%s[%d]", prefix, i)
			ix.note(c.Line, keyAt{path: path}, c)
			ix.add(c, path)
		}
	case yaml.AliasNode:
		// Not followed: a cycle cannot loop.
		ix.aliased = true
	}
}

func (ix *keyIndex) note(line int, k keyAt, value *yaml.Node) {
	if k.key != "" {
		lk := lineKey{line, k.key}
		if len(ix.byKey[lk]) < maxCandidates {
			ix.byKey[lk] = append(ix.byKey[lk], k)
		}
	}
	lv := lineValue{value.Line, value.ShortTag(), value.Value}
	if value.Kind != yaml.ScalarNode {
		lv.value = ""
	}
	if len(ix.byValue[lv]) < maxCandidates {
		ix.byValue[lv] = append(ix.byValue[lv], k)
	}
}

// keyNamed returns the path of the one key named key on line.
func (ix *keyIndex) keyNamed(line int, key string) (string, bool) {
	ks := ix.byKey[lineKey{line, key}]
	if ix.aliased || len(ks) != 1 {
		return "", false
	}
	return ks[0].path, true
}

// valueAt returns the path of the one key whose value on line has tag and
// text value ("" for a list or mapping), preferring a key of the Go type
// target when several fit.
func (ix *keyIndex) valueAt(line int, tag, value, target string) (string, bool) {
	if ix.aliased {
		return "", false
	}
	ks := ix.byValue[lineValue{line, tag, value}]
	if len(ks) == 1 {
		return ks[0].path, true
	}
	var typed []keyAt
	for _, k := range ks {
		if configFieldTypes[target][k.key] {
			typed = append(typed, k)
		}
	}
	if len(typed) == 1 && len(ks) < maxCandidates {
		return typed[0].path, true
	}
	return "", false
}

// rewriteYAMLMessage turns one of the decoder's messages into the
// configuration's words when it is one of the two that name Go types, and
// returns any other message as it is.
func rewriteYAMLMessage(msg string, ix *keyIndex) string {
	if m := unknownFieldRe.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		path, ok := ix.keyNamed(line, m[2])
		if !ok {
			path = m[2]
		}
		out := fmt.Sprintf("line %s: %s: unknown key", m[1], path)
		if known := knownKeys(m[3]); len(known) > 0 {
			out += " (known here: " + strings.Join(known, ", ") + ")"
		}
		return out
	}
	if m := wrongTypeRe.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		tag, value, target := m[2], m[3], m[4]
		got := kindWords[tag]
		if got == "" {
			got = tag
		}
		if value != "" {
			got = strconv.Quote(value)
		}
		want := wantWords(target)
		if path, ok := ix.valueAt(line, tag, value, target); ok {
			return fmt.Sprintf("line %s: %s: want %s, got %s", m[1], path, want, got)
		}
		return fmt.Sprintf("line %s: want %s, got %s", m[1], want, got)
	}
	return msg
}

var kindWords = map[string]string{
	"!!map": "a mapping", "!!seq": "a list", "!!null": "nothing",
	"!!bool": "true or false", "!!int": "an integer", "!!float": "a number",
	"!!str": "a string", "!!timestamp": "a date",
}

// wantWords says what a Go type of the configuration takes, in YAML terms.
func wantWords(goType string) string {
	switch {
	case strings.HasPrefix(goType, "[]"):
		return "a list"
	case strings.HasPrefix(goType, "map["), strings.HasPrefix(goType, "config."), strings.HasPrefix(goType, "*config."):
		return "a mapping"
	case goType == "string":
		return "a string"
	case goType == "bool":
		return "true or false"
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"):
		return "an integer"
	case strings.HasPrefix(goType, "float"):
		return "a number"
	}
	return goType
}

// configKeys maps each struct type of the configuration, named as the yaml
// decoder names it ("config.Server"), to the keys it takes; configFieldTypes
// maps a field's type ("[]config.Hop", "int") to the keys of that type.
var configKeys, configFieldTypes = func() (map[string][]string, map[string]map[string]bool) {
	out := map[string][]string{}
	types := map[string]map[string]bool{}
	addType := func(t reflect.Type, key string) {
		name := t.String()
		if t == reflect.TypeFor[Count]() {
			name = "int" // Count's errors name int, as the decoder's do
		}
		if types[name] == nil {
			types[name] = map[string]bool{}
		}
		types[name][key] = true
	}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || out[t.String()] != nil {
			return
		}
		var keys []string
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "" || name == "-" || !f.IsExported() {
				continue
			}
			keys = append(keys, name)
			addType(f.Type, name)
			if f.Type.Kind() == reflect.Pointer {
				addType(f.Type.Elem(), name)
			}
		}
		out[t.String()] = keys
		for i := range t.NumField() {
			walk(t.Field(i).Type)
		}
	}
	walk(reflect.TypeFor[Config]())
	return out, types
}()

// knownKeys returns the keys the configuration type goType takes, in the
// order of its fields, or nil for a type it does not know.
func knownKeys(goType string) []string { return configKeys[goType] }
