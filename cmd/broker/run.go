package main

import (
	"context"
	"fmt"
	"io"
	"strings"
)

const usage = `broker exchanges a workload's OIDC token for short-lived AWS credentials.

Usage:
  broker serve --config FILE          run the daemon
  broker credential-process --url URL --profile NAME (--token-file PATH | --token-env VAR | --github-actions)
                                      print credential_process JSON for the AWS SDKs and CLI
  broker dev [--addr HOST:PORT] [--dir DIR]
                                      the whole stack on this machine, no AWS account needed
  broker version                      print version and commit

Run 'broker COMMAND --help' for a command's flags.
`

// run is the whole program; main only wires signals and the exit code, so
// tests call run directly.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "serve":
		return runServe(ctx, args[1:], stdout, stderr)
	case "credential-process":
		return runCredentialProcess(ctx, args[1:], stdout, stderr)
	case "dev":
		return runDev(ctx, args[1:], stdout, stderr)
	case "version", "--version":
		switch {
		case len(args) == 2 && (args[1] == "--help" || args[1] == "-h"):
			fmt.Fprint(stderr, "Usage: broker version\n\nPrints the broker's version and commit.\n")
			return exitOK
		case len(args) > 1:
			fmt.Fprintf(stderr, "broker: version takes no arguments or flags\n")
			return exitUsage
		}
		return runVersion(stdout)
	case "help", "-h", "--help":
		if len(args) > 1 {
			switch c := args[1]; {
			case c == "serve" || c == "credential-process" || c == "dev" || c == "version":
				// `broker help serve` is `broker serve --help`.
				return run(ctx, []string{c, "--help"}, stdout, stderr)
			case c == "help" || c == "-h" || c == "--help":
			case strings.HasPrefix(c, "-"):
				fmt.Fprintf(stderr, "broker: unknown flag %q\n\n%s", c, usage)
				return exitUsage
			default:
				fmt.Fprintf(stderr, "broker: unknown command %q\n\n%s", c, usage)
				return exitUsage
			}
		}
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "broker: unknown command %q\n\n%s", args[0], usage)
		return exitUsage
	}
}

// Exit codes, shared by every command (credential-process documents them).
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)
