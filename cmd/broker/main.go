// Command broker exchanges a workload's OIDC token for short-lived AWS
// credentials in another account. See README.md and `broker help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	// A write to a broken stdout or stderr (a log collector that went
	// away) would otherwise end the process with SIGPIPE, cutting every
	// request in flight; ignored, the write fails with EPIPE and only
	// those lines are lost (see stderrSink).
	signal.Ignore(syscall.SIGPIPE)
	// The first SIGINT or SIGTERM starts a graceful shutdown (serve drains
	// its requests for up to request_timeout + 5 s); a second one ends the
	// process at once, exit 128 + its number as a shell reports it. One
	// channel for both, so that no second signal falls between them.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-sigs
		cancel()
		if s, ok := (<-sigs).(syscall.Signal); ok {
			os.Exit(128 + int(s))
		}
		os.Exit(1)
	}()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}
