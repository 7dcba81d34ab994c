// Package client is the client side of `broker credential-process`: it gets
// the caller's OIDC token from a [TokenSource], asks the broker for
// credentials at GET /v1/credentials/{profile}, and prints them as the
// credential_process JSON that the AWS SDKs and CLI read from stdout.
//
// The contract with the SDKs is narrow (wire-facts §1): on success stdout holds
// exactly one JSON object with "Version" as the integer 1 and nothing else is
// written anywhere; on failure the process exits non-zero and writes one line
// to stderr, which botocore and the Rust SDK show to the user. That line never
// contains the token, a secret, or a body the broker did not shape itself.
//
// Exit codes, for scripts and retry loops: [ExitOK] 0 success, [ExitRefused] 1
// refused (retrying will not help), [ExitUsage] 2 bad flags or an unusable
// token source, [ExitTransient] 3 transient (429, 5xx, broker unreachable,
// timeout). Every error returned by [Fetch] is an [*Error] carrying its exit code.
// A 429 is retried first, after its Retry-After, while --timeout allows (see
// maxRetries): the SDKs do not retry a credential_process.
//
// The package imports nothing else of the project: it talks to the broker only
// over HTTP, as any other client would.
package client
