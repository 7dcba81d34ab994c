package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/stsbroker/broker/internal/config"
)

const serveHelp = `Usage: broker serve --config FILE

Runs the broker daemon: verifies callers' OIDC tokens, authorizes profiles,
assumes the configured chain of roles through STS and serves the credentials
over HTTP (see README.md for the API). The configuration is YAML; unknown keys
and invalid values are refused at start-up with one line per problem.

Logs are JSON on stderr; audit events go to audit.sink (default stderr).
Stops gracefully on SIGINT or SIGTERM: in-flight requests finish.

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
	cfg, err := config.Load(*path)
	if err != nil {
		fmt.Fprintf(stderr, "broker serve: invalid configuration:\n%v\n", err)
		return exitFailure
	}
	log := newLogger(stderr)
	defer func() { _ = log.Sync() }()
	audit, closeAudit, err := newAuditLogger(cfg.Audit.Sink, stderr)
	if err != nil {
		log.Error("cannot open audit sink", zap.Error(err))
		return exitFailure
	}
	defer closeAudit()
	if err := serve(ctx, cfg, options{Log: log, Audit: audit}, nil); err != nil {
		log.Error("broker stopped", zap.Error(err))
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

// newLogger returns the JSON logger of `serve`: ISO 8601 times, to w.
func newLogger(w io.Writer) *zap.Logger {
	enc := zap.NewProductionEncoderConfig()
	enc.EncodeTime = zapcore.ISO8601TimeEncoder
	core := zapcore.NewCore(zapcore.NewJSONEncoder(enc), zapcore.Lock(zapcore.AddSync(w)), zap.InfoLevel)
	return zap.New(core)
}

// newAuditLogger opens the audit sink: "stderr", "stdout" or a file path
// (appended, created 0600).
func newAuditLogger(sink string, stderr io.Writer) (*zap.Logger, func(), error) {
	switch sink {
	case "", "stderr":
		return newLogger(stderr).Named("audit"), func() {}, nil
	case "stdout":
		return newLogger(os.Stdout).Named("audit"), func() {}, nil
	}
	f, err := os.OpenFile(sink, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("audit.sink: %w", err)
	}
	return newLogger(f).Named("audit"), func() { _ = f.Close() }, nil
}
