// Package auth verifies workload OIDC tokens across several trusted issuers
// and evaluates a profile's IAM-like claim conditions.
//
// A [Verifier] is built at start-up from a [Config] (and by
// [Verifier.Reconfigure] on a reload, which carries unchanged issuers over
// with their keys): one go-oidc
// IDTokenVerifier per issuer, each with its own JWKS cache. [Verifier.Verify]
// bounds and shape-checks the raw token before parsing, routes it to its
// issuer by the unverified iss claim (and by nothing else), pins the
// signing algorithm, lets go-oidc check the signature and issuer, and then
// checks audience, exp, nbf and iat itself so that every rejection carries a
// typed [TokenError] reason.
//
// Each issuer's keys are held by our own oidc.KeySet, built on go-jose
// (go-oidc does discovery and orchestrates the checks). go-oidc's
// RemoteKeySet would refetch the JWKS whenever a token's kid is unknown, with
// no rate limit (wire-facts §7.4); ours allows at most one such refetch per
// [Config.JWKSRefetchInterval], so a flood of forged tokens costs the issuer
// one request per interval, not one each. Besides, every
// [Config.JWKSMaxAge] the JWKS is fetched again whatever the tokens, so a
// key the issuer withdrew stops verifying even if no new kid ever shows up.
// A key set fetches and installs keys in one step and counts changes of its
// keys in a generation, which is all the verified-token cache needs to drop
// tokens of a retired key.
//
// An issuer that is down at start-up does not fail [New]: it is retried in
// the background with bounded backoff until it is initialised, and on
// [Verifier.Verify], together at most once per interval; [Verifier.Ready]
// reports whether every issuer has been initialised, and [Verifier.Close]
// ends the background retries and the periodic fetches.
//
// [Conditions] and [MatchLike] implement the StringEquals and StringLike
// operators of IAM condition blocks over verified claims.
package auth
