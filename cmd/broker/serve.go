package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"go.uber.org/zap"

	"github.com/stsbroker/broker/internal/config"
)

const serveHelp = `Usage: broker serve --config FILE

Runs the broker daemon: verifies callers' OIDC tokens, authorizes profiles,
assumes the configured chain of roles through STS and serves the credentials
over HTTP (see README.md for the API). The configuration is YAML; unknown keys
and invalid values are refused at start-up with one line per problem.

Logs are JSON on stderr; audit events go to audit.sink (default stderr).
Stops gracefully on SIGINT or SIGTERM: the listener closes and in-flight
requests get server.request_timeout plus 5s to finish; a second signal
ends it at once.
SIGHUP re-reads FILE: issuers and profiles are swapped atomically if the new
file is valid and the swap would neither make a ready broker unready nor
stop an issuer that works: new and changed issuers are fetched (unchanged
ones keep their keys), and while the broker is ready all of them must
answer, while it is not, those that work now. Otherwise the
refusal is logged and the running configuration stays. Changes to server,
aws, cache and audit need a restart.

Flags:
`

func runServe(ctx context.Context, args []string, _, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "path of the YAML configuration `FILE` (required)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), serveHelp)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if *path == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "broker serve: --config FILE is required and no arguments are accepted")
		return exitUsage
	}
	// Catch SIGHUP before anything else, and until serve has returned: its
	// default action ends the process, graceful shutdown included.
	reloads, stopReloads := reloadSignals()
	defer stopReloads()
	cfg, err := config.Load(*path)
	if err != nil {
		fmt.Fprintf(stderr, "broker serve: invalid configuration:\n%v\n", err)
		return exitFailure
	}
	logs, err := newLogs(cfg.Audit.Sink, stderr)
	if err != nil {
		newLogger(stderr).Error("cannot open audit sink", zap.Error(err))
		return exitFailure
	}
	defer logs.close()
	o := options{Log: logs.log, Access: logs.access, Audit: logs.audit, ConfigPath: *path, Reloads: reloads, AuditErrors: logs.auditErrors.Load}
	if err := serve(ctx, cfg, o, nil); err != nil {
		logs.log.Error("broker stopped", zap.Error(err))
		return exitFailure
	}
	return exitOK
}

// serve builds the broker from cfg, listens, and runs until ctx is done.
// ready, when not nil, receives the listeners' addresses once serving.
func serve(ctx context.Context, cfg *config.Config, o options, ready func(addr string)) error {
	b, err := build(ctx, cfg, o)
	if err != nil {
		return err
	}
	defer b.close()
	ls, err := listen(cfg)
	if err != nil {
		return err
	}
	if o.Reloads != nil {
		ctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			b.reloadOn(ctx, o.ConfigPath, o.Reloads)
		}()
		defer func() { cancel(); <-done }()
	}
	fields := []zap.Field{zap.String("addr", ls.Main.Addr().String()),
		zap.Bool("tls", ls.TLS != nil), zap.Int("profiles", len(cfg.Profiles))}
	if ls.Metrics != nil {
		fields = append(fields, zap.String("metrics_addr", ls.Metrics.Addr().String()))
	}
	o.Log.Info("broker listening", fields...)
	if ready != nil {
		ready(ls.Main.Addr().String())
	}
	err = b.api.Run(ctx, ls)
	o.Log.Info("broker stopped serving")
	return err
}

// reloadSignals turns SIGHUP into reload requests until stop is called. A
// request that arrives while one is pending is merged into it; once serve
// stopped reading them (shutting down), they are dropped.
func reloadSignals() (reloads <-chan struct{}, stop func()) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGHUP)
	out := make(chan struct{}, 1)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case <-sig:
				select {
				case out <- struct{}{}:
				default:
				}
			}
		}
	}()
	return out, func() {
		signal.Stop(sig)
		close(done)
	}
}
