package client

// HelpText is the --help text of `broker credential-process`.
const HelpText = `Usage: broker credential-process --url URL --profile NAME TOKEN-SOURCE [flags]

Fetch short-lived AWS credentials for a profile from the broker and print them
on stdout as credential_process JSON ({"Version":1,"AccessKeyId":...}), for the
AWS CLI and SDKs. Errors go to stderr as one line; stdout then stays empty.
The token is never printed.

Flags:
  --url URL            broker base URL, e.g. https://broker.example:8443
                       (default $BROKER_URL)
  --profile NAME       broker profile to get credentials for (1 to 64 of
                       A-Z a-z 0-9 _ . -, not only dots)
  --ca-file PATH       PEM bundle of a private CA to trust for the broker
                       (default: the system roots)
  --cert-file PATH     client certificate (PEM, chain allowed) to present when
                       the broker requires one (server.tls.client_ca_file)
  --key-file PATH      the certificate's private key (PEM); with --cert-file
                       (the three TLS flags need an https:// --url)
  --timeout DURATION   limit for the whole call, token source included (default 30s)
  --insecure-plaintext allow an http:// --url (and, with --github-actions, an
                       http:// ACTIONS_ID_TOKEN_REQUEST_URL) whose host is not
                       loopback (127.0.0.0/8, ::1, localhost): the token then
                       crosses the network in clear; only for a broker (and
                       runner) reachable solely on a trusted network

TOKEN-SOURCE, exactly one of:
  --token-file PATH    read the OIDC token from PATH on every call (Kubernetes
                       projected tokens, GitLab id_tokens written to a file);
                       surrounding whitespace is trimmed
  --token-env VAR      read the OIDC token from environment variable VAR
  --github-actions     request a token from the GitHub Actions runtime
                       (ACTIONS_ID_TOKEN_REQUEST_URL, ACTIONS_ID_TOKEN_REQUEST_TOKEN;
                       the job needs "permissions: id-token: write")
  --audience AUD       with --github-actions: the token's audience
                       (default sts.amazonaws.com)

Exit codes:
  0  success: credentials on stdout
  1  refused: 400, 401, 403 or 404 from the broker, 502 sts_refused (STS
     refused a hop), an answer that is not credentials, or a plain-HTTP
     answer to an https:// URL; retrying will not help
  2  usage: bad flags (an http:// --url, or with --github-actions an http://
     ACTIONS_ID_TOKEN_REQUEST_URL, to a host that is not loopback without
     --insecure-plaintext), or no token from the token source (file
     missing, unreadable or empty, variable unset, GitHub Actions variables
     missing, the runtime refusing or redirecting),
     or a CA, certificate or key file that cannot be read or used
  3  transient: 429 or another 5xx from the broker, broker unreachable, or timeout;
     a retry may help. A 429 with a Retry-After of up to 10s is retried here
     first (at most 3 times, with jitter, within --timeout)

Example ~/.aws/config:
  [profile prod]
  credential_process = broker credential-process --url https://broker.example:8443 --profile prod-deploy --token-file /var/run/secrets/tokens/broker
`
