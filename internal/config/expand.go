package config

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/stsbroker/broker/internal/chain"
)

// maxSecretFile bounds an external_id_file. STS accepts ExternalIds of at
// most 1224 characters; anything much larger is the wrong file.
const maxSecretFile = 4096

// envRef is the only expansion syntax: the whole value is ${env:VAR}.
var envRef = regexp.MustCompile(`^\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}$`)

// expand resolves every hop's ExternalId into Hop.ExternalID and clears
// RawExternalID, so the value is held only by a type that redacts itself.
// Expansion is deliberately limited to external_id: ${env:…} anywhere else
// is left as written. Errors name the key path (and the variable or file),
// never the value. name is the configuration file, the base of relative
// external_id_file paths.
func (c *Config) expand(name string) []error {
	var errs []error
	for _, pn := range slices.Sorted(maps.Keys(c.Profiles)) {
		p := c.Profiles[pn]
		if p == nil {
			continue
		}
		for i := range p.Chain {
			h := &p.Chain[i]
			path := fmt.Sprintf("profiles.%s.chain[%d]", pn, i)
			if err := h.resolveExternalID(path, filepath.Dir(name)); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errs
}

// resolveExternalID fills h.ExternalID from h.RawExternalID or
// h.ExternalIDFile. path is the hop's key path for messages; dir is the base
// of a relative file path.
func (h *Hop) resolveExternalID(path, dir string) error {
	raw := h.RawExternalID
	h.RawExternalID = ""
	switch {
	case raw != "" && h.ExternalIDFile != "":
		return fmt.Errorf("%s: external_id and external_id_file are mutually exclusive", path)
	case raw != "":
		v, err := expandEnv(raw)
		if err != nil {
			return fmt.Errorf("%s.external_id: %w", path, err)
		}
		h.ExternalID = chain.Secret(v)
	case h.ExternalIDFile != "":
		if strings.Contains(h.ExternalIDFile, "${") {
			return fmt.Errorf("%s.external_id_file: ${env:…} is expanded only in external_id", path)
		}
		file := h.ExternalIDFile
		if !filepath.IsAbs(file) {
			file = filepath.Join(dir, file)
		}
		v, err := readSecretFile(file)
		if err != nil {
			return fmt.Errorf("%s.external_id_file: %w", path, err)
		}
		h.ExternalID = chain.Secret(v)
	}
	return nil
}

// expandEnv returns raw itself, or the value of the variable when raw is
// ${env:VAR}. Errors never contain raw or the variable's value.
func expandEnv(raw string) (string, error) {
	m := envRef.FindStringSubmatch(raw)
	if m == nil {
		if strings.Contains(raw, "${") {
			return "", errors.New("malformed reference: write the whole value as ${env:VAR}")
		}
		return raw, nil
	}
	v, ok := os.LookupEnv(m[1])
	switch {
	case !ok:
		return "", fmt.Errorf("environment variable %s is not set", m[1])
	case v == "":
		return "", fmt.Errorf("environment variable %s is empty", m[1])
	}
	return v, nil
}

// readSecretFile reads a small secret file and trims one trailing newline
// ("\n" or "\r\n"), as editors and `echo` add one.
func readSecretFile(path string) (string, error) {
	// Only regular files (a Kubernetes secret's symlink resolves to one):
	// opening a FIFO or a device could block start-up or read forever.
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	if len(b) > maxSecretFile {
		return "", fmt.Errorf("%s is larger than %d bytes", path, maxSecretFile)
	}
	s := string(b)
	if t, ok := strings.CutSuffix(s, "\n"); ok {
		s = strings.TrimSuffix(t, "\r")
	}
	if s == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return s, nil
}
