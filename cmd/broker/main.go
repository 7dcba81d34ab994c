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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// The first signal starts a graceful shutdown (serve drains its
	// requests for up to request_timeout + 5 s); a second one ends the
	// process at once, as the default action does.
	context.AfterFunc(ctx, stop)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
