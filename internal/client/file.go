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
//
// The read ends when ctx does, so that --timeout holds: opening a named pipe
// (a FIFO, or /dev/fd/N from a shell's process substitution) blocks until a
// writer appears, and reading it until the writer closes, and neither
// system call can be interrupted portably. On ctx's end Token returns
// ctx.Err(), which [Fetch] reports as "token source: no token within
// <timeout>" (exit 3), and leaves the goroutine that opens and reads the
// file blocked, holding its descriptor, until a writer comes. That is
// acceptable for `broker credential-process`, which exits right after; a
// long-running caller that points Path at a pipe without a writer leaks
// one goroutine and one descriptor per call.
func (s FileSource) Token(ctx context.Context) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if s.Path == "" {
		return "", usageError(nil, "token file: no path given")
	}
	type result struct {
		tok string
		err error
	}
	done := make(chan result, 1) // buffered: a goroutine left behind can still finish
	go func() {
		tok, err := readTokenFile(s.Path)
		done <- result{tok, err}
	}()
	select {
	case r := <-done:
		return r.tok, r.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// readTokenFile opens, reads and trims the token file at path; it may block
// for as long as path is a pipe without a writer.
func readTokenFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fileError("token file", path, err)
	}
	defer f.Close()
	b, err := readBounded(f, maxTokenBytes)
	if errors.Is(err, errTooLarge) {
		return "", usageError(err, "token file %q: larger than 64 KiB", path)
	}
	if err != nil {
		return "", fileError("token file", path, err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", usageError(nil, "token file %q: empty", path)
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
