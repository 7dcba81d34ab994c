package config

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"text/template"
	"time"

	"github.com/stsbroker/broker/internal/profile/policy"
)

// Limits of STS and of the broker that configuration must respect
// (reference/wire-facts.md §4.2, §4.3).
const (
	minHopDuration   = 15 * time.Minute
	maxHopDuration   = 12 * time.Hour
	maxChainedHop    = time.Hour // "exceeds the 1 hour session limit for roles assumed by role chaining"
	maxHops          = 10
	maxSessionTags   = 50
	maxTransitiveTag = 50
	maxPolicyARNs    = 10
)

var (
	// profileName: names appear in URL paths (/v1/credentials/{profile}).
	profileName = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)
	roleARN     = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:role/(?:[\x21-\x7e]*/)?[\w+=,.@-]{1,64}$`)
	policyARN   = regexp.MustCompile(`^arn:aws[a-z-]*:iam::(?:[0-9]{12}|aws):policy/(?:[\x21-\x7e]*/)?[\w+=,.@-]{1,128}$`)
	externalID  = regexp.MustCompile(`^[\w+=,.@:/-]+$`) // and 2 to 1224 long
	tagKey      = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$`)
)

func (ps *problems) profile(name string, p *Profile, issuers map[string]string) {
	path := "profiles." + name
	if !profileName.MatchString(name) || strings.Trim(name, ".") == "" {
		ps.add("profiles", "invalid profile name %q: want 1 to 64 of A-Z a-z 0-9 _ . - and not only dots (names appear in URLs)", name)
	}
	if p == nil {
		ps.add(path, "empty profile")
		return
	}
	issuerURL, known := issuers[p.Issuer]
	switch {
	case p.Issuer == "":
		ps.add(path+".issuer", "required")
	case !known:
		ps.add(path+".issuer", "unknown issuer %q", p.Issuer)
	}
	// web reports whether hop 1 is AssumeRoleWithWebIdentity. An unknown
	// source is reported once, not again through web-identity hop checks.
	web := false
	switch p.Source {
	case "", SourceWebIdentity:
		web = true
	case SourceAmbient:
	default:
		ps.add(path+".source", "unknown source %q (want web_identity or ambient)", p.Source)
	}
	ps.conditions(path+".conditions", p, issuerURL)
	ps.template(path+".session_name", p.SessionName)
	ps.template(path+".source_identity", p.SourceIdentity)
	if len(p.SourceIdentity) >= 4 && strings.EqualFold(p.SourceIdentity[:4], "aws:") {
		ps.add(path+".source_identity", "must not start with aws: (reserved by STS)")
	}
	if p.SourceIdentity != "" && web && len(p.Chain) == 1 {
		ps.add(path+".source_identity", "needs an AssumeRole hop: AssumeRoleWithWebIdentity (hop 1 of a web_identity profile) takes no SourceIdentity")
	}
	switch {
	case len(p.Chain) == 0:
		ps.add(path+".chain", "at least one hop is required")
	case len(p.Chain) > maxHops:
		ps.add(path+".chain", "%d hops exceed the limit of %d", len(p.Chain), maxHops)
	}
	for i := range p.Chain {
		ps.hop(fmt.Sprintf("%s.chain[%d]", path, i), i, web, &p.Chain[i])
	}
	ps.transitiveRepeats(path, p.Chain)
}

