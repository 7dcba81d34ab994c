package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/stsbroker/broker/internal/oidctest"
	"github.com/stsbroker/broker/internal/ststest"
)

// Bounds of the load test. Everything is on loopback and ends by itself.
const (
	loadIdentities  = 200                    // warmed identities
	loadWorkers     = 32                     // concurrent clients
	loadRunFor      = 6 * time.Second        // length of the run
	loadMaxRequests = 400_000                // per worker, a bound on the loop
	loadNewWorkers  = 8                      // of loadWorkers, these ask only for brand-new identities
	loadMaxNew      = 600                    // at most this many brand-new identities
	loadFaultStep   = 300 * time.Millisecond // the fault schedule moves on this often
	loadHeapPerID   = 64 << 10               // heap growth allowed per identity: catches a leak
	loadGoroutineOK = 5                      // goroutines allowed above the baseline after shutdown
)

// loadFaults is the schedule the emulator cycles through during the run, on
// every action; each step replaces the previous one.
var loadFaults = []struct {
	name  string
	fault ststest.Fault
}{
	{name: "throttling-burst", fault: ststest.Fault{Code: "Throttling", Times: 30}},
	{name: "service-unavailable", fault: ststest.Fault{Status: http.StatusServiceUnavailable, Times: 30}},
	{name: "dropped-connections", fault: ststest.Fault{Drop: true, Times: 15}},
	{name: "latency", fault: ststest.Fault{Latency: 400 * time.Millisecond, Times: 30}},
	{name: "idp-communication", fault: ststest.Fault{Code: "IDPCommunicationError", Times: 15}},
	{name: "none"},
}

// loadResult is one request of the run.
type loadResult struct {
	warm    bool
	status  int
	code    string // the JSON error code, if any
	took    time.Duration
	failure string // "" when the request behaved as required
}

// loadIdentity is a warmed identity: its token and the access key id of the
// credentials cached for it.
type loadIdentity struct {
	token string
	akid  string
}

// TestLoadWithFaults drives the broker over HTTP with many identities from
// many clients while the STS emulator throttles, fails, drops and delays.
// Identities with a cached entry must never see a failure, new identities
// may only see 503 or 504 JSON errors, and after shutdown no goroutine is
// left and the heap has not grown beyond a bound per identity.
func TestLoadWithFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("load test; skipped with -short")
	}
	baseline := runtime.NumGoroutine()
	var (
		results       []loadResult
		heapBefore    uint64
		heapAfter     uint64
		newIdentities int
		stsCalls      int
	)
	t.Run("run", func(t *testing.T) {
		b := newTestBroker(t, brokerOpts{requestTimeout: 3 * time.Second})
		transport := &http.Transport{MaxIdleConnsPerHost: loadWorkers, IdleConnTimeout: 30 * time.Second}
		t.Cleanup(transport.CloseIdleConnections)
		client := &http.Client{Transport: transport, Timeout: 10 * time.Second}

		ids := warmIdentities(t, b, client)
		runtime.GC()
		heapBefore = readHeapInuse()
		callsBefore := b.STS.Calls("AssumeRoleWithWebIdentity")

		ctx, cancel := context.WithTimeout(t.Context(), loadRunFor)
		defer cancel()
		var (
			wg      sync.WaitGroup
			newSeq  atomic.Int64
			perWork = make([][]loadResult, loadWorkers)
		)
		wg.Go(func() { cycleFaults(ctx, b) })
		for w := range loadWorkers {
			wg.Go(func() {
				perWork[w] = loadWorker(ctx, t.Context(), b, client, w, ids, &newSeq)
			})
		}
		wg.Wait()
		b.STS.ClearFaults()
		b.Logs.TakeAll()
		newIdentities = int(min(newSeq.Load(), loadMaxNew))
		stsCalls = b.STS.Calls("AssumeRoleWithWebIdentity") - callsBefore
		for _, rs := range perWork {
			results = append(results, rs...)
		}
		runtime.GC()
		heapAfter = readHeapInuse()
	})

	var failures []string
	kinds := map[string]int{}
	var warmTook, newTook []time.Duration
	for _, r := range results {
		kind := fmt.Sprintf("new/%d/%s", r.status, r.code)
		if r.warm {
			kind = fmt.Sprintf("warm/%d", r.status)
			warmTook = append(warmTook, r.took)
		} else {
			newTook = append(newTook, r.took)
		}
		kinds[kind]++
		if r.failure != "" && len(failures) < 10 {
			failures = append(failures, r.failure)
		}
	}
	identities := loadIdentities + newIdentities
	growth := int64(heapAfter) - int64(heapBefore)
	t.Logf("load: %d requests (%d warm, %d new identities) in %s from %d workers; %d AssumeRoleWithWebIdentity calls",
		len(results), len(warmTook), newIdentities, loadRunFor, loadWorkers, stsCalls)
	t.Logf("load: outcomes %v", kinds)
	t.Logf("load: warm latency p50 %s p99 %s; new latency p50 %s p99 %s",
		percentile(warmTook, 0.50), percentile(warmTook, 0.99), percentile(newTook, 0.50), percentile(newTook, 0.99))
	t.Logf("load: heap in use %d KiB before the run, %d KiB after, %d B per identity",
		heapBefore>>10, heapAfter>>10, growth/int64(identities))

	if len(failures) > 0 {
		t.Errorf("load: requests that broke the contract (first %d):\n%s", len(failures), strings.Join(failures, "\n"))
	}
	if len(warmTook) < loadIdentities {
		t.Errorf("load: %d requests for warm identities, want at least %d", len(warmTook), loadIdentities)
	}
	if newIdentities == 0 {
		t.Errorf("load: no request for a new identity was made")
	}
	if perID := growth / int64(identities); perID > loadHeapPerID {
		t.Errorf("load: heap grew %d B per identity (%d B for %d identities), want at most %d",
			perID, growth, identities, loadHeapPerID)
	}
	checkGoroutines(t, baseline)
}

