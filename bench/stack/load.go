package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// loadResult is what load prints: one pass over the tokens.
type loadResult struct {
	Requests int     `json:"requests"`
	Non200   int64   `json:"non_200"`
	Errors   int64   `json:"errors"`
	Seconds  float64 `json:"seconds"`
	RPS      float64 `json:"rps"`
	P50ms    float64 `json:"p50_ms"`
	P99ms    float64 `json:"p99_ms"`
}

func runLoad(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	url := fs.String("url", "", "`URL` to GET (required)")
	path := fs.String("tokens", "", "token `FILE`, one a line (required)")
	from := fs.Int("from", 0, "first token (0-based line)")
	n := fs.Int("n", 0, "number of tokens from -from (0: all)")
	conc := fs.Int("c", 64, "concurrent clients")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *url == "" || *path == "" || *conc < 1 || *conc > 1024 {
		return errors.New("load: need -url, -tokens and 1 ≤ -c ≤ 1024")
	}
	tokens, err := readTokens(*path)
	if err != nil {
		return err
	}
	lo, hi := min(*from, len(tokens)), len(tokens)
	if *n > 0 {
		hi = min(lo+*n, hi)
	}
	tokens = tokens[lo:hi]

	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: *conc}}
	took := make([]time.Duration, len(tokens))
	var next, non200, failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range *conc {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(tokens) || ctx.Err() != nil {
					return
				}
				t0 := time.Now()
				status, err := get(ctx, client, *url, tokens[i])
				took[i] = time.Since(t0)
				switch {
				case err != nil:
					failed.Add(1)
				case status != http.StatusOK:
					non200.Add(1)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	slices.Sort(took)
	res := loadResult{
		Requests: len(tokens), Non200: non200.Load(), Errors: failed.Load(), Seconds: elapsed.Seconds(),
		RPS: float64(len(tokens)) / elapsed.Seconds(), P50ms: ms(percentile(took, 50)), P99ms: ms(percentile(took, 99)),
	}
	return json.NewEncoder(os.Stdout).Encode(res)
}

func get(ctx context.Context, client *http.Client, url, token string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, err
}

func readTokens(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 64<<10)
	for sc.Scan() {
		if line := sc.Text(); line != "" {
			out = append(out, line)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return out, nil
}

// percentile returns the p-th percentile of sorted (nearest rank).
func percentile(sorted []time.Duration, p int) time.Duration { return permille(sorted, 10*p) }

// permille returns the p-th per-mille of sorted (nearest rank), for p99.9.
func permille(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*p + 999) / 1000
	return sorted[max(i-1, 0)]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
