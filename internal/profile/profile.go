package profile

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"text/template"
	"time"

	"github.com/stsbroker/broker/internal/auth"
	"github.com/stsbroker/broker/internal/chain"
	"github.com/stsbroker/broker/internal/profile/policy"
)

// Limits checked by New. The STS ones come from wire-facts §4.3; maxHops only
// bounds configuration (no real chain is longer than a few hops).
const (
	maxHops       = 10
	maxTags       = 50
	maxPolicyARNs = 10
	// chainedMaxDuration is AWS's cap on a role-chained AssumeRole session.
	chainedMaxDuration = time.Hour
)

// defaultSessionName is used when Config.SessionName is empty: the token's
// sub, which SanitizeSessionName turns into a readable, collision-proof name.
const defaultSessionName = "{{ .claims.sub }}"

// HopConfig is one hop of a profile's chain as configured: the values that
// come from claims are template text.
type HopConfig struct {
	RoleARN string
	// ExternalID is sent as-is on an AssumeRole hop; it is never a template,
	// so no claim can choose it. It must be empty on an
	// AssumeRoleWithWebIdentity hop.
	ExternalID chain.Secret
	// Duration is the requested session lifetime; 0 lets STS choose.
	Duration time.Duration
	// SessionTags maps a tag key (literal) to template text for its value.
	SessionTags       map[string]string
	TransitiveTagKeys []string
	PolicyARNs        []string
	// Policy is template text for an inline session policy; "" means none.
	Policy string
}

// Config configures a Profile. It is translated from the configuration file
// by cmd/broker.
type Config struct {
	Name string
	// Issuer is the configured issuer name a caller's token must come from.
	Issuer string
	Source chain.Source
	// Conditions every caller must meet; see [auth.Conditions.Match].
	Conditions auth.Conditions
	// SessionName is template text; "" means "{{ .claims.sub }}".
	SessionName string
	// SourceIdentity is template text; "" means none is set.
	SourceIdentity string
	Chain          []HopConfig
}

// Profile is a parsed, immutable profile. It is safe for concurrent use.
type Profile struct {
	name       string
	issuer     string
	source     chain.Source
	conditions auth.Conditions

	sessionName    *template.Template
	sourceIdentity *template.Template // nil when not configured
	// sourceIdentityHop is the index of the hop that carries the source
	// identity: the first AssumeRole hop. STS keeps it for the rest of the
	// chain and refuses to change it, so it is sent once.
	sourceIdentityHop int
	hops              []hop

	// retired is set when a reload replaced the profile ([Set.Retire]):
	// Prepare then keeps nothing with the identity (see Prepare).
	retired atomic.Bool
}

// hop is a parsed HopConfig.
type hop struct {
	roleARN           string
	externalID        chain.Secret
	duration          time.Duration
	tags              []tagTemplate    // sorted by key
	transitiveTagKeys []string         // nil when empty
	policyARNs        []string         // nil when empty
	policy            *policy.Template // nil when not configured
	// managedLen is policy.ManagedLen(policyARNs): the characters of the
	// policy's STS limit that the ARNs take.
	managedLen int
}

type tagTemplate struct {
	key  string
	tmpl *template.Template
}

