package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

// MaxFileSize bounds a configuration file (1 MiB); a larger one is refused
// before it is parsed.
const MaxFileSize = 1 << 20

// Load reads the configuration file at path and parses it with [Parse].
func Load(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes data strictly (exactly one YAML document, no unknown keys),
// applies defaults, resolves each hop's ExternalId and validates the result.
// name is the file name used in error messages, in [Config.Path] and as the
// base of relative external_id_file paths. The error joins every problem found,
// each line prefixed with name.
func Parse(name string, data []byte) (*Config, error) {
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, MaxFileSize)
	}
	c := defaults()
	c.Path = name
	if err := decode(name, data, c); err != nil {
		return nil, err
	}
	c.applyDefaults()
	errs := c.expand(name)
	errs = append(errs, c.problems()...)
	if len(errs) > 0 {
		for i, e := range errs {
			errs[i] = fmt.Errorf("%s: %w", name, e)
		}
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// decode fills c from exactly one YAML document, rejecting unknown keys.
// Type errors come one per line, as "<name>: line N: …".
func decode(name string, data []byte, c *Config) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil {
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("%s: empty configuration", name)
		}
		return yamlError(name, data, err)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
		var root yaml.Node
		if err := yaml.Unmarshal(data, &root); err != nil {
			return yamlError(name, data, err)
		}
		var errs []error
		for _, e := range envRefsOutsideExternalID(&root, nil, nil) {
			errs = append(errs, fmt.Errorf("%s: %w", name, e))
		}
		return errors.Join(errs...)
	case err != nil:
		return yamlError(name, data, err)
	default:
		return fmt.Errorf("%s: line %d: exactly one YAML document expected, found another", name, extra.Line)
	}
}

// envRefsOutsideExternalID reports the scalar values under n that hold
// ${env:…} anywhere but in a hop's external_id, where it is not expanded and
// would be taken literally (a region of "${env:AWS_REGION}"); the expansion
// reports external_id_file itself. at is n's path, a key or "[i]" a level.
// An alias of a scalar is checked where it is used.
func envRefsOutsideExternalID(n *yaml.Node, at []string, errs []error) []error {
	switch n.Kind {
	case yaml.ScalarNode:
		if !hopExternalID(at) && strings.Contains(strings.ToLower(n.Value), "${env:") {
			errs = append(errs, fmt.Errorf("line %d: %s: ${env:…} is expanded only in external_id; here it would be taken literally", n.Line, joinPath(at)))
		}
	case yaml.AliasNode:
		if n.Alias != nil && n.Alias.Kind == yaml.ScalarNode {
			errs = envRefsOutsideExternalID(&yaml.Node{Kind: yaml.ScalarNode, Value: n.Alias.Value, Line: n.Line}, at, errs)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			errs = envRefsOutsideExternalID(n.Content[i+1], append(at[:len(at):len(at)], n.Content[i].Value), errs)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			errs = envRefsOutsideExternalID(c, append(at[:len(at):len(at)], fmt.Sprintf("[%d]", i)), errs)
		}
	default: // the document
		for _, c := range n.Content {
			errs = envRefsOutsideExternalID(c, at, errs)
		}
	}
	return errs
}

// hopExternalID reports whether at is profiles.<name>.chain[i].external_id
// or external_id_file: where ${env:…} is expanded, or reported by the
// expansion.
func hopExternalID(at []string) bool {
	return len(at) == 5 && at[0] == "profiles" && at[2] == "chain" && strings.HasPrefix(at[3], "[") &&
		(at[4] == "external_id" || at[4] == "external_id_file")
}

// joinPath writes a path the way validation errors do: keys joined by dots,
// list indexes attached ("issuers[0].audiences[1]").
func joinPath(at []string) string {
	var b strings.Builder
	for i, s := range at {
		if i > 0 && !strings.HasPrefix(s, "[") {
			b.WriteByte('.')
		}
		b.WriteString(s)
	}
	return b.String()
}

