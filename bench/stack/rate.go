package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// rateResult is what rate prints: the requests scheduled in the measured
// window (after the warm-up) at a constant offered rate.
type rateResult struct {
	Requests   int     `json:"requests"`    // scheduled in the window and sent
	Seconds    float64 `json:"seconds"`     // the window: -d
	RateTarget float64 `json:"rate_target"` // offered req/s
	RPS        float64 `json:"rps"`         // achieved: answers received in the window / seconds
	P50ms      float64 `json:"p50_ms"`      // latencies of the 200 answers, from the intended start
	P90ms      float64 `json:"p90_ms"`
	P99ms      float64 `json:"p99_ms"`
	P999ms     float64 `json:"p999_ms"`
	MaxMs      float64 `json:"max_ms"`
	Non200     int64   `json:"non_200"`
	Errors     int64   `json:"errors"`
	Unsent     int     `json:"unsent"`          // scheduled in the window, not sent by the cut-off
	LagP50ms   float64 `json:"send_lag_p50_ms"` // due time to actual send: waiting for a free connection, or the generator lagging
	LagP99ms   float64 `json:"send_lag_p99_ms"`
	Conns      int64   `json:"conns"` // connections dialled, warm-up included
}

// runRate sends GET requests on exactly c keep-alive connections at a
// constant rate: request i is due at t0 + i/rate whether or not earlier ones
// have been answered (open loop), and its latency runs from that due time to
// the end of its body, so that the time it waits for a free connection counts
// (corrected for coordinated omission). Each of c workers owns a connection's
// worth of concurrency: it takes the next due request, sleeps until it is due
// unless late already, sends it and reads the whole answer. Before the
// schedule starts, the workers open the c connections with one request each.
//
// Go's timers wake an idle process up to 1 ms late (the runtime waits in
// epoll with a timeout in milliseconds), so at low rates requests go out a few
// hundred µs after their due time and that counts in their latency:
// send_lag_p50_ms shows it.
func runRate(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("rate", flag.ContinueOnError)
	url := fs.String("url", "", "`URL` to GET (required)")
	path := fs.String("tokens", "", "token `FILE`, one a line, used round-robin (required)")
	rate := fs.Float64("rate", 0, "offered requests per second (required)")
	dur := fs.Duration("d", 10*time.Second, "measured duration")
	warmup := fs.Duration("warmup", 2*time.Second, "unrecorded warm-up at the same rate before -d")
	conc := fs.Int("c", 64, "connections (one worker each)")
	grace := fs.Duration("grace", 2*time.Second, "after the window, how long a lagging run may go on sending its remaining requests (the rest are unsent)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *url == "" || *path == "" || *rate <= 0 || *dur <= 0 || *warmup < 0 || *grace < 0 || *conc < 1 || *conc > 1024 {
		return errors.New("rate: need -url, -tokens, -rate > 0, -d > 0 and 1 ≤ -c ≤ 1024")
	}
	tokens, err := readTokens(*path)
	if err != nil {
		return err
	}
	if len(tokens) == 0 {
		return fmt.Errorf("rate: no token in %s", *path)
	}
	bearer := make([]string, len(tokens))
	for i, t := range tokens {
		bearer[i] = "Bearer " + t
	}

	// Requests [0, warm) are the warm-up, [warm, total) the window.
	due := func(i int64) time.Duration { return time.Duration(float64(i) * 1e9 / *rate) }
	warm := int64(math.Ceil(warmup.Seconds() * *rate))
	total := warm + int64(math.Ceil(dur.Seconds()**rate))
	if total-warm < 1 {
		return errors.New("rate: -rate × -d is less than one request")
	}

	var dials atomic.Int64
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials.Add(1)
			return dialer.DialContext(ctx, network, addr)
		},
		MaxConnsPerHost:     *conc,
		MaxIdleConnsPerHost: *conc,
		MaxIdleConns:        *conc,
		DisableCompression:  true,
	}
	defer tr.CloseIdleConnections()

	// Set before start is closed: the schedule, and the context of the
	// requests (those still unanswered 10 s after the cut-off are errors).
	var (
		t0, winStart, winEnd, cutoff time.Time
		runCtx                       context.Context
		abort                        bool
	)
	ready, start := sync.WaitGroup{}, make(chan struct{})
	ready.Add(*conc)
	primeCtx, primeCancel := context.WithTimeout(ctx, 30*time.Second)
	defer primeCancel()

	type worker struct {
		took, lag []time.Duration
		sent      int
		answered  int // answers received in the window, whenever due
		non200    int64
		errs      int64
		err       error
	}
	workers := make([]worker, *conc)
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		me := &workers[w]
		me.took = make([]time.Duration, 0, int(total-warm) / *conc + 16)
		me.lag = make([]time.Duration, 0, cap(me.took))
		wg.Go(func() {
			// First every worker sends one request, unrecorded, and holds its
			// answer until all have theirs: that opens the c connections
			// before the schedule starts.
			buf := make([]byte, 16<<10)
			resp, err := prime(primeCtx, tr, *url, bearer[w%len(bearer)])
			me.err = err
			ready.Done()
			<-start
			if resp != nil {
				_, _ = io.CopyBuffer(io.Discard, resp.Body, buf)
				resp.Body.Close()
			}
			if abort {
				return
			}
			// One request per worker, reused: the transport is done with it
			// once its body is closed, and only the header value changes.
			req, err := http.NewRequestWithContext(runCtx, http.MethodGet, *url, nil)
			if err != nil {
				me.err = err
				return
			}
			auth := []string{""}
			req.Header["Authorization"] = auth
			for {
				i := next.Add(1) - 1
				if i >= total || runCtx.Err() != nil {
					return
				}
				at := t0.Add(due(i))
				if d := time.Until(at); d > 0 {
					time.Sleep(d)
				}
				sent := time.Now()
				if sent.After(cutoff) {
					return
				}
				auth[0] = bearer[i%int64(len(bearer))]
				status, err := roundTrip(tr, req, buf)
				end := time.Now()
				if err == nil && !end.Before(winStart) && end.Before(winEnd) {
					me.answered++
				}
				if i < warm {
					continue
				}
				me.sent++
				switch {
				case err != nil:
					me.errs++
				case status != http.StatusOK:
					me.non200++
				default:
					me.took = append(me.took, end.Sub(at))
					me.lag = append(me.lag, sent.Sub(at))
				}
			}
		})
	}
	ready.Wait()
	for i := range workers {
		abort = abort || workers[i].err != nil
	}
	t0 = time.Now().Add(10 * time.Millisecond) // the workers read their first answers
	winStart, winEnd = t0.Add(due(warm)), t0.Add(due(total))
	cutoff = winEnd.Add(*grace) // no request is sent after this
	runCtx, cancel := context.WithDeadline(ctx, cutoff.Add(10*time.Second))
	defer cancel()
	close(start)
	wg.Wait()
	if ctx.Err() != nil {
		return ctx.Err()
	}

	res := rateResult{Seconds: winEnd.Sub(winStart).Seconds(), RateTarget: *rate, Conns: dials.Load()}
	var took, lag []time.Duration
	answered := 0
	for i := range workers {
		w := &workers[i]
		if w.err != nil {
			return w.err
		}
		took, lag = append(took, w.took...), append(lag, w.lag...)
		res.Requests += w.sent
		res.Non200 += w.non200
		res.Errors += w.errs
		answered += w.answered
	}
	res.Unsent = int(total-warm) - res.Requests
	slices.Sort(took)
	slices.Sort(lag)
	res.RPS = float64(answered) / res.Seconds
	res.P50ms, res.P90ms, res.P99ms = ms(percentile(took, 50)), ms(percentile(took, 90)), ms(percentile(took, 99))
	res.P999ms = ms(permille(took, 999))
	if len(took) > 0 {
		res.MaxMs = ms(took[len(took)-1])
	}
	res.LagP50ms, res.LagP99ms = ms(percentile(lag, 50)), ms(percentile(lag, 99))
	return json.NewEncoder(os.Stdout).Encode(res)
}

// prime sends a worker's first request and returns its answer unread, or an
// error unless the status is 200.
func prime(ctx context.Context, tr *http.Transport, url, bearer string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", bearer)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return nil, fmt.Errorf("rate: first request: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("rate: first request: status %d", resp.StatusCode)
	}
	return resp, nil
}

// roundTrip sends req on tr and reads the whole body, buf at a time.
func roundTrip(tr *http.Transport, req *http.Request, buf []byte) (int, error) {
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	for {
		_, err := resp.Body.Read(buf)
		if err == io.EOF {
			return resp.StatusCode, nil
		}
		if err != nil {
			return resp.StatusCode, err
		}
	}
}