// New checks cfg and parses every template once. It reports every problem it
// finds, joined, each naming the profile and the field.
//
// Beyond template syntax it refuses what STS would refuse on every request:
// an ExternalId, session tags or transitive tag keys on an
// AssumeRoleWithWebIdentity hop (that API has none of these parameters), a
// source identity on a chain that has no AssumeRole hop, more than 50 tags or
// 10 policy ARNs, policy ARNs longer together than [policy.MaxLen], an
// invalid or case-insensitively repeated tag key, and a duration above 1h on
// a chained hop. A policy must pass [policy.Parse]: its template actions may
// appear only inside JSON string values, and it must be a session policy STS
// accepts (IAM's grammar, STS's length and character set) before any claim
// is printed, with its hop's policy ARNs counted in the length
// ([policy.Template.CheckManaged]).
func New(cfg Config) (*Profile, error) {
	var errs []error
	fail := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("profile: %s: %s: %s", cfg.Name, field, fmt.Sprintf(format, args...)))
	}
	parse := func(field, text string) *template.Template {
		t, err := template.New(field).Option("missingkey=error").Funcs(templateFuncs).Parse(text)
		if err != nil {
			errs = append(errs, fmt.Errorf("profile: %s: %s: %w", cfg.Name, field, err))
			return nil
		}
		return t
	}

	if cfg.Name == "" {
		fail("name", "empty")
	}
	if cfg.Issuer == "" {
		fail("issuer", "empty")
	}
	if cfg.Source != chain.WebIdentity && cfg.Source != chain.Ambient {
		fail("source", "unknown source %d", int(cfg.Source))
	}
	switch n := len(cfg.Chain); {
	case n == 0:
		fail("chain", "no hops")
	case n > maxHops:
		fail("chain", "%d hops, at most %d", n, maxHops)
	}

	p := &Profile{
		name:       cfg.Name,
		issuer:     cfg.Issuer,
		source:     cfg.Source,
		conditions: cloneConditions(cfg.Conditions),
	}
	sessionName := cfg.SessionName
	if sessionName == "" {
		sessionName = defaultSessionName
	}
	p.sessionName = parse("session_name", sessionName)
	if cfg.Source == chain.WebIdentity {
		p.sourceIdentityHop = 1
	}
	if cfg.SourceIdentity != "" {
		p.sourceIdentity = parse("source_identity", cfg.SourceIdentity)
		if p.sourceIdentityHop >= len(cfg.Chain) {
			fail("source_identity", "needs an AssumeRole hop (AssumeRoleWithWebIdentity takes it only from the token)")
		}
	}

	for i, hc := range cfg.Chain {
		field := fmt.Sprintf("chain[%d]", i)
		webIdentity := i == 0 && cfg.Source == chain.WebIdentity
		h := hop{
			roleARN:    hc.RoleARN,
			externalID: hc.ExternalID,
			duration:   hc.Duration,
		}
		if hc.RoleARN == "" {
			fail(field+".role_arn", "empty")
		}
		if hc.Duration < 0 {
			fail(field+".duration", "negative")
		}
		if i > 0 && hc.Duration > chainedMaxDuration {
			fail(field+".duration", "%s exceeds the 1h role-chaining limit", hc.Duration)
		}
		if webIdentity && hc.ExternalID != "" {
			fail(field+".external_id", "not accepted by AssumeRoleWithWebIdentity")
		}
		if webIdentity && (len(hc.SessionTags) > 0 || len(hc.TransitiveTagKeys) > 0) {
			fail(field+".session_tags", "not accepted by AssumeRoleWithWebIdentity (tags come from the token)")
		}
		if len(hc.SessionTags) > maxTags {
			fail(field+".session_tags", "%d tags, at most %d", len(hc.SessionTags), maxTags)
		}
		if len(hc.TransitiveTagKeys) > maxTags {
			fail(field+".transitive_tag_keys", "%d keys, at most %d", len(hc.TransitiveTagKeys), maxTags)
		}
		if len(hc.PolicyARNs) > maxPolicyARNs {
			fail(field+".policy_arns", "%d ARNs, at most %d", len(hc.PolicyARNs), maxPolicyARNs)
		}
		seen := make(map[string]string, len(hc.SessionTags))
		for _, k := range slices.Sorted(maps.Keys(hc.SessionTags)) {
			tagField := field + ".session_tags." + k
			if !validTagKey(k) {
				fail(tagField, "invalid tag key")
				continue
			}
			// STS compares tag keys case-insensitively.
			if prev, ok := seen[strings.ToLower(k)]; ok {
				fail(tagField, "repeats key %q (tag keys are case-insensitive)", prev)
				continue
			}
			seen[strings.ToLower(k)] = k
			h.tags = append(h.tags, tagTemplate{key: k, tmpl: parse(tagField, hc.SessionTags[k])})
		}
		if len(hc.TransitiveTagKeys) > 0 {
			h.transitiveTagKeys = slices.Clone(hc.TransitiveTagKeys)
		}
		if len(hc.PolicyARNs) > 0 {
			h.policyARNs = slices.Clone(hc.PolicyARNs)
			h.managedLen = policy.ManagedLen(hc.PolicyARNs)
		}
		// STS counts the ARNs and the inline policy against one limit.
		arnsFit := true
		if err := policy.CheckARNs(hc.PolicyARNs); err != nil {
			fail(field+".policy_arns", "%v", err)
			arnsFit = false
		}
		if hc.Policy != "" {
			pt, err := policy.Parse(field+".policy", hc.Policy, templateFuncs)
			if err == nil && arnsFit {
				err = pt.CheckManaged(hc.PolicyARNs)
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("profile: %s: %s.policy: %w", cfg.Name, field, err))
			}
			h.policy = pt
		}
		p.hops = append(p.hops, h)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return p, nil
}

// Name returns the profile's name.
func (p *Profile) Name() string { return p.name }

// Format implements fmt.Formatter for every verb: the name, issuer and hop
// count. fmt would otherwise print the unexported hops, ExternalIds in
// clear (it does not call the String method of unexported fields).
func (p *Profile) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "profile.Profile{name: %q, issuer: %q, hops: %d}", p.name, p.issuer, len(p.hops))
}

// cloneConditions copies c down to its value lists: a Profile is immutable,
// and Prepare keeps its decisions per token, so the caller's configuration
// must not be able to change them afterwards.
func cloneConditions(c auth.Conditions) auth.Conditions {
	clone := func(m map[string][]string) map[string][]string {
		if m == nil {
			return nil
		}
		out := make(map[string][]string, len(m))
		for k, v := range m {
			out[k] = slices.Clone(v)
		}
		return out
	}
	return auth.Conditions{StringEquals: clone(c.StringEquals), StringLike: clone(c.StringLike)}
}

// Issuer returns the name of the issuer whose tokens may use the profile.
func (p *Profile) Issuer() string { return p.issuer }

// Authorize reports whether a verified identity may use the profile: its
// issuer must be the profile's (else a *auth.ConditionError with Operator
// "issuer" and Claim "iss"), and its claims must meet the profile's
// conditions (the *auth.ConditionError of [auth.Conditions.Match]). Neither
// error carries a claim value or a value it had to match. An identity whose
// Payload does not decode ([auth.Identity.Claims]; never one from the
// verifier) gives another error, which is not a refusal.
func (p *Profile) Authorize(id *auth.Identity) error {
	if id == nil || id.Issuer != p.issuer {
		return &auth.ConditionError{Operator: "issuer", Claim: "iss"}
	}
	claims, err := id.Claims()
	if err != nil {
		return fmt.Errorf("profile: authorize: %w", err)
	}
	return p.authorize(id, claims)
}

// authorize is Authorize with the identity's claims decoded.
func (p *Profile) authorize(id *auth.Identity, claims map[string]any) error {
	if id.Issuer != p.issuer {
		return &auth.ConditionError{Operator: "issuer", Claim: "iss"}
	}
	return p.conditions.Match(claims)
}
