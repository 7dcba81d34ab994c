// Command stack runs what bench/run.sh measures the broker against, all on
// 127.0.0.1: an OIDC issuer, the STS emulator with the seed scenario, a bare
// HTTP handler (the floor) and a no-cache handler that verifies the token and
// runs the whole chain on every request, as a per-job action does.
//
//	stack serve -dir DIR -identities N [-alg RS256|ES256] [-sts-latency 5ms]
//	stack load -url URL -tokens FILE [-c 64]
//	stack rate -url URL -tokens FILE -rate R [-d 10s] [-c 64] [-warmup 2s]
//
// serve mints N valid tokens of distinct identities into DIR/tokens.txt, writes
// a broker configuration to DIR/broker.yaml, prints the addresses as one JSON
// line on stdout and runs until SIGINT or SIGTERM. load sends one request per
// token (one pass) with c concurrent clients and prints the latencies as JSON.
// rate offers R requests a second on c keep-alive connections (open loop) for
// the warm-up and then d, and prints as JSON the latencies of the requests due
// after the warm-up, each from the time it was due (coordinated omission
// corrected).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: stack serve|load|rate [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = runServe(ctx, os.Args[2:])
	case "load":
		err = runLoad(ctx, os.Args[2:])
	case "rate":
		err = runRate(ctx, os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q: want serve, load or rate", os.Args[1])
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "stack: %v\n", err)
		os.Exit(1)
	}
}
