package ststest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// signingAlgs are the algorithms STS accepts for web identity tokens.
var signingAlgs = []string{oidc.RS256, oidc.RS384, oidc.RS512, oidc.ES256, oidc.ES384, oidc.ES512}

// tagsClaim carries session tags in a web identity token (the source identity is in
// https://aws.amazon.com/source_identity).
const tagsClaim = "https://aws.amazon.com/tags"

// assumeRoleWithWebIdentity answers the unsigned AssumeRoleWithWebIdentity.
func (s *Server) assumeRoleWithWebIdentity(ctx context.Context, p url.Values, rec *Request) (any, error) {
	in, aerr := parseAssume(p, true)
	if in != nil {
		recordParams(rec, in)
	}
	if p.Has("WebIdentityToken") {
		rec.TokenSHA256 = sha256Hex(p.Get("WebIdentityToken"))
	}
	if aerr != nil {
		return nil, aerr
	}
	ref, ok := parseRoleARN(in.roleARN)
	if !ok {
		return nil, errValidation("%s is not a valid role ARN", in.roleARN)
	}
	iss, err := unverifiedIssuer(in.token)
	if err != nil {
		return nil, errInvalidIdentityToken(msgNotJWT)
	}
	prov := s.lookupProvider(ref.account, iss)
	if prov == nil {
		return nil, errInvalidIdentityToken("No OpenIDConnect provider found in your account for %s", iss)
	}
	claims, verr := s.verifyToken(ctx, prov, in.token)
	if verr != nil {
		return nil, verr
	}
	rec.TokenSubject = claims.Subject
	aud := matchedAudience(claims.Audience, prov.clientIDs)
	if aud == "" {
		return nil, errInvalidIdentityToken("Incorrect token audience")
	}

	denied := errAccessDenied("Not authorized to perform sts:AssumeRoleWithWebIdentity")
	r := s.lookupRole(in.roleARN)
	if r == nil {
		return nil, denied
	}
	sessionTags, terr := claims.sessionTags()
	if terr != nil {
		return nil, terr
	}
	rec.SourceIdentity = claims.SourceIdentity
	if len(sessionTags.tags) > 0 {
		rec.Tags = map[string]string{}
		for _, t := range sessionTags.tags {
			rec.Tags[t.key] = t.value
		}
		rec.TransitiveTagKeys = slices.Clone(sessionTags.transitive)
	}

	cctx := conditionContext{}
	cctx.set(prov.prefix+":aud", aud)
	if claims.Subject != "" {
		cctx.set(prov.prefix+":sub", claims.Subject)
	}
	cctx.set(prov.prefix+":amr", claims.AMR...)
	cctx.set("sts:RoleSessionName", in.sessionName)
	cctx.set("aws:FederatedProvider", prov.arn)
	if claims.SourceIdentity != "" {
		cctx.set("sts:SourceIdentity", claims.SourceIdentity)
	}
	cctx.addTags(sessionTags.tags, sessionTags.transitive)
	actions := requiredActions(actionAssumeRoleWebID, len(sessionTags.tags) > 0, claims.SourceIdentity != "")
	if !r.policy.allowsAll(requester{providerARN: prov.arn}, actions, cctx) {
		return nil, denied
	}
	d := in.durationOrDefault()
	if time.Duration(d)*time.Second > r.maxDuration {
		return nil, errValidation(msgMaxSessionDuration)
	}

	var transitive []tag
	for _, t := range sessionTags.tags {
		if slices.ContainsFunc(sessionTags.transitive, func(k string) bool { return strings.EqualFold(k, t.key) }) {
			transitive = append(transitive, t)
		}
	}
	se := s.issue(r, in.sessionName, time.Duration(d)*time.Second, claims.SourceIdentity, transitive)
	resp := &assumeRoleWithWebIdentityResponse{}
	resp.Result.SubjectFromWebIdentityToken = claims.Subject
	resp.Result.Audience = aud
	resp.Result.AssumedRoleUser = assumedRoleUserXML{Arn: se.arn(), AssumedRoleID: se.userID()}
	resp.Result.Credentials = sessionCredentials(se)
	resp.Result.Provider = prov.arn
	resp.Result.SourceIdentity = claims.SourceIdentity
	return resp, nil
}

// unverifiedIssuer reads iss from a compact JWS without verifying it: only to pick the
// provider, as STS does.
func unverifiedIssuer(token string) (string, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", errors.New("not a compact JWS")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", err
	}
	var c struct {
		Iss string `json:"iss"`
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return "", err
	}
	if c.Iss == "" {
		return "", errors.New("no iss")
	}
	return c.Iss, nil
}

// tokenClaims are the verified claims STS uses.
type tokenClaims struct {
	Subject        string
	Audience       []string
	AMR            []string
	SourceIdentity string
	Tags           json.RawMessage
}

