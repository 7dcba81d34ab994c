package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/stsbroker/broker/internal/client"
)

func runCredentialProcess(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("credential-process", flag.ContinueOnError)
	// The AWS CLI shows this command's stderr: a flag error is one line
	// (below), not the whole help; --help prints it.
	fs.SetOutput(io.Discard)
	var (
		url       = fs.String("url", os.Getenv("BROKER_URL"), "broker base `URL` (default $BROKER_URL)")
		name      = fs.String("profile", "", "profile `NAME` to get credentials for (required)")
		tokenFile = fs.String("token-file", "", "read the OIDC token from `PATH` on every call")
		tokenEnv  = fs.String("token-env", "", "read the OIDC token from environment variable `VAR`")
		github    = fs.Bool("github-actions", false, "request a token from the GitHub Actions runtime (needs permissions: id-token: write)")
		audience  = fs.String("audience", "sts.amazonaws.com", "`AUD` to request with --github-actions")
		caFile    = fs.String("ca-file", "", "PEM bundle of a private CA that signed the broker's certificate")
		certFile  = fs.String("cert-file", "", "client certificate (PEM) for a broker that requires one (mutual TLS)")
		keyFile   = fs.String("key-file", "", "private key (PEM) of --cert-file")
		timeout   = fs.Duration("timeout", 30*time.Second, "give up after this long")
		plaintext = fs.Bool("insecure-plaintext", false, "allow an http:// --url whose host is not loopback: the token then crosses the network in clear; for a broker reachable only on a trusted network")
	)
	usageErr := func(msg string) int {
		fmt.Fprintf(stderr, "broker: %s (see broker credential-process --help)\n", msg)
		return client.ExitUsage
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stderr, client.HelpText)
			return exitOK
		}
		return usageErr(err.Error())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["audience"] && !*github {
		return usageErr("--audience goes with --github-actions only")
	}
	if *timeout < 0 {
		return usageErr("--timeout must not be negative (0 is the default, 30s)")
	}
	if fs.NArg() > 0 {
		return usageErr("unexpected arguments")
	}
	if *url == "" || *name == "" {
		return usageErr("--url (or BROKER_URL) and --profile are required")
	}
	var sources []client.TokenSource
	if *tokenFile != "" {
		sources = append(sources, client.FileSource{Path: *tokenFile})
	}
	if *tokenEnv != "" {
		sources = append(sources, client.EnvSource{Var: *tokenEnv})
	}
	if *github {
		sources = append(sources, client.GitHubActionsSource{Audience: *audience, InsecurePlaintext: *plaintext})
	}
	if len(sources) != 1 {
		return usageErr("exactly one of --token-file, --token-env, --github-actions is required")
	}
	return client.Run(ctx, client.Config{
		URL: *url, Profile: *name, Source: sources[0], CAFile: *caFile, CertFile: *certFile, KeyFile: *keyFile, Timeout: *timeout,
		InsecurePlaintext: *plaintext, Stdout: stdout, Stderr: stderr,
	})
}
