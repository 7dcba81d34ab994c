package deploy

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// dockerfileProblems checks the Dockerfile's shape: a golang:1.26 build
// stage whose only network step is go mod download after copying go.mod and
// go.sum, a static trimmed build, and a distroless non-root runtime that
// reads /etc/broker/broker.yaml.
func dockerfileProblems(src string) []string {
	var ps []string
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(strings.ReplaceAll(src, "\\\n", " ")))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, strings.Join(strings.Fields(l), " "))
		}
	}
	idx := func(prefix string) int {
		return slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, prefix) })
	}
	if idx("FROM golang:1.26 AS build") != 0 {
		ps = append(ps, "first stage is not FROM golang:1.26 AS build")
	}
	cp, dl := idx("COPY go.mod go.sum ./"), idx("RUN go mod download")
	if cp < 0 || dl < 0 || cp > dl {
		ps = append(ps, "go mod download does not follow COPY go.mod go.sum ./")
	}
	for _, l := range lines {
		if strings.HasPrefix(l, "RUN ") && l != "RUN go mod download" && !strings.HasPrefix(l, "RUN CGO_ENABLED=0 go build ") {
			ps = append(ps, "unexpected RUN step (only go mod download may use the network): "+l)
		}
		if strings.HasPrefix(l, "ADD ") {
			ps = append(ps, "ADD may fetch URLs: use COPY")
		}
	}
	if b := idx("RUN CGO_ENABLED=0 go build "); b < 0 || !strings.Contains(lines[b], "-trimpath") || !strings.Contains(lines[b], "-X main.version=${VERSION}") {
		ps = append(ps, "no CGO_ENABLED=0 go build -trimpath with -X main.version=${VERSION}")
	}
	if idx("FROM gcr.io/distroless/static-debian12:nonroot") < 0 {
		ps = append(ps, "runtime stage is not gcr.io/distroless/static-debian12:nonroot")
	}
	if idx(`ENTRYPOINT ["/broker", "serve", "--config", "/etc/broker/broker.yaml"]`) < 0 {
		ps = append(ps, "ENTRYPOINT does not serve /etc/broker/broker.yaml")
	}
	if idx("EXPOSE 8080") < 0 {
		ps = append(ps, "no EXPOSE 8080")
	}
	return ps
}

func TestDockerfile(t *testing.T) {
	src, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	if ps := dockerfileProblems(string(src)); len(ps) > 0 {
		t.Errorf("Dockerfile: %q", ps)
	}
	ignore, err := os.ReadFile("../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{".git", "deploy"} {
		if !slices.Contains(strings.Fields(string(ignore)), want) {
			t.Errorf(".dockerignore does not exclude %s", want)
		}
	}
}

func TestDockerfileChecksFail(t *testing.T) {
	good, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		old, repl string
		want      []string
	}{
		{name: "as-shipped"},
		{name: "apt-get-in-build", old: "RUN go mod download\n", repl: "RUN go mod download\nRUN apt-get update\n",
			want: []string{"unexpected RUN step (only go mod download may use the network): RUN apt-get update"}},
		{name: "download-before-copy", old: "COPY go.mod go.sum ./\nRUN go mod download\n", repl: "RUN go mod download\nCOPY go.mod go.sum ./\n",
			want: []string{"go mod download does not follow COPY go.mod go.sum ./"}},
		{name: "no-trimpath", old: "-trimpath", repl: "",
			want: []string{"no CGO_ENABLED=0 go build -trimpath with -X main.version=${VERSION}"}},
		{name: "root-runtime", old: "static-debian12:nonroot", repl: "static-debian12",
			want: []string{"runtime stage is not gcr.io/distroless/static-debian12:nonroot"}},
		{name: "other-config-path", old: `"/etc/broker/broker.yaml"]`, repl: `"/config.yaml"]`,
			want: []string{"ENTRYPOINT does not serve /etc/broker/broker.yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := string(good)
			if tt.old != "" {
				if !strings.Contains(src, tt.old) {
					t.Fatalf("Dockerfile has no %q to replace", tt.old)
				}
				src = strings.Replace(src, tt.old, tt.repl, 1)
			}
			if diff := cmp.Diff(tt.want, dockerfileProblems(src)); diff != "" {
				t.Errorf("dockerfileProblems (-want +got):\n%s", diff)
			}
		})
	}
}