// transitiveRepeats refuses a session tag whose key an earlier hop of the
// chain marked transitive (transitive_tag_keys). STS carries a transitive
// tag into every later session of the chain and refuses an AssumeRole
// that sets the same key again, compared case-insensitively, with a
// ValidationError (wire-facts §4.3: "same key as inherited transitive tag
// ⇒ operation fails"): every request for the profile would fail at that
// hop, after the hops before it were spent.
func (ps *problems) transitiveRepeats(path string, chain []Hop) {
	type mark struct {
		hop int
		key string // as written in transitive_tag_keys
	}
	earlier := make(map[string]mark) // by lower-case key
	for i := range chain {
		h := &chain[i]
		for _, k := range slices.Sorted(maps.Keys(h.SessionTags)) {
			if m, ok := earlier[strings.ToLower(k)]; ok {
				ps.add(fmt.Sprintf("%s.chain[%d].session_tags.%s", path, i, k),
					"tag key %q repeats %q, a transitive tag key of chain[%d] (tag keys are case-insensitive): the session of chain[%d] carries that tag, and STS refuses an AssumeRole that sets it again (ValidationError), so every request for this profile would fail at this hop; remove the tag here, or remove %q from chain[%d].transitive_tag_keys",
					k, m.key, m.hop, i-1, m.key, m.hop)
			}
		}
		for _, k := range h.TransitiveTagKeys {
			if _, ok := earlier[strings.ToLower(k)]; !ok {
				earlier[strings.ToLower(k)] = mark{hop: i, key: k}
			}
		}
	}
}

func (ps *problems) conditions(path string, p *Profile, issuerURL string) {
	if p.Conditions.Len() == 0 {
		ps.add(path, "at least one condition is required: without one, every token from issuer %q could use this profile", p.Issuer)
	}
	// Some conditions say nothing about who the caller is: one on iss (the
	// verifier already requires the issuer's URL) or aud (chosen by whoever
	// requests the token: anyone can get a GitHub token for
	// sts.amazonaws.com), a StringLike pattern made only of * and ?,
	// which requires only that the token carries the claim, and a sub
	// pattern that leaves the owner open (see openSub), which tokens of
	// anyone's repositories match. A profile whose conditions are all like
	// that is as open as one without.
	identifies := false
	for claim, values := range p.Conditions.StringEquals {
		identifies = identifies || len(values) == 0 || (claim != "iss" && claim != "aud")
	}
	for claim, values := range p.Conditions.StringLike {
		weak := matchesAny
		if claim == "sub" {
			weak = func(p string) bool { return matchesAny(p) || openSub(p) }
		}
		identifies = identifies || len(values) == 0 || (claim != "iss" && claim != "aud" && !slices.ContainsFunc(values, weak))
	}
	switch {
	case p.Conditions.Len() > 0 && !identifies:
		ps.add(path, "no condition says who the caller is: conditions on iss or aud, StringLike patterns of only * and ?, and sub patterns that leave the owner open (*:ref:refs/heads/main, repo:*, repo:myorg*, system:serviceaccount:*) are met by any token from issuer %q that carries the claim; name what the caller must be (a repository owner, a namespace, a sub prefix)", p.Issuer)
	case p.Conditions.Len() > 0:
		if si := sharedIssuerOf(issuerURL); si != nil && !si.pinsTenant(p.Conditions) {
			ps.add(path, "issuer %q is the one of %s, which signs tokens for every %s's jobs: a condition must name the %s (%s)", p.Issuer, si.service, si.tenant, si.tenant, si.hint)
		}
	}
	ops := []struct {
		name string
		m    map[string]StringList
	}{{"StringEquals", p.Conditions.StringEquals}, {"StringLike", p.Conditions.StringLike}}
	for _, o := range ops {
		op, m := o.name, o.m
		for _, claim := range slices.Sorted(maps.Keys(m)) {
			switch {
			case claim == "":
				ps.add(path+"."+op, "empty claim name")
			case len(m[claim]) == 0:
				ps.add(path+"."+op+"."+claim, "empty value list")
			}
		}
	}
}

// subPrefixes are the fixed starts of the sub claim of GitHub Actions,
// GitLab CI, Kubernetes service-account, Buildkite and CircleCI tokens
// (wire-facts §6), each with the characters that end the owner, group,
// namespace or organisation that follows it.
var subPrefixes = []struct{ prefix, ends string }{
	{"repo:", "/@"}, // repo:OWNER/REPO:…, repo:OWNER@ID/REPO@ID:…
	{"project_path:", "/"},
	{"system:serviceaccount:", ":"},
	{"organization:", ":"},
	{"org/", "/"},
}

