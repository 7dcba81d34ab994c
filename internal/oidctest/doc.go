// Package oidctest runs an OpenID Connect issuer on a local address, in the style of
// net/http/httptest. It serves discovery (/.well-known/openid-configuration) and a JWKS
// (/keys), mints tokens signed by the keys it publishes, rotates keys, simulates outages,
// counts requests, and mints deliberately broken tokens (expired, alg none, HS256 signed
// with the public key, …) for negative tests.
//
// It is production code: `broker dev` runs it as the local issuer. Tests use [Start]:
//
//	func TestVerify(t *testing.T) {
//		iss := oidctest.Start(t, oidctest.Options{})
//		token, err := iss.Mint(oidctest.GitHubActionsClaims("myorg/app", "refs/heads/main"))
//		if err != nil {
//			t.Fatalf("Mint() error = %v", err)
//		}
//		provider, err := oidc.NewProvider(t.Context(), iss.URL())
//		if err != nil {
//			t.Fatalf("NewProvider() error = %v", err)
//		}
//		v := provider.Verifier(&oidc.Config{ClientID: "sts.amazonaws.com"})
//		if _, err := v.Verify(t.Context(), token); err != nil {
//			t.Errorf("Verify() error = %v, want nil", err)
//		}
//		bad, _ := iss.MintBroken(oidctest.Expired, nil)
//		_, err = v.Verify(t.Context(), bad) // *oidc.TokenExpiredError
//	}
//
// Key rotation is [Server.AddKey] then [Server.RetireKey]; an outage is
// [Server.SetAvailable](false); [Server.Requests] tells how often verifiers fetched keys.
package oidctest