// warmIdentities mints a token for each load identity and fetches its
// credentials once, so that each has a valid cached entry, well inside
// refresh_before, before the faults start.
func warmIdentities(t *testing.T, b *testBroker, client *http.Client) []loadIdentity {
	t.Helper()
	ids := make([]loadIdentity, loadIdentities)
	var g errgroup.Group
	// Warm-up is set-up, not the test: few workers, and a cold miss that hits
	// the request timeout on a loaded machine (-race, parallel packages) is
	// retried, since no fault is injected yet.
	g.SetLimit(8)
	for i := range ids {
		g.Go(func() error {
			tok, err := b.Issuer.Mint(oidctest.GitHubActionsClaims(fmt.Sprintf("myorg/app-%d", i), "refs/heads/main"))
			if err != nil {
				return fmt.Errorf("Mint(myorg/app-%d) = %w", i, err)
			}
			var (
				status int
				body   []byte
			)
			for attempt := 0; attempt < 3; attempt++ {
				status, body, err = loadGet(t.Context(), client, b.URL, tok)
				if err != nil || status != http.StatusGatewayTimeout {
					break
				}
			}
			if err != nil {
				return fmt.Errorf("warm myorg/app-%d: %w", i, err)
			}
			var out processOutput
			if status != http.StatusOK || json.Unmarshal(body, &out) != nil || out.AccessKeyID == "" {
				return fmt.Errorf("warm myorg/app-%d: status %d, body %.200s", i, status, body)
			}
			ids[i] = loadIdentity{token: tok, akid: out.AccessKeyID}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	return ids
}

// cycleFaults moves through loadFaults every loadFaultStep until ctx ends.
func cycleFaults(ctx context.Context, b *testBroker) {
	tick := time.NewTicker(loadFaultStep)
	defer tick.Stop()
	for i := 0; ; i++ {
		b.STS.ClearFaults()
		if f := loadFaults[i%len(loadFaults)]; f.name != "none" {
			b.STS.InjectFault("", f.fault)
		}
		// The observer keeps every log entry; drop them so the heap
		// measures the broker, not the test's log sink.
		b.Logs.TakeAll()
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// loadWorker sends requests until run ends: the first loadNewWorkers
// workers for brand-new identities while there are some left, the others for
// warm identities. Requests use reqCtx, so the end of the run does not cut
// them short.
func loadWorker(run, reqCtx context.Context, b *testBroker, client *http.Client, w int, ids []loadIdentity, newSeq *atomic.Int64) []loadResult {
	results := make([]loadResult, 0, 1024)
	for n := 0; n < loadMaxRequests && run.Err() == nil; n++ {
		if w < loadNewWorkers {
			seq := newSeq.Add(1)
			if seq > loadMaxNew {
				break
			}
			results = append(results, newRequest(reqCtx, b, client, seq))
			continue
		}
		id := ids[(w*7919+n)%len(ids)]
		results = append(results, warmRequest(reqCtx, b, client, id))
	}
	return results
}

// warmRequest asks for a warmed identity's credentials: it must succeed with
// the cached credentials, whatever STS is doing.
func warmRequest(ctx context.Context, b *testBroker, client *http.Client, id loadIdentity) loadResult {
	start := time.Now()
	status, body, err := loadGet(ctx, client, b.URL, id.token)
	r := loadResult{warm: true, status: status, took: time.Since(start)}
	if err != nil {
		r.failure = fmt.Sprintf("warm %s: %v", id.akid, err)
		return r
	}
	var out processOutput
	if status != http.StatusOK {
		r.failure = fmt.Sprintf("warm %s: status %d, body %.200s", id.akid, status, body)
	} else if err := json.Unmarshal(body, &out); err != nil || out.AccessKeyID != id.akid {
		r.failure = fmt.Sprintf("warm %s: AccessKeyId %q (%v), want the warm-up's", id.akid, out.AccessKeyID, err)
	}
	return r
}

// newRequest asks for a brand-new identity's credentials: it must either
// succeed with complete credentials or fail with a 503 or 504 JSON error
// that says STS is unavailable or slow.
func newRequest(ctx context.Context, b *testBroker, client *http.Client, seq int64) loadResult {
	tok, err := b.Issuer.Mint(oidctest.GitHubActionsClaims(fmt.Sprintf("myorg/new-%d", seq), "refs/heads/main"))
	if err != nil {
		return loadResult{failure: fmt.Sprintf("Mint(myorg/new-%d) = %v", seq, err)}
	}
	start := time.Now()
	status, body, err := loadGet(ctx, client, b.URL, tok)
	r := loadResult{status: status, took: time.Since(start)}
	if err != nil {
		r.failure = fmt.Sprintf("new-%d: %v", seq, err)
		return r
	}
	switch status {
	case http.StatusOK:
		var out processOutput
		if err := json.Unmarshal(body, &out); err != nil || out.AccessKeyID == "" || out.SecretAccessKey == "" || out.SessionToken == "" || out.Expiration == "" {
			r.failure = fmt.Sprintf("new-%d: 200 with incomplete credentials (%v)", seq, err)
		}
	case http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		var e errorBody
		if err := json.Unmarshal(body, &e); err != nil {
			r.failure = fmt.Sprintf("new-%d: status %d, body not a JSON error: %.200s", seq, status, body)
			break
		}
		r.code = e.Error
		if e.Error != codeSTSUnavailable && e.Error != codeSTSTimeout {
			r.failure = fmt.Sprintf("new-%d: status %d, error %q, want %s or %s", seq, status, e.Error, codeSTSUnavailable, codeSTSTimeout)
		}
	default:
		r.failure = fmt.Sprintf("new-%d: status %d, want 200, 503 or 504: %.200s", seq, status, body)
	}
	return r
}

// loadGet fetches prod-deploy credentials with token and returns the status
// and the body, read up to 64 KiB.
func loadGet(ctx context.Context, client *http.Client, base, token string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/credentials/prod-deploy", nil)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, body, err
}

func readHeapInuse() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// percentile returns the p-quantile of ds (nearest rank), or 0 for none.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[int(p*float64(len(s)-1))]
}

// checkGoroutines waits up to five seconds for the goroutine count to come
// back to within loadGoroutineOK of baseline, and fails with every stack if
// it does not.
func checkGoroutines(t *testing.T, baseline int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	n := runtime.NumGoroutine()
	for n > baseline+loadGoroutineOK && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		n = runtime.NumGoroutine()
	}
	t.Logf("load: goroutines %d before, %d after shutdown", baseline, n)
	if n > baseline+loadGoroutineOK {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		t.Errorf("load: %d goroutines after shutdown, want at most %d (baseline %d + %d); stacks:\n%s",
			n, baseline+loadGoroutineOK, baseline, loadGoroutineOK, buf)
	}
}
