package config

import (
	"net/url"
	"strings"
)

// sharedIssuer is an issuer that signs tokens for every tenant of a public
// service (wire-facts §6): a profile's conditions must name one tenant, or
// anyone's jobs meet them. Conditions such as environment: prod or ref:
// refs/heads/main say who the caller is only within a tenant; the check
// that some condition "says who the caller is" cannot tell.
type sharedIssuer struct {
	service, tenant string // for the message: "GitHub Actions", "owner"
	is              func(*url.URL) bool
	exact           []string    // claims whose exact value names a tenant
	path            []string    // claims whose value starts TENANT/
	subs            []subPrefix // sub formats that start with the tenant
	hint            string      // what to add, for the message
}

// subPrefix is a fixed start of a sub and the characters that end the
// name that follows it.
type subPrefix struct{ prefix, ends string }

var sharedIssuers = []sharedIssuer{
	{
		// github.com, an enterprise's custom issuer under it, GHE.com, and a
		// GitHub Enterprise Server's (shared by every user of the server).
		service: "GitHub Actions", tenant: "owner",
		is: func(u *url.URL) bool {
			h := u.Hostname()
			return h == "token.actions.githubusercontent.com" ||
				strings.HasPrefix(h, "token.actions.") && strings.HasSuffix(h, ".ghe.com") ||
				strings.HasSuffix(u.Path, "/_services/token")
		},
		exact: []string{"repository_owner", "repository_owner_id", "repository_id"},
		// Not job_workflow_ref: in a reusable workflow it names the called
		// workflow's repository, and any repository may call a public one.
		path: []string{"repository", "workflow_ref"},
		// A repository may choose its sub's format; values never hold a
		// raw ':' (GitHub encodes it as %3A).
		subs: []subPrefix{{"repo:", "/@"}, {"repository_owner:", ":"}, {"repository_owner_id:", ":"}, {"repository_id:", ":"}},
		hint: "repository_owner, repository_owner_id, repository, repository_id, or a sub starting repo:OWNER/",
	},
	{
		service: "GitLab.com", tenant: "group",
		is:    func(u *url.URL) bool { return u.Hostname() == "gitlab.com" },
		exact: []string{"namespace_path", "namespace_id", "project_id"},
		path:  []string{"namespace_path", "project_path"}, // GROUP/: its subgroups and projects
		subs:  []subPrefix{{"project_path:", "/"}},
		hint:  "namespace_path, namespace_id, project_path, project_id, or a sub starting project_path:GROUP/",
	},
	{
		service: "Buildkite", tenant: "organization",
		is:    func(u *url.URL) bool { return u.Hostname() == "agent.buildkite.com" },
		exact: []string{"organization_slug"},
		subs:  []subPrefix{{"organization:", ":"}},
		hint:  "organization_slug, or a sub starting organization:ORG:",
	},
}

// sharedIssuerOf returns the shared issuer rawURL belongs to, or nil.
func sharedIssuerOf(rawURL string) *sharedIssuer {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil
	}
	for i := range sharedIssuers {
		if sharedIssuers[i].is(u) {
			return &sharedIssuers[i]
		}
	}
	return nil
}

// pinsTenant reports whether some condition admits the tokens of one
// tenant only, in every one of its values.
func (si *sharedIssuer) pinsTenant(c Conditions) bool {
	for claim, values := range c.StringEquals {
		if si.pins(claim, values, false) {
			return true
		}
	}
	for claim, values := range c.StringLike {
		if si.pins(claim, values, true) {
			return true
		}
	}
	return false
}

// pins reports whether every value of a condition on claim names a
// tenant; like says the values are StringLike patterns.
func (si *sharedIssuer) pins(claim string, values []string, like bool) bool {
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
		tenant, _, slash := strings.Cut(lit, "/")
		ok := contains(si.exact, claim) && lit == v && v != "" ||
			contains(si.path, claim) && slash && tenant != ""
		if claim == "sub" {
			for _, sp := range si.subs {
				if name, found := strings.CutPrefix(lit, sp.prefix); found && strings.IndexAny(name, sp.ends) > 0 {
					ok = true
				}
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