// openSub reports whether a StringLike pattern on sub leaves open who the
// caller is: a wildcard first (*:ref:refs/heads/main matches every
// repository's main), inside or right after one of subPrefixes (re*,
// repo:*), or before the owner that follows the prefix ends (repo:myorg*
// also matches repo:myorg-evil/…). The deploy module's allowed_subjects
// validation refuses them in trust policies too, and, stricter, any other
// wildcard subject whose owner it cannot see (x:*).
func openSub(pattern string) bool {
	i := strings.IndexAny(pattern, "*?")
	if i < 0 {
		return false
	}
	lit := pattern[:i]
	if lit == "" {
		return true
	}
	for _, sp := range subPrefixes {
		if strings.HasPrefix(sp.prefix, lit) {
			return true
		}
		if owner, ok := strings.CutPrefix(lit, sp.prefix); ok && !strings.ContainsAny(owner, sp.ends) {
			return true
		}
	}
	return false
}

// matchesAny reports whether a StringLike pattern matches every value
// (of at least as many characters as it has ?).
func matchesAny(pattern string) bool {
	return pattern != "" && strings.Trim(pattern, "*?") == ""
}

// hop checks one hop; i is its 0-based index and web reports whether hop 1
// is AssumeRoleWithWebIdentity.
func (ps *problems) hop(path string, i int, web bool, h *Hop) {
	switch {
	case h.RoleARN == "":
		ps.add(path+".role_arn", "required")
	case len(h.RoleARN) > 2048 || !roleARN.MatchString(h.RoleARN):
		ps.add(path+".role_arn", "%q is not a role ARN (want arn:<partition>:iam::<12-digit account>:role/<path/>name)", h.RoleARN)
	}
	d := time.Duration(h.Duration)
	switch {
	case d < minHopDuration:
		ps.add(path+".duration", "%s is below the 15m STS minimum", h.Duration)
	case d > maxHopDuration:
		ps.add(path+".duration", "%s exceeds the 12h STS maximum", h.Duration)
	case i >= 1 && d > maxChainedHop:
		// From hop 2 on, the hop is signed with a role session: role chaining.
		// (Hop 1 of an ambient profile is chained too when the broker's own
		// credentials are a role session; STS will say so at run time.)
		ps.add(path+".duration", "%s exceeds the 1h role-chaining limit", h.Duration)
	}
	webHop := web && i == 0
	ps.externalID(path, webHop, h)
	if webHop && len(h.SessionTags) > 0 {
		ps.add(path+".session_tags", "AssumeRoleWithWebIdentity (hop 1 of a web_identity profile) takes no session tags; they come from the token's https://aws.amazon.com/tags claim")
	}
	if webHop && len(h.TransitiveTagKeys) > 0 {
		ps.add(path+".transitive_tag_keys", "AssumeRoleWithWebIdentity (hop 1 of a web_identity profile) takes no transitive tag keys")
	}
	ps.tags(path, h)
	if len(h.PolicyARNs) > maxPolicyARNs {
		ps.add(path+".policy_arns", "%d policy ARNs exceed the STS limit of %d", len(h.PolicyARNs), maxPolicyARNs)
	}
	rolePartition, roleAccount := arnPartitionAccount(h.RoleARN)
	for k, a := range h.PolicyARNs {
		if !policyARN.MatchString(a) {
			ps.add(fmt.Sprintf("%s.policy_arns[%d]", path, k), "%q is not a managed policy ARN (want arn:<partition>:iam::<account or aws>:policy/<path/>name)", a)
			continue
		}
		// "The policies must exist in the same account as the role"
		// (AssumeRole's PolicyArns): another account's is refused by STS
		// on every request.
		partition, account := arnPartitionAccount(a)
		if roleARN.MatchString(h.RoleARN) && (partition != rolePartition || (account != "aws" && account != roleAccount)) {
			ps.add(fmt.Sprintf("%s.policy_arns[%d]", path, k), "%q is not in the role's account %s (partition %s): a managed session policy must be the role account's own or an AWS managed policy (arn:%s:iam::aws:policy/…)", a, roleAccount, rolePartition, rolePartition)
		}
	}
	// STS counts the ARNs and the inline policy against one 2048-character
	// limit ("The plaintext that you use for both inline and managed session
	// policies can't exceed 2,048 characters"): ARNs over it alone fail
	// every request, with or without a policy.
	arnsFit := true
	if err := policy.CheckARNs(h.PolicyARNs); err != nil {
		ps.add(path+".policy_arns", "%v", err)
		arnsFit = false
	}
	// The rule profile.New applies at start-up (package policy imports only
	// the standard library, not the rest of the broker): a session policy in
	// IAM's grammar (STS refuses anything else on every request:
	// MalformedPolicyDocument) whose own text, with the hop's policy ARNs,
	// fits STS's 2048 characters, in its character set, and whose template
	// actions sit inside JSON string values, whose content the renderer
	// escapes, so that no claim can add to its structure or choose a key, an
	// Effect or a Sid.
	if h.Policy != "" {
		arns := h.PolicyARNs
		if !arnsFit {
			arns = nil // reported above
		}
		if err := policy.Check(h.Policy, arns); err != nil {
			ps.add(path+".policy", "%v", err)
		}
	}
}