// verifyToken checks signature, issuer and expiry against the provider's keys.
func (s *Server) verifyToken(ctx context.Context, prov *provider, token string) (*tokenClaims, *apiError) {
	v, err := s.verifier(ctx, prov)
	if err != nil {
		return nil, newError(http.StatusBadRequest, "IDPCommunicationError", msgNoVerificationKey)
	}
	idt, err := v.Verify(ctx, token)
	if err != nil {
		var expired *oidc.TokenExpiredError
		switch {
		case errors.As(err, &expired):
			return nil, errExpiredTokenException(s.now(), expired.Expiry)
		// go-oidc formats (does not wrap) the key-fetch error: "failed to verify
		// signature: fetching keys …". A fetch failure means the IdP is unreachable.
		case strings.Contains(err.Error(), "fetching keys"):
			return nil, newError(http.StatusBadRequest, "IDPCommunicationError", msgNoVerificationKey)
		case strings.Contains(err.Error(), "failed to verify signature"):
			return nil, errInvalidIdentityToken(msgNoVerificationKey)
		default:
			return nil, errInvalidIdentityToken(msgNotJWT)
		}
	}
	var raw struct {
		Sub            string          `json:"sub"`
		AMR            json.RawMessage `json:"amr"`
		SourceIdentity string          `json:"https://aws.amazon.com/source_identity"`
		Tags           json.RawMessage `json:"https://aws.amazon.com/tags"`
		Exp            json.Number     `json:"exp"`
		Iat            json.Number     `json:"iat"`
	}
	if err := idt.Claims(&raw); err != nil {
		return nil, errInvalidIdentityToken(msgNotJWT)
	}
	// STS: "Timestamps in the token must be formatted as either an integer or a long integer."
	for _, n := range []json.Number{raw.Exp, raw.Iat} {
		if _, err := n.Int64(); n != "" && err != nil {
			return nil, errInvalidIdentityToken("Timestamps in the token must be formatted as either an integer or a long integer")
		}
	}
	c := &tokenClaims{Subject: idt.Subject, Audience: idt.Audience, SourceIdentity: raw.SourceIdentity, Tags: raw.Tags}
	if len(raw.AMR) > 0 {
		amr, err := stringOrList(raw.AMR)
		if err != nil {
			return nil, errInvalidIdentityToken("The amr claim must be a string or a list of strings")
		}
		c.AMR = amr
	}
	return c, nil
}

func errExpiredTokenException(now, exp time.Time) *apiError {
	return newError(http.StatusBadRequest, "ExpiredTokenException",
		"Token expired: current date/time %d must be before the expiration date/time %d", now.Unix(), exp.Unix())
}

// verifier returns the provider's cached verifier, running discovery on first use. A
// failed discovery is not cached, so a later call retries.
func (s *Server) verifier(ctx context.Context, prov *provider) (*oidc.IDTokenVerifier, error) {
	prov.mu.Lock()
	defer prov.mu.Unlock()
	if prov.verifier != nil {
		return prov.verifier, nil
	}
	op, err := oidc.NewProvider(oidc.ClientContext(ctx, s.httpClient), prov.issuer)
	if err != nil {
		return nil, err
	}
	prov.verifier = op.Verifier(&oidc.Config{
		SkipClientIDCheck:    true, // the audience is checked against the provider's client id list
		SupportedSigningAlgs: signingAlgs,
		Now:                  s.now,
	})
	return prov.verifier, nil
}

func matchedAudience(aud, clientIDs []string) string {
	for _, a := range aud {
		if slices.Contains(clientIDs, a) {
			return a
		}
	}
	return ""
}

type tokenSessionTags struct {
	tags       []tag
	transitive []string
}

// sessionTags reads the https://aws.amazon.com/tags claim.
func (c *tokenClaims) sessionTags() (tokenSessionTags, *apiError) {
	var out tokenSessionTags
	if c.SourceIdentity != "" {
		var ps problems
		ps.sourceIdentity(c.SourceIdentity)
		if len(ps) > 0 {
			return out, validationErrors(ps)
		}
	}
	if len(c.Tags) == 0 {
		return out, nil
	}
	var raw struct {
		PrincipalTags     map[string][]string `json:"principal_tags"`
		TransitiveTagKeys []string            `json:"transitive_tag_keys"`
	}
	if err := json.Unmarshal(c.Tags, &raw); err != nil {
		return out, errInvalidIdentityToken("The %s claim is malformed", tagsClaim)
	}
	var ps problems
	for i, k := range sortedKeys(raw.PrincipalTags) {
		vals := raw.PrincipalTags[k]
		if len(vals) != 1 {
			return out, errInvalidIdentityToken("Each session tag in the %s claim must have exactly one value", tagsClaim)
		}
		t := tag{key: k, value: vals[0]}
		ps.tag(t, i+1)
		out.tags = append(out.tags, t)
	}
	if len(out.tags) > maxTags {
		ps.add("Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to %d", maxTags)
	}
	if len(ps) > 0 {
		return out, validationErrors(ps)
	}
	out.transitive = raw.TransitiveTagKeys
	if err := checkTagKeys(out.tags, out.transitive, nil); err != nil {
		return out, err
	}
	return out, nil
}
