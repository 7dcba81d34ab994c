package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/stsbroker/broker/internal/config"
	"github.com/stsbroker/broker/internal/oidctest"
	"github.com/stsbroker/broker/internal/ststest"
)

const devHelp = `Usage: broker dev [--addr HOST:PORT] [--dir DIR]

Runs the whole stack on this machine with no AWS account: a local OIDC issuer,
an STS emulator loaded with the seed scenario (tooling account 111111111111,
role github-actions-oidc; target account 222222222222, role ci-deploy-role,
ExternalId myorg-prod-deploy) and the broker, all on 127.0.0.1.

It writes into DIR:
  token       a valid JWT of the demo identity (repo:myorg/app:ref:refs/heads/main),
              rewritten before it expires, without a trailing newline
  aws-config  an AWS shared config file whose profiles run
              'broker credential-process' against this broker
  env         shell exports: AWS_CONFIG_FILE, AWS_ENDPOINT_URL_STS, BROKER_URL

and runs until interrupted (Ctrl-C or SIGTERM).

Flags:
`

// devProfile is the profile broker dev serves: the seed's two hops.
const devProfile = "prod-deploy"

// devConfig is the broker configuration of broker dev; %s are the issuer URL
// and the STS emulator URL, known only once they listen.
const devConfig = `
server:
  addr: %q
aws:
  region: us-east-1
  sts_endpoint: %q
issuers:
  - name: dev
    url: %q
    audiences: [sts.amazonaws.com]
profiles:
  prod-deploy:
    issuer: dev
    conditions:
      StringEquals: {aud: sts.amazonaws.com, repository_owner: myorg}
      StringLike: {sub: "repo:myorg/*:ref:refs/heads/main"}
    session_name: "gha-{{ .claims.run_id }}"
    chain:
      - role_arn: arn:aws:iam::111111111111:role/github-actions-oidc
        duration: 1h
      - role_arn: arn:aws:iam::222222222222:role/ci-deploy-role
        external_id: myorg-prod-deploy
        duration: 1h
`

// devAWSCommand is the AWS CLI command broker dev prints. AWS CLI v2 before
// 2.13 ignores AWS_ENDPOINT_URL_STS, hence --endpoint-url.
const devAWSCommand = `aws sts get-caller-identity --endpoint-url "$AWS_ENDPOINT_URL_STS"`

// devTokenTTL is the lifetime of the demo token; it is rewritten at half of it.
const devTokenTTL = 10 * time.Minute

func runDev(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "`HOST:PORT` the broker listens on (loopback)")
	dir := fs.String("dir", ".broker-dev", "`DIR` to write token, aws-config and env into (created)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), devHelp)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintln(stderr, "broker dev: no arguments are accepted")
		return exitUsage
	}
	if host, _, err := net.SplitHostPort(*addr); err != nil || !config.IsLoopback(host) {
		fmt.Fprintf(stderr, "broker dev: --addr %q must be a loopback HOST:PORT such as 127.0.0.1:8080 (dev serves plain http)\n", *addr)
		return exitUsage
	}
	log := newLogger(stderr)
	if err := dev(ctx, *addr, *dir, stdout, log); err != nil {
		fmt.Fprintf(stderr, "broker dev: %v\n", err)
		return exitFailure
	}
	return exitOK
}

func dev(ctx context.Context, addr, dir string, stdout io.Writer, log *zap.Logger) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	issuer, err := oidctest.NewServer(oidctest.Options{})
	if err != nil {
		return err
	}
	defer issuer.Close()
	emulator, err := ststest.NewServer(ststest.Options{})
	if err != nil {
		return err
	}
	defer emulator.Close()
	if err := emulator.LoadSeed(issuer.URL()); err != nil {
		return err
	}
	cfg, err := config.Parse("broker dev", fmt.Appendf(nil, devConfig, addr, emulator.URL(), issuer.URL()))
	if err != nil {
		return err
	}
	tokenPath := filepath.Join(dir, "token")

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var refreshed chan error
	var writeErr error
	// Files are written only once the listener is bound: a second dev
	// that cannot bind (the same --addr) must not replace the running
	// one's token with a token of its own issuer, which dies with it.
	err = serve(ctx, cfg, options{Log: log}, func(brokerAddr string) {
		werr := os.MkdirAll(dir, 0o700)
		if werr == nil {
			werr = writeDevToken(issuer, tokenPath)
		}
		if werr == nil {
			refreshed = make(chan error, 1)
			go func() { refreshed <- refreshDevToken(ctx, issuer, tokenPath, devTokenTTL/2, log) }()
			werr = writeDevFiles(dir, "http://"+brokerAddr, emulator.URL())
		}
		if werr != nil {
			writeErr = fmt.Errorf("cannot write dev files: %w", werr)
			cancel()
			return
		}
		printDevHelp(stdout, dir, "http://"+brokerAddr, issuer.URL(), emulator.URL())
	})
	cancel()
	if err == nil {
		err = writeErr
	}
	if refreshed != nil {
		if rerr := <-refreshed; err == nil && rerr != nil && !errors.Is(rerr, context.Canceled) {
			err = rerr
		}
	}
	return err
}