// externalID checks where an ExternalId is and what it looks like, without
// ever printing it.
func (ps *problems) externalID(path string, webHop bool, h *Hop) {
	key := path + ".external_id"
	if h.ExternalIDFile != "" {
		key = path + ".external_id_file"
	}
	has := h.ExternalID != "" || h.RawExternalID != "" || h.ExternalIDFile != ""
	switch {
	case webHop && has:
		ps.add(key, "AssumeRoleWithWebIdentity (hop 1 of a web_identity profile) takes no ExternalId: set it on the hop that assumes the cross-account role")
	case h.ExternalID != "" && (len(h.ExternalID) < 2 || len(h.ExternalID) > 1224 || !externalID.MatchString(h.ExternalID.Reveal())):
		ps.add(key, "the ExternalId (not shown) must be 2 to 1224 characters of letters, digits and _+=,.@:/-")
	}
}

func (ps *problems) tags(path string, h *Hop) {
	if len(h.SessionTags) > maxSessionTags {
		ps.add(path+".session_tags", "%d tags exceed the STS limit of %d", len(h.SessionTags), maxSessionTags)
	}
	for _, k := range slices.Sorted(maps.Keys(h.SessionTags)) {
		kp := path + ".session_tags." + k
		switch {
		case !tagKey.MatchString(k):
			ps.add(path+".session_tags", "invalid tag key %q: want 1 to 128 letters, digits, spaces and _.:/=+-@", k)
		case len(k) >= 4 && strings.EqualFold(k[:4], "aws:"):
			ps.add(path+".session_tags", "tag key %q: the aws: prefix is reserved", k)
		}
		ps.template(kp, h.SessionTags[k])
	}
	if len(h.TransitiveTagKeys) > maxTransitiveTag {
		ps.add(path+".transitive_tag_keys", "%d keys exceed the STS limit of %d", len(h.TransitiveTagKeys), maxTransitiveTag)
	}
	for k, key := range h.TransitiveTagKeys {
		if _, ok := h.SessionTags[key]; !ok {
			ps.add(fmt.Sprintf("%s.transitive_tag_keys[%d]", path, k), "%q is not a key of this hop's session_tags", key)
		}
	}
}

// template checks that text parses as a Go text/template, as the profile
// package will execute it over verified claims. No FuncMap: only the
// built-in functions exist.
func (ps *problems) template(path, text string) {
	if text == "" {
		return
	}
	name := path[strings.LastIndexByte(path, '.')+1:]
	if _, err := template.New(name).Option("missingkey=error").Parse(text); err != nil {
		ps.add(path, "%v", err)
	}
}

// arnPartitionAccount returns the partition and account fields of an ARN
// (arn:PARTITION:SERVICE:REGION:ACCOUNT:…), or "" for what is missing.
func arnPartitionAccount(arn string) (partition, account string) {
	f := strings.SplitN(arn, ":", 6)
	if len(f) < 6 {
		return "", ""
	}
	return f[1], f[4]
}
