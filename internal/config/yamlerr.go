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
// ("profiles.deploy.chain[1].role_arn"), its key ("" for an item) and its
// value.
type keyAt struct {
	path  string
	key   string
	value *yaml.Node
}

// keysByLine indexes every mapping key and list item under n by the line it
// is on.
func keysByLine(n *yaml.Node, prefix string, out map[int][]keyAt) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			keysByLine(c, prefix, out)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			path := k.Value
			if prefix != "" {
				path = prefix + "." + k.Value
			}
			out[k.Line] = append(out[k.Line], keyAt{path: path, key: k.Value, value: v})
			keysByLine(v, path, out)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			// An item is indexed like a key without a name, so a wrong
			// item ("audiences: [a, {b: c}]") is named by its path.
			path := fmt.Sprintf("%s[%d]", prefix, i)
			out[c.Line] = append(out[c.Line], keyAt{path: path, value: c})
			keysByLine(c, path, out)
		}
	}
	// Aliases are not followed: their keys are reported where they are
	// written, and a cycle cannot loop.
}

// rewriteYAMLMessage turns one of the decoder's messages into the
// configuration's words when it is one of the two that name Go types, and
// returns any other message as it is.
func rewriteYAMLMessage(msg string, keys map[int][]keyAt) string {
	if m := unknownFieldRe.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		path := m[2]
		for _, k := range keys[line] {
			if k.key == m[2] {
				path = k.path
				break
			}
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
		// On a line of flow style ("p: {chain: {…}}") several values may
		// fit: prefer a key of the target type, then the innermost.
		var found *keyAt
		for i, k := range keys[line] {
			if k.value.ShortTag() != tag || (value != "" && k.value.Value != value) {
				continue
			}
			if found == nil || !configFieldTypes[target][found.key] || configFieldTypes[target][k.key] {
				found = &keys[line][i]
			}
		}
		if found != nil {
			return fmt.Sprintf("line %s: %s: want %s, got %s", m[1], found.path, want, got)
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
		if types[t.String()] == nil {
			types[t.String()] = map[string]bool{}
		}
		types[t.String()][key] = true
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
