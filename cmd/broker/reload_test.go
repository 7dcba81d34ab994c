package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stsbroker/broker/internal/oidctest"
	"github.com/stsbroker/broker/internal/ststest"
)

// TestServeReloadOnSIGHUP runs the broker binary, changes its configuration
// file and sends SIGHUP: a valid file adds a profile while cached
// credentials of the unchanged profile survive; an invalid file is refused
// and the running configuration stays, as is one whose profiles do not fit
// the running cache section; a change to server needs a restart.
func TestServeReloadOnSIGHUP(t *testing.T) {
	sp := startServeProcess(t)
	issuer, emu, cmd, url, base := sp.issuer, sp.emu, sp.cmd, sp.url, sp.base
	stderr := sp.stderr
	writeConfig := func(yaml string) { sp.write(t, yaml) }

	token, err := issuer.Mint(oidctest.GitHubActionsClaims("myorg/app", "refs/heads/main"))
	if err != nil {
		t.Fatal(err)
	}
	get := func(path string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, url+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	profiles := func() string {
		t.Helper()
		_, out := get("/v1/profiles")
		return fmt.Sprint(out["profiles"])
	}

	code, first := get("/v1/credentials/prod-deploy")
	if code != 200 {
		t.Fatalf("credentials before reload: %d %v", code, first)
	}
	if got := profiles(); got != "[prod-deploy]" {
		t.Fatalf("profiles before reload = %s", got)
	}
	hup := func(wantLog string) {
		t.Helper()
		before := strings.Count(stderr.String(), wantLog)
		if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for strings.Count(stderr.String(), wantLog) == before {
			if time.Now().After(deadline) {
				t.Fatalf("no %q in the log after SIGHUP; stderr:\n%s", wantLog, stderr.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	// A valid change: a second profile on the same chain.
	second := base + strings.Replace(base[strings.Index(base, "  prod-deploy:"):], "prod-deploy:", "second:", 1)
	writeConfig(second)
	hup(`"msg":"configuration reloaded"`)
	if got := profiles(); got != "[prod-deploy second]" {
		t.Errorf("profiles after reload = %s, want both", got)
	}
	calls := emu.Calls("AssumeRoleWithWebIdentity") + emu.Calls("AssumeRole")
	code, again := get("/v1/credentials/prod-deploy")
	if code != 200 || again["AccessKeyId"] != first["AccessKeyId"] {
		t.Errorf("prod-deploy after reload: %d, key %v, want the cached %v", code, again["AccessKeyId"], first["AccessKeyId"])
	}
	if got := emu.Calls("AssumeRoleWithWebIdentity") + emu.Calls("AssumeRole"); got != calls {
		t.Errorf("STS calls after reload = %d, want %d: the cache entry of the unchanged profile must survive", got, calls)
	}

	// An invalid file: refused, and both profiles keep working.
	writeConfig(second + "\nbogus_key: 1\n")
	hup(`"msg":"configuration reload refused"`)
	if !strings.Contains(stderr.String(), "bogus_key") {
		t.Errorf("the refusal does not name the unknown key; stderr:\n%s", stderr.String())
	}
	if got := profiles(); got != "[prod-deploy second]" {
		t.Errorf("profiles after a refused reload = %s, want the running ones", got)
	}

	// A file valid with its own cache section, which a reload does not
	// apply, but with a hop the running cache (refresh_before 30m) could
	// never keep: refused, naming the hop.
	i := strings.LastIndex(second, "duration: 1h")
	short := second[:i] + "duration: 15m" + second[i+len("duration: 1h"):] + "cache: {refresh_before: 10m, min_remaining: 5m}\n"
	writeConfig(short)
	hup(`"msg":"configuration reload refused"`)
	if !strings.Contains(stderr.String(), "the new file does not fit the running cache") ||
		!strings.Contains(stderr.String(), "profiles.second.chain[1].duration") {
		t.Errorf("the refusal does not say the hop does not fit the running cache; stderr:\n%s", stderr.String())
	}
	if got := profiles(); got != "[prod-deploy second]" {
		t.Errorf("profiles after a refused reload = %s, want the running ones", got)
	}

	// A change to server is not applied and is named in the log.
	writeConfig(strings.Replace(second, "addr: 127.0.0.1:0", "addr: 127.0.0.1:0\n  request_timeout: 20s", 1))
	hup(`"sections":["server"]`)

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("broker exit after SIGTERM: %v", err)
	}
}

// waitLogField waits for a JSON log line with msg and returns its field.
func waitLogField(t *testing.T, buf *syncBuffer, msg, field string) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		for _, line := range strings.Split(buf.String(), "\n") {
			var e map[string]any
			if json.Unmarshal([]byte(line), &e) == nil && e["msg"] == msg {
				if v, ok := e[field].(string); ok {
					return v
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no %q log line with %s; stderr:\n%s", msg, field, buf.String())
	return ""
}

// TestServeSIGHUPDuringShutdown: a SIGHUP that arrives while serve drains
// its in-flight requests (a config-management run, a logrotate hook) does
// not kill the process: the request finishes and serve exits 0.
func TestServeSIGHUPDuringShutdown(t *testing.T) {
	sp := startServeProcess(t)
	issuer, emu, cmd, url, stderr := sp.issuer, sp.emu, sp.cmd, sp.url, sp.stderr
	token, err := issuer.Mint(oidctest.GitHubActionsClaims("myorg/app", "refs/heads/main"))
	if err != nil {
		t.Fatal(err)
	}
	emu.InjectFault("AssumeRole", ststest.Fault{Latency: 2 * time.Second})
	status := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, url+"/v1/credentials/prod-deploy", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			status <- 0
			return
		}
		resp.Body.Close()
		status <- resp.StatusCode
	}()
	// Hop 1 answered means the request now waits on AssumeRole.
	deadline := time.Now().Add(10 * time.Second)
	for emu.Calls("AssumeRoleWithWebIdentity") == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the broker never called AssumeRoleWithWebIdentity; stderr:\n%s", stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if got := <-status; got != http.StatusOK {
		t.Errorf("in-flight request = %d, want 200", got)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("broker exit after SIGTERM then SIGHUP: %v, want 0; stderr:\n%s", err, stderr.String())
	}
}

// serveProcess is the broker binary serving the seed's configuration
// (stackConfig with the ExternalId inlined) from a file it can re-read.
type serveProcess struct {
	issuer *oidctest.Server
	emu    *ststest.Server
	path   string
	base   string // the configuration it started with
	cmd    *exec.Cmd
	stderr *syncBuffer
	url    string
	// stderrPipe and copied: see startServeProcessPiped.
	stderrPipe *os.File
	copied     chan struct{}
}

func startServeProcess(t *testing.T) *serveProcess {
	t.Helper()
	return startServeProcessPiped(t, false)
}

// startServeProcessPiped is startServeProcess; with piped, the process's
// stderr is an OS pipe whose read end (sp.stderrPipe) the test may close,
// copied into sp.stderr until then.
func startServeProcessPiped(t *testing.T, piped bool) *serveProcess {
	t.Helper()
	sp := &serveProcess{
		issuer: oidctest.Start(t, oidctest.Options{}),
		emu:    ststest.Start(t, ststest.Options{}),
		path:   filepath.Join(t.TempDir(), "broker.yaml"),
		stderr: &syncBuffer{},
	}
	if err := sp.emu.LoadSeed(sp.issuer.URL()); err != nil {
		t.Fatal(err)
	}
	sp.base = strings.Replace(fmt.Sprintf(stackConfig, sp.emu.URL(), sp.issuer.URL()), "${env:PROD_EXTERNAL_ID}", ststest.SeedExternalID, 1)
	sp.write(t, sp.base)
	sp.cmd = exec.Command(brokerBin, "serve", "--config", sp.path)
	sp.cmd.Stderr = sp.stderr
	var w *os.File
	if piped {
		r, pw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		sp.stderrPipe, w, sp.cmd.Stderr = r, pw, pw
		sp.copied = make(chan struct{})
		go func() { _, _ = io.Copy(sp.stderr, r); close(sp.copied) }()
	}
	if err := sp.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if w != nil {
		w.Close() // the process holds its own copy
	}
	t.Cleanup(func() { _ = sp.cmd.Process.Kill(); _ = sp.cmd.Wait() })
	sp.url = "http://" + waitLogField(t, sp.stderr, "broker listening", "addr")
	return sp
}

// write replaces the configuration file (serve re-reads it on SIGHUP).
func (sp *serveProcess) write(t *testing.T, yaml string) {
	t.Helper()
	if err := os.WriteFile(sp.path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestServeSurvivesBrokenStderr: when whatever reads the broker's stderr
// goes away (a log collector restarting), a log write fails with EPIPE
// instead of killing the process with SIGPIPE: requests keep being served.
func TestServeSurvivesBrokenStderr(t *testing.T) {
	sp := startServeProcessPiped(t, true)
	issuer, cmd, url := sp.issuer, sp.cmd, sp.url
	sp.stderrPipe.Close() // the reader goes away
	<-sp.copied

	token, err := issuer.Mint(oidctest.GitHubActionsClaims("myorg/app", "refs/heads/main"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 { // each writes an audit line to the broken stderr
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, url+"/v1/credentials/prod-deploy", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("request %d after stderr broke: %v (process state %v)", i+1, err, cmd.ProcessState)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("request %d = %d, want 200", i+1, resp.StatusCode)
		}
	}
}

// TestServeSecondSignalExits: the first SIGTERM starts the drain; a second
// signal during it ends the process at once instead of being swallowed.
func TestServeSecondSignalExits(t *testing.T) {
	sp := startServeProcess(t)
	token, err := sp.issuer.Mint(oidctest.GitHubActionsClaims("myorg/app", "refs/heads/main"))
	if err != nil {
		t.Fatal(err)
	}
	sp.emu.InjectFault("AssumeRole", ststest.Fault{Latency: 10 * time.Second})
	go func() {
		req, _ := http.NewRequest(http.MethodGet, sp.url+"/v1/credentials/prod-deploy", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	for deadline := time.Now().Add(10 * time.Second); sp.emu.Calls("AssumeRoleWithWebIdentity") == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the broker never called AssumeRoleWithWebIdentity; stderr:\n%s", sp.stderr.String())
		}
	}
	if err := sp.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// Right after the first: no window in which it would be lost.
	start := time.Now()
	if err := sp.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err = sp.cmd.Wait()
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("exit %v after the second signal, want at once (the request holds the drain for 10 s)", d)
	}
	// Two different signals sent at once may be delivered in either order.
	if code := sp.cmd.ProcessState.ExitCode(); code != 128+int(syscall.SIGINT) && code != 128+int(syscall.SIGTERM) {
		t.Errorf("broker exit after a second signal = %d (%v), want 128 + the signal's number (130 or 143)", code, err)
	}
}
