package ststest

import "strings"

// Actions the trust policy must allow.
const (
	actionAssumeRole        = "sts:AssumeRole"
	actionAssumeRoleWebID   = "sts:AssumeRoleWithWebIdentity"
	actionTagSession        = "sts:TagSession"
	actionSetSourceIdentity = "sts:SetSourceIdentity"
)

// requester is who asks to assume the role: a signed caller (AssumeRole) or an OIDC
// provider (AssumeRoleWithWebIdentity).
type requester struct {
	caller      *caller
	providerARN string
}

func (st *statement) matchesPrincipal(r requester) bool {
	if st.anyPrincipal {
		return true
	}
	if r.providerARN != "" {
		for _, f := range st.federated {
			if f == r.providerARN {
				return true
			}
		}
		return false
	}
	c := r.caller
	if c == nil {
		return false
	}
	for _, a := range st.aws {
		switch {
		case a == "*":
			return true
		case strings.HasSuffix(a, ":root"):
			if m := rootARNRE.FindStringSubmatch(a); m != nil && m[1] == c.account {
				return true
			}
		case a == c.principalARN || a == c.arn:
			return true
		}
	}
	return false
}

func (st *statement) matchesAction(action string) bool {
	action = strings.ToLower(action)
	for _, a := range st.actions {
		if globMatch(a, action) {
			return true
		}
	}
	return false
}

func (st *statement) conditionsHold(ctx map[string][]string) bool {
	for _, c := range st.conditions {
		if !c.holds(ctx) {
			return false
		}
	}
	return true
}

// allows evaluates one action: deny by default, an explicit Deny wins over any Allow.
func (p *policy) allows(r requester, action string, ctx map[string][]string) bool {
	allowed := false
	for i := range p.statements {
		st := &p.statements[i]
		if !st.matchesPrincipal(r) || !st.matchesAction(action) || !st.conditionsHold(ctx) {
			continue
		}
		if st.deny {
			return false
		}
		allowed = true
	}
	return allowed
}

// allowsAll reports whether every action is allowed.
func (p *policy) allowsAll(r requester, actions []string, ctx map[string][]string) bool {
	for _, a := range actions {
		if !p.allows(r, a, ctx) {
			return false
		}
	}
	return true
}

// requiredActions returns the main action plus sts:TagSession when session tags are set
// (passed or inherited transitively) and sts:SetSourceIdentity when a source identity is.
func requiredActions(main string, tagged, sourceIdentity bool) []string {
	actions := []string{main}
	if tagged {
		actions = append(actions, actionTagSession)
	}
	if sourceIdentity {
		actions = append(actions, actionSetSourceIdentity)
	}
	return actions
}

// conditionContext collects request condition keys (lower-cased).
type conditionContext map[string][]string

func (c conditionContext) set(key string, vals ...string) {
	if len(vals) == 0 {
		return
	}
	c[strings.ToLower(key)] = vals
}

// addTags sets aws:RequestTag/<k>, aws:TagKeys and sts:TransitiveTagKeys.
func (c conditionContext) addTags(tags []tag, transitive []string) {
	var keys []string
	for _, t := range tags {
		c.set("aws:RequestTag/"+t.key, t.value)
		keys = append(keys, t.key)
	}
	c.set("aws:TagKeys", keys...)
	c.set("sts:TransitiveTagKeys", transitive...)
}