// yamlError rewrites a yaml error so each problem is one line that starts
// with the file name and, where the decoder named Go types, says it in the
// configuration's words: "configs/x.yaml: line 3: server.tsl: unknown key
// (known here: addr, tls, …)".
func yamlError(name string, data []byte, err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		var root yaml.Node
		ix := &keyIndex{aliased: true} // names no key if the document does not parse
		if yaml.Unmarshal(data, &root) == nil {
			ix = newKeyIndex(&root)
		}
		errs := make([]error, len(te.Errors))
		for i, msg := range te.Errors {
			errs[i] = fmt.Errorf("%s: %s", name, rewriteYAMLMessage(msg, ix))
		}
		return errors.Join(errs...)
	}
	// A value that contradicts its explicit tag ("max_entries: !!int 1.5")
	// fails while the decoder resolves it, in a message without a line.
	var root yaml.Node
	if yaml.Unmarshal(data, &root) == nil {
		if e := badTaggedScalar(&root, nil); e != nil {
			return fmt.Errorf("%s: %w", name, e)
		}
	}
	return fmt.Errorf("%s: %s", name, strings.TrimPrefix(err.Error(), "yaml: "))
}

// badTaggedScalar returns the first scalar under n whose explicit tag its
// text does not fit (!!int 1.5, !!bool maybe, !!binary that is not base64),
// naming its line and path; at is n's path, as in envRefsOutsideExternalID.
func badTaggedScalar(n *yaml.Node, at []string) error {
	switch n.Kind {
	case yaml.ScalarNode:
		var v any
		if n.Style&yaml.TaggedStyle != 0 && n.Decode(&v) != nil {
			return fmt.Errorf("line %d: %s: %q is not a valid %s", n.Line, joinPath(at), n.Value, n.ShortTag())
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if e := badTaggedScalar(n.Content[i+1], append(at[:len(at):len(at)], n.Content[i].Value)); e != nil {
				return e
			}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			if e := badTaggedScalar(c, append(at[:len(at):len(at)], fmt.Sprintf("[%d]", i))); e != nil {
				return e
			}
		}
	case yaml.DocumentNode:
		for _, c := range n.Content {
			if e := badTaggedScalar(c, at); e != nil {
				return e
			}
		}
	}
	return nil
}

// defaults returns a Config holding the defaults of the top-level sections.
// Decoding on top of it keeps an explicit zero ("max_entries: 0") visible to
// Validate instead of silently replacing it.
func defaults() *Config {
	return &Config{
		Server: Server{
			Addr:           DefaultAddr,
			RequestTimeout: Duration(DefaultRequestTimeout),
			MaxInflight:    DefaultMaxInflight,
			MaxConnections: DefaultMaxConnections,
			RateLimit: RateLimit{
				PerIdentity:      DefaultRatePerIdentity,
				PerIdentityBurst: DefaultRatePerIdentityBurst,
				Global:           DefaultRateGlobal,
				GlobalBurst:      DefaultRateGlobalBurst,
			},
		},
		AWS: AWS{
			Region:              DefaultRegion,
			MaxConcurrentChains: DefaultMaxConcurrentChains,
			CallTimeout:         Duration(DefaultCallTimeout),
		},
		Cache: Cache{
			MaxEntries:    DefaultMaxEntries,
			RefreshBefore: Duration(DefaultRefreshBefore),
			MinRemaining:  Duration(DefaultMinRemaining),
		},
		Audit: Audit{Sink: DefaultAuditSink},
	}
}

// applyDefaults fills what decoding creates fresh (profiles and hops), where
// an omitted key and a zero value cannot be told apart: an empty source means
// web_identity, a zero hop duration means 1h.
func (c *Config) applyDefaults() {
	if c.Audit.Sink == "" {
		c.Audit.Sink = DefaultAuditSink
	}
	for _, p := range c.Profiles {
		if p == nil {
			continue
		}
		if p.Source == "" {
			p.Source = SourceWebIdentity
		}
		for i := range p.Chain {
			if p.Chain[i].Duration == 0 {
				p.Chain[i].Duration = Duration(DefaultHopDuration)
			}
		}
	}
}