// devClaims is the demo identity: a GitHub Actions job on main of myorg/app.
func devClaims() map[string]any {
	return oidctest.GitHubActionsClaims("myorg/app", "refs/heads/main")
}

func writeDevToken(issuer *oidctest.Server, path string) error {
	tok, err := issuer.MintWith(oidctest.MintOptions{TTL: devTokenTTL}, devClaims())
	if err != nil {
		return err
	}
	// No trailing newline: SDKs reject one in a token file.
	return writeFileAtomic(path, []byte(tok), 0o600)
}

// devTokenRetry is how soon a failed rewrite of the dev token is tried again.
const devTokenRetry = 10 * time.Second

// refreshDevToken rewrites the token every interval (half its lifetime)
// until ctx is done, and returns ctx's error. A failed rewrite (the
// directory removed, a full disk) is logged and tried again after
// devTokenRetry (or interval, if shorter), so that one failure does not
// leave the token to expire unseen while dev goes on serving.
func refreshDevToken(ctx context.Context, issuer *oidctest.Server, path string, interval time.Duration, log *zap.Logger) error {
	t := time.NewTimer(interval)
	defer t.Stop()
	retry := min(devTokenRetry, interval)
	failing := false
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		next := interval
		if err := writeDevToken(issuer, path); err != nil {
			log.Error("cannot rewrite the dev token; retrying", zap.String("path", path), zap.Duration("retry_in", retry), zap.Error(err))
			failing, next = true, retry
		} else if failing {
			log.Info("dev token rewritten again", zap.String("path", path))
			failing = false
		}
		t.Reset(next)
	}
}

func writeDevFiles(dir, brokerURL, stsURL string) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	tokenPath := filepath.Join(dir, "token")
	process := fmt.Sprintf("%s credential-process --url %s --profile %s --token-file %s",
		shellQuote(exe), brokerURL, devProfile, shellQuote(tokenPath))
	awsConfig := fmt.Sprintf(`# Written by broker dev. Every profile runs the broker's credential_process client.
[default]
region = us-east-1
credential_process = %[1]s

[profile %[2]s]
region = us-east-1
credential_process = %[1]s
`, process, devProfile)
	if err := writeFileAtomic(filepath.Join(dir, "aws-config"), []byte(awsConfig), 0o600); err != nil {
		return err
	}
	env := fmt.Sprintf(`# Written by broker dev. Use: . %[4]s
export AWS_CONFIG_FILE=%[1]s
export AWS_ENDPOINT_URL_STS=%[2]s
export BROKER_URL=%[3]s
`, shellQuote(filepath.Join(dir, "aws-config")), shellQuote(stsURL), shellQuote(brokerURL), shellQuote(filepath.Join(dir, "env")))
	return writeFileAtomic(filepath.Join(dir, "env"), []byte(env), 0o600)
}

func printDevHelp(w io.Writer, dir, brokerURL, issuerURL, stsURL string) {
	fmt.Fprintf(w, `broker dev is running (Ctrl-C stops it).
  broker        %s
  OIDC issuer   %s
  STS emulator  %s
  files         %s/{token,aws-config,env}

Try it:
  . %s
  `+devAWSCommand+`
  curl -s -H "Authorization: Bearer $(cat %s)" "$BROKER_URL/v1/credentials/%s"
`, brokerURL, issuerURL, stsURL, dir, shellQuote(filepath.Join(dir, "env")), shellQuote(filepath.Join(dir, "token")), devProfile)
}

// writeFileAtomic replaces path so that readers never see a partial file.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// shellQuote quotes s for POSIX shells and for botocore's shlex split of
// credential_process.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-:") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
