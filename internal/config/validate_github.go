package config

import (
	"net/url"
	"strings"
)

// githubIssuer reports whether u is GitHub Actions' issuer on github.com,
// an enterprise's custom one under it, or GHE.com's (wire-facts §6.1): one
// issuer for every repository there. (A GitHub Enterprise Server issuer
// has the server's own host and is not recognised.)
func githubIssuer(u string) bool {
	p, err := url.Parse(u)
	if err != nil {
		return false
	}
	h := p.Hostname()
	return h == "token.actions.githubusercontent.com" ||
		strings.HasPrefix(h, "token.actions.") && strings.HasSuffix(h, ".ghe.com")
}

// pinsGitHubOwner reports whether a condition admits the tokens of one
// GitHub owner only.
//
// Security: conditions such as environment: prod, ref: refs/heads/main or
// a sub of environment:prod (a repository may choose its sub's format) are
// met by repositories of anyone on GitHub. The existing check that some
// condition "says who the caller is" cannot tell; this one asks for the
// owner. Claims that carry it: repository_owner and repository_owner_id
// (the value), repository_id (one repository), repository,
// job_workflow_ref and workflow_ref (OWNER/… up to the first /), and a sub
// in GitHub's formats, repo:OWNER/… or repo:OWNER@ID/….
func pinsGitHubOwner(c Conditions) bool {
	for claim, values := range c.StringEquals {
		if pinsOwner(claim, values, false) {
			return true
		}
	}
	for claim, values := range c.StringLike {
		if pinsOwner(claim, values, true) {
			return true
		}
	}
	return false
}

// pinsOwner reports whether every value of a condition on claim names the
// owner; like says the values are StringLike patterns.
func pinsOwner(claim string, values []string, like bool) bool {
	if len(values) == 0 {
		return true // matches no token; reported as an empty list
	}
	for _, v := range values {
		lit := v // the text before the first wildcard
		if like {
			if i := strings.IndexAny(v, "*?"); i >= 0 {
				lit = v[:i]
			}
		}
		exact := lit == v
		var ok bool
		switch claim {
		case "repository_owner", "repository_owner_id", "repository_id":
			ok = exact && v != ""
		case "repository", "job_workflow_ref", "workflow_ref":
			owner, _, found := strings.Cut(lit, "/")
			ok = found && owner != ""
		case "sub":
			owner, found := strings.CutPrefix(lit, "repo:")
			ok = found && strings.IndexAny(owner, "/@") > 0
		}
		if !ok {
			return false
		}
	}
	return true
}
