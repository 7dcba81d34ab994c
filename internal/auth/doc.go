// Package auth verifies workload OIDC tokens across several trusted issuers
// and evaluates a profile's IAM-like claim conditions.
//
// A [Verifier] is built once at start-up from a [Config]: one go-oidc
// IDTokenVerifier per issuer, each with its own JWKS cache. [Verifier.Verify]
// bounds and shape-checks the raw token before parsing, routes it to its
// issuer by the unverified iss claim (and by nothing else), pins the
// signing algorithm, lets go-oidc check the signature and issuer, and then
// checks audience, exp, nbf and iat itself so that every rejection carries a
// typed [TokenError] reason.
//
// go-oidc's RemoteKeySet refetches the JWKS whenever a token's kid is
// unknown, with no rate limit (wire-facts §7.4). Each issuer's key set here
// allows at most one JWKS fetch per [Config.JWKSRefetchInterval], so a flood
// of forged tokens costs the issuer one request per interval, not one each.
//
// An issuer that is down at start-up does not fail [New]: it is retried on
// [Verifier.Verify] at most once per interval, and [Verifier.Ready] reports
// whether every issuer has been initialised.
//
// [Conditions] and [MatchLike] implement the StringEquals and StringLike
// operators of IAM condition blocks over verified claims.
package auth
