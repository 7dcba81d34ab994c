package config

import (
	"fmt"
	"slices"
	"strings"
)

// algorithms are the JWS algorithms go-oidc verifies: asymmetric only, so
// "none" and HS256 can never be allowed by configuration.
var algorithms = []string{"RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "EdDSA"}

// issuers checks the issuers list and returns their URLs by name.
func (ps *problems) issuers(is []Issuer) map[string]string {
	names := make(map[string]string, len(is))
	if len(is) == 0 {
		ps.add("issuers", "at least one issuer is required")
		return names
	}
	firstName := map[string]int{}
	firstURL := map[string]int{}
	for i, iss := range is {
		path := fmt.Sprintf("issuers[%d]", i)
		switch j, dup := firstName[iss.Name]; {
		case iss.Name == "":
			ps.add(path+".name", "required")
		case dup:
			ps.add(path+".name", "duplicate issuer name %q (also issuers[%d])", iss.Name, j)
		default:
			firstName[iss.Name] = i
			names[iss.Name] = iss.URL
		}
		ps.issuerURL(path+".url", iss.URL)
		if j, dup := firstURL[iss.URL]; dup && iss.URL != "" {
			ps.add(path+".url", "same URL as issuers[%d]: a token's iss must select one issuer", j)
		} else {
			firstURL[iss.URL] = i
		}
		if len(iss.Audiences) == 0 {
			ps.add(path+".audiences", "at least one audience is required")
		}
		for k, a := range iss.Audiences {
			switch {
			case a == "":
				ps.add(fmt.Sprintf("%s.audiences[%d]", path, k), "empty audience")
			case strings.Contains(a, "*"):
				// Compared for equality with the token's aud: a pattern
				// would match only a token whose aud is that very string.
				// (? is left alone: URL audiences may hold a query.)
				ps.add(fmt.Sprintf("%s.audiences[%d]", path, k), "%q: audiences are compared literally, not as patterns", a)
			}
		}
		if iss.JWKSURL != "" {
			ps.url(path+".jwks_url", iss.JWKSURL)
		}
		for k, alg := range iss.Algorithms {
			if !slices.Contains(algorithms, alg) {
				ps.add(fmt.Sprintf("%s.algorithms[%d]", path, k), "%q is not supported (want one of %v)", alg, algorithms)
			}
		}
	}
	return names
}

// issuerURL checks an issuer identifier: an http(s) URL as [problems.url]
// requires, with no query or fragment (OpenID Connect Discovery 1.0, §2).
func (ps *problems) issuerURL(path, raw string) {
	if raw == "" {
		ps.add(path, "required")
		return
	}
	u := ps.url(path, raw)
	if u != nil && (u.RawQuery != "" || u.Fragment != "" || u.ForceQuery) {
		ps.add(path, "an issuer URL has no query or fragment")
	}
}
