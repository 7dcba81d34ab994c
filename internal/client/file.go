package client

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"strings"
)

// FileSource reads the token from a file on every call: Kubernetes projected
// service-account tokens and GitLab id_tokens written to a file are rotated in
// place, so a cached copy would go stale. Surrounding whitespace (a trailing
// newline from `echo`) is trimmed.
type FileSource struct {
	Path string
}

// Token reads, trims and returns the file's content. A missing, unreadable,
// empty or larger than 64 KiB file is an error with [ExitUsage].
func (s FileSource) Token(ctx context.Context) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if s.Path == "" {
		return "", usageError(nil, "token file: no path given")
	}
	f, err := os.Open(s.Path)
	if err != nil {
		return "", fileError("token file", s.Path, err)
	}
	defer f.Close()
	b, err := readBounded(f, maxTokenBytes)
	if errors.Is(err, errTooLarge) {
		return "", usageError(err, "token file %q: larger than 64 KiB", s.Path)
	}
	if err != nil {
		return "", fileError("token file", s.Path, err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", usageError(nil, "token file %q: empty", s.Path)
	}
	return tok, nil
}

// fileError names the file, its kind ("token file", "ca file") and the
// operating system's reason ("no such file or directory", "permission
// denied", "is a directory"), nothing else.
func fileError(kind, path string, err error) *Error {
	reason := err.Error()
	if pe, ok := errors.AsType[*fs.PathError](err); ok {
		reason = pe.Err.Error()
	}
	return usageError(err, "%s %q: %s", kind, path, reason)
}
