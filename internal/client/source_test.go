package client

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeFile writes content to name in dir and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatalf("WriteFile(%s) error = %v", p, err)
	}
	return p
}

// wantError checks that err is an *Error with the given exit code and line.
func wantError(t *testing.T, err error, wantExit int, wantLine string) {
	t.Helper()
	e, ok := errors.AsType[*Error](err)
	if !ok {
		t.Fatalf("error = %v (%T), want *Error", err, err)
	}
	if e.Exit != wantExit {
		t.Errorf("Error.Exit = %d, want %d", e.Exit, wantExit)
	}
	if got := e.Error(); got != wantLine {
		t.Errorf("Error() = %q, want %q", got, wantLine)
	}
}

func TestFileSourceRereadsOnEveryCall(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "token", "first-token")
	src := FileSource{Path: p}
	for i, content := range []string{"first-token", "second-token\n", "  third-token \r\n"} {
		writeFile(t, dir, "token", content)
		got, err := src.Token(t.Context())
		if err != nil {
			t.Fatalf("call %d: Token() error = %v", i, err)
		}
		if want := strings.TrimSpace(content); got != want {
			t.Errorf("call %d: Token() = %q, want %q", i, got, want)
		}
	}
}

func TestFileSourceErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name     string
		path     string
		wantLine string
	}{
		{name: "missing", path: filepath.Join(dir, "missing"), wantLine: `broker: token file "` + dir + `/missing": no such file or directory`},
		{name: "empty", path: writeFile(t, dir, "empty", ""), wantLine: `broker: token file "` + dir + `/empty": empty`},
		{name: "only-whitespace", path: writeFile(t, dir, "blank", " \n\t\n"), wantLine: `broker: token file "` + dir + `/blank": empty`},
		{name: "oversized", path: writeFile(t, dir, "big", strings.Repeat("a", 64<<10+1)), wantLine: `broker: token file "` + dir + `/big": larger than 64 KiB`},
		{name: "directory", path: dir, wantLine: `broker: token file "` + dir + `": is a directory`},
		{name: "no-path", path: "", wantLine: `broker: token file: no path given`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FileSource{Path: tt.path}.Token(t.Context())
			if got != "" {
				t.Errorf("Token() = %q, want empty", got)
			}
			wantError(t, err, ExitUsage, tt.wantLine)
		})
	}
}

func TestFileSourceAcceptsExactly64KiB(t *testing.T) {
	want := strings.Repeat("a", 64<<10)
	p := writeFile(t, t.TempDir(), "token", want)
	got, err := FileSource{Path: p}.Token(t.Context())
	if err != nil {
		t.Fatalf("Token() error = %v", err)
	}
	if got != want {
		t.Errorf("Token() returned %d bytes, want %d", len(got), len(want))
	}
}

func TestEnvSource(t *testing.T) {
	env := map[string]string{"BROKER_TOKEN": " eyJ.tok.sig\n", "EMPTY": ""}
	getenv := func(k string) string { return env[k] }
	tests := []struct {
		name     string
		src      EnvSource
		want     string
		wantLine string
	}{
		{name: "set-and-trimmed", src: EnvSource{Var: "BROKER_TOKEN", Getenv: getenv}, want: "eyJ.tok.sig"},
		{name: "unset", src: EnvSource{Var: "NOPE", Getenv: getenv}, wantLine: "broker: token env: NOPE is not set or empty"},
		{name: "empty", src: EnvSource{Var: "EMPTY", Getenv: getenv}, wantLine: "broker: token env: EMPTY is not set or empty"},
		{name: "no-name", src: EnvSource{Getenv: getenv}, wantLine: "broker: token env: no variable name given"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.src.Token(t.Context())
			if tt.wantLine == "" {
				if err != nil || got != tt.want {
					t.Errorf("Token() = %q, %v, want %q, nil", got, err, tt.want)
				}
				return
			}
			if got != "" {
				t.Errorf("Token() = %q, want empty", got)
			}
			wantError(t, err, ExitUsage, tt.wantLine)
		})
	}
}

func TestEnvSourceDefaultsToOSGetenv(t *testing.T) {
	t.Setenv("CLIENT_TEST_BROKER_TOKEN", "from-os-env")
	got, err := EnvSource{Var: "CLIENT_TEST_BROKER_TOKEN"}.Token(t.Context())
	if err != nil || got != "from-os-env" {
		t.Errorf("Token() = %q, %v, want %q, nil", got, err, "from-os-env")
	}
}