// unitDirectives returns the Key=Value lines of a systemd unit, values of
// repeated keys in order.
func unitDirectives(src string) map[string][]string {
	d := map[string][]string{}
	for _, l := range strings.Split(src, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") || strings.HasPrefix(l, "[") {
			continue
		}
		if k, v, ok := strings.Cut(l, "="); ok {
			d[k] = append(d[k], v)
		}
	}
	return d
}

// sighupHandled reports whether cmd/broker subscribes to SIGHUP (issue 6).
func sighupHandled(t *testing.T) bool {
	t.Helper()
	files, err := filepath.Glob("../cmd/broker/*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("no cmd/broker sources: %v", err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte("syscall.SIGHUP")) {
			return true
		}
	}
	return false
}

func TestSystemdUnit(t *testing.T) {
	src, err := os.ReadFile("systemd/broker.service")
	if err != nil {
		t.Fatal(err)
	}
	d := unitDirectives(string(src))
	want := map[string]string{
		"ExecStart":               "/usr/local/bin/broker serve --config /etc/broker/broker.yaml",
		"DynamicUser":             "yes",
		"ProtectSystem":           "strict",
		"ProtectHome":             "yes",
		"NoNewPrivileges":         "yes",
		"PrivateTmp":              "yes",
		"PrivateDevices":          "yes",
		"CapabilityBoundingSet":   "",
		"RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
		"SystemCallFilter":        "@system-service",
		"Restart":                 "on-failure",
	}
	for k, v := range want {
		if got := d[k]; len(got) != 1 || got[0] != v {
			t.Errorf("%s = %q, want [%q]", k, got, v)
		}
	}
	// Reload on SIGHUP only once the daemon handles it: until then SIGHUP
	// would kill the broker.
	reload, handled := d["ExecReload"], sighupHandled(t)
	switch {
	case handled && (len(reload) != 1 || reload[0] != "/bin/kill -HUP $MAINPID"):
		t.Errorf("the daemon handles SIGHUP now: set ExecReload=/bin/kill -HUP $MAINPID (got %q)", reload)
	case !handled && len(reload) > 0:
		t.Errorf("ExecReload = %q, but the daemon does not handle SIGHUP yet", reload)
	}
}

// docPath matches a repository path in backticks in the docs.
var docPath = regexp.MustCompile("`((?:deploy|configs|docs|cmd|internal)/[A-Za-z0-9_./-]*|Dockerfile|\\.dockerignore)`")

// TestDocsPathsExist keeps the docs in step with the files: every path they
// name in backticks exists.
func TestDocsPathsExist(t *testing.T) {
	docs, err := filepath.Glob("../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"aws-setup.md", "deploying.md", "key-rotation.md", "scaling.md", "troubleshooting.md"}
	var names []string
	for _, d := range docs {
		names = append(names, filepath.Base(d))
	}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("docs (-want +got):\n%s", diff)
	}
	seen := 0
	for _, d := range docs {
		b, err := os.ReadFile(d)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range docPath.FindAllStringSubmatch(string(b), -1) {
			seen++
			if _, err := os.Stat(filepath.Join("..", strings.TrimSuffix(m[1], "/"))); err != nil {
				t.Errorf("%s names %s, which does not exist", filepath.Base(d), m[1])
			}
		}
	}
	if seen < 10 {
		t.Errorf("the docs name %d repository paths, want them to point at the files", seen)
	}
}
