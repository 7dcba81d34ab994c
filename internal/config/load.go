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
		return yamlError(name, err)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
		var root yaml.Node
		if err := yaml.Unmarshal(data, &root); err != nil {
			return yamlError(name, err)
		}
		var errs []error
		for _, e := range envRefsOutsideExternalID(&root, "", nil) {
			errs = append(errs, fmt.Errorf("%s: %w", name, e))
		}
		return errors.Join(errs...)
	case err != nil:
		return yamlError(name, err)
	default:
		return fmt.Errorf("%s: line %d: exactly one YAML document expected, found another", name, extra.Line)
	}
}

// envRefsOutsideExternalID reports the scalar values under n that hold
// ${env:…} anywhere but under an external_id key, where it is not expanded
// and would be taken literally (a region of "${env:AWS_REGION}"); the
// expansion reports external_id_file itself. key is the mapping key n is
// the value of.
func envRefsOutsideExternalID(n *yaml.Node, key string, errs []error) []error {
	switch n.Kind {
	case yaml.ScalarNode:
		if key != "external_id" && key != "external_id_file" && strings.Contains(strings.ToLower(n.Value), "${env:") {
			errs = append(errs, fmt.Errorf("line %d: %s: ${env:…} is expanded only in external_id; here it would be taken literally", n.Line, key))
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			errs = envRefsOutsideExternalID(n.Content[i+1], n.Content[i].Value, errs)
		}
	default: // documents, sequences (their items take the key), aliases
		for _, c := range n.Content {
			errs = envRefsOutsideExternalID(c, key, errs)
		}
	}
	return errs
}

// yamlError rewrites a yaml error so each problem is one line that starts
// with the file name: "configs/x.yaml: line 3: field tsl not found in type
// config.Server".
func yamlError(name string, err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		errs := make([]error, len(te.Errors))
		for i, msg := range te.Errors {
			errs[i] = fmt.Errorf("%s: %s", name, msg)
		}
		return errors.Join(errs...)
	}
	return fmt.Errorf("%s: %s", name, strings.TrimPrefix(err.Error(), "yaml: "))
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
