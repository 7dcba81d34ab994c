package ststest

import (
	"net/url"
	"slices"
	"strings"
	"time"
)

// assumeRole answers AssumeRole for the authenticated caller c.
func (s *Server) assumeRole(c *caller, p url.Values, rec *Request) (any, error) {
	in, aerr := parseAssume(p, false)
	if aerr != nil {
		return nil, aerr
	}
	recordParams(rec, in)
	if in.hasExternalID {
		rec.ExternalIDSHA256 = sha256Hex(in.externalID)
	}
	denied := errAccessDenied("User: %s is not authorized to perform: sts:AssumeRole on resource: %s", c.arn, in.roleARN)
	if _, ok := parseRoleARN(in.roleARN); !ok {
		return nil, errValidation("%s is not a valid role ARN", in.roleARN)
	}
	r := s.lookupRole(in.roleARN)
	if r == nil {
		return nil, denied
	}

	var inherited []tag
	sourceIdentity := in.sourceIdentity
	if c.session != nil {
		inherited = c.session.transitive
		if si := c.session.sourceIdentity; si != "" {
			if sourceIdentity != "" && sourceIdentity != si {
				return nil, errValidation("Source identity cannot be changed once set: the calling session's source identity is kept in role chaining.")
			}
			sourceIdentity = si
		}
	}
	rec.SourceIdentity = sourceIdentity
	if err := checkTagKeys(in.tags, in.transitive, inherited); err != nil {
		return nil, err
	}

	ctx := conditionContext{}
	ctx.set("sts:RoleSessionName", in.sessionName)
	if in.hasExternalID {
		ctx.set("sts:ExternalId", in.externalID)
	}
	if in.sourceIdentity != "" {
		ctx.set("sts:SourceIdentity", in.sourceIdentity)
	}
	if c.session != nil && c.session.sourceIdentity != "" {
		ctx.set("aws:SourceIdentity", c.session.sourceIdentity)
	}
	ctx.set("aws:PrincipalArn", c.principalARN)
	ctx.set("aws:PrincipalAccount", c.account)
	ctx.set("aws:userid", c.userID)
	ctx.addTags(append(slices.Clone(inherited), in.tags...), in.transitive)

	actions := requiredActions(actionAssumeRole, len(in.tags) > 0 || len(inherited) > 0, sourceIdentity != "")
	if !r.policy.allowsAll(requester{caller: c}, actions, ctx) {
		return nil, denied
	}

	d := in.durationOrDefault()
	if (c.session != nil || c.roleKey) && d > 3600 {
		return nil, errValidation(msgChainingLimit)
	}
	if time.Duration(d)*time.Second > r.maxDuration {
		return nil, errValidation(msgMaxSessionDuration)
	}

	transitive := slices.Clone(inherited)
	for _, t := range in.tags {
		if slices.ContainsFunc(in.transitive, func(k string) bool { return strings.EqualFold(k, t.key) }) {
			transitive = append(transitive, t)
		}
	}
	se := s.issue(r, in.sessionName, time.Duration(d)*time.Second, sourceIdentity, transitive)
	resp := &assumeRoleResponse{}
	resp.Result.AssumedRoleUser = assumedRoleUserXML{Arn: se.arn(), AssumedRoleID: se.userID()}
	resp.Result.Credentials = sessionCredentials(se)
	resp.Result.SourceIdentity = sourceIdentity
	return resp, nil
}

// recordParams copies the non-secret parameters into the record.
func recordParams(rec *Request, in *assumeParams) {
	rec.RoleARN = in.roleARN
	rec.RoleSessionName = in.sessionName
	rec.DurationSeconds = in.duration
	rec.Policy = in.policy
	rec.PolicyARNs = slices.Clone(in.policyARNs)
	rec.TransitiveTagKeys = slices.Clone(in.transitive)
	if len(in.tags) > 0 {
		rec.Tags = make(map[string]string, len(in.tags))
		for _, t := range in.tags {
			rec.Tags[t.key] = t.value
		}
	}
}

func (s *Server) getCallerIdentity(c *caller) any {
	resp := &getCallerIdentityResponse{}
	resp.Result.Arn = c.arn
	resp.Result.UserID = c.userID
	resp.Result.Account = c.account
	return resp
}
