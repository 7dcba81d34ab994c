package profile

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"text/template"

	"github.com/stsbroker/broker/internal/auth"
	"github.com/stsbroker/broker/internal/chain"
	"github.com/stsbroker/broker/internal/profile/policy"
)

// Render turns a verified identity into the chain of STS calls for it. It is
// pure: no I/O, no clock. Call [Profile.Authorize] first; Render does not
// check conditions.
//
// The session name is rendered once and used on every hop; it and the source
// identity go through [SanitizeSessionName]. The source identity is set on
// the first AssumeRole hop only (STS carries it through the rest of the chain
// and refuses to change it). Session tags are sorted by key and their values
// made to fit STS (see sanitizeTagValue). In a policy, every action's output
// is escaped as JSON string content, and a rendered policy whose JSON
// structure is not the template's, or that does not fit STS's limits (2048
// characters of tab, newline, carriage return and U+0020 to U+00FF, the
// hop's policy ARNs counted in), is an error (see package policy): it is not cut or changed to fit, since what
// was cut would change what the policy allows.
// ExternalIDs are copied from the configuration, never rendered. Empty lists
// are nil, so the SDK omits them rather than sending an empty list.
//
// token is the caller's JWT; the plan carries it only when the profile's
// source is [chain.WebIdentity]. Plan.Identity is the token's iss (the
// issuer's URL, never its configured name: a reload may give a name another
// URL, whose subjects are other callers) and sub joined by a NUL byte, which
// a URL cannot hold, so two callers never share a cache entry.
//
// A template that fails, for example on a claim the token does not carry,
// gives a *RenderError naming the field.
func (p *Profile) Render(id *auth.Identity, token chain.Secret) (chain.Plan, error) {
	if id == nil {
		return chain.Plan{}, errors.New("profile: render: no identity")
	}
	claims, err := id.Claims()
	if err != nil {
		return chain.Plan{}, fmt.Errorf("profile: render: %w", err)
	}
	return p.render(id, claims, token)
}

// render is Render with the identity's claims decoded.
func (p *Profile) render(id *auth.Identity, claims map[string]any, token chain.Secret) (chain.Plan, error) {
	data := map[string]any{
		"claims":  withoutNulls(claims),
		"issuer":  id.Issuer,
		"subject": id.Subject,
		"profile": p.name,
	}
	raw, err := execute(p.sessionName, data)
	if err != nil {
		return chain.Plan{}, err
	}
	sessionName := SanitizeSessionName(raw)
	var sourceIdentity string
	if p.sourceIdentity != nil {
		raw, err := execute(p.sourceIdentity, data)
		if err != nil {
			return chain.Plan{}, err
		}
		sourceIdentity = SanitizeSessionName(raw)
	}

	hops := make([]chain.Hop, 0, len(p.hops))
	for i, h := range p.hops {
		out := chain.Hop{
			RoleARN:           h.roleARN,
			SessionName:       sessionName,
			ExternalID:        h.externalID,
			Duration:          h.duration,
			TransitiveTagKeys: clone(h.transitiveTagKeys),
			PolicyARNs:        clone(h.policyARNs),
		}
		if i == p.sourceIdentityHop {
			out.SourceIdentity = sourceIdentity
		}
		for _, t := range h.tags {
			v, err := execute(t.tmpl, data)
			if err != nil {
				return chain.Plan{}, err
			}
			out.Tags = append(out.Tags, chain.Tag{Key: t.key, Value: sanitizeTagValue(v)})
		}
		if h.policy != nil {
			if out.Policy, err = execute(h.policy, data); err != nil {
				return chain.Plan{}, err
			}
			// Defence in depth: the escaping makes this hold (see package
			// policy); a policy it does not hold for never reaches STS.
			if err := h.policy.CheckOutput(out.Policy); err != nil {
				return chain.Plan{}, &RenderError{Field: h.policy.Name(), Err: err}
			}
			// STS refuses a policy with a character above U+00FF, or over
			// 2048 characters together with the hop's policy ARNs, on
			// every call; claims can make one (a long or non-Latin-1
			// workflow name). Refused here, it is the caller's 403 naming
			// the policy rather than STS's error at the hop, after the
			// hops before it have been spent.
			if err := policy.CheckLimits(out.Policy, h.managedLen); err != nil {
				return chain.Plan{}, &RenderError{Field: h.policy.Name(), Err: err}
			}
		}
		hops = append(hops, out)
	}

	plan := chain.Plan{
		Profile:  p.name,
		Source:   p.source,
		Identity: id.IssuerURL + "\x00" + id.Subject,
		Hops:     hops,
	}
	if p.source == chain.WebIdentity {
		plan.WebIdentityToken = token
		plan.TokenExpiry = id.Expiry
	}
	return plan, nil
}

// Prepare is [Profile.Authorize] and [Profile.Render] with the plan's cache
// key, done once per verified token: the result depends only on the
// identity and the profile, both immutable, so it is kept with the identity
// ([auth.Identity.Derive]) and a cache hit of a known token does not
// re-check conditions, re-render or re-hash. The token is set on every call.
// Errors are those of Authorize and Render.
//
// A retired profile ([Set.Retire]) computes on every call and keeps
// nothing: a request that started before a reload may verify its token
// after the reload's [auth.Verifier.Forget], and the identity it caches then
// must not keep the replaced profile (and its ExternalIds) in memory.
func (p *Profile) Prepare(id *auth.Identity, token chain.Secret) (chain.Keyed, error) {
	if id == nil {
		return chain.Keyed{}, errors.New("profile: prepare: no identity")
	}
	compute := func() any {
		// The claims are decoded here, once per token and profile, and
		// dropped with the request (see [auth.Identity.Payload]).
		claims, err := id.Claims()
		if err != nil {
			return prepared{err: fmt.Errorf("profile: prepare: %w", err)}
		}
		if err := p.authorize(id, claims); err != nil {
			return prepared{err: err}
		}
		plan, err := p.render(id, claims, "")
		if err != nil {
			return prepared{err: err}
		}
		return prepared{keyed: chain.NewKeyed(plan)}
	}
	var r prepared
	if p.retired.Load() {
		r = compute().(prepared)
	} else {
		r = id.Derive(prepareKey{p}, compute).(prepared)
	}
	if r.err != nil {
		return chain.Keyed{}, r.err
	}
	return r.keyed.WithToken(token), nil
}

// prepareKey is the Derive key of a profile's Prepare result.
type prepareKey struct{ p *Profile }

type prepared struct {
	keyed chain.Keyed
	err   error
}

// withoutNulls returns m without its null members, in nested objects and
// in objects inside lists too, so that a template naming a null claim fails
// as for a missing one (missingkey=error) instead of rendering "<no value>".
// It returns m itself when there is no null; m is never modified. A null
// element of a list stays (removing it would shift the others): index fails
// on it (strictIndex), but range over the list yields it, and printing it
// renders "<no value>".
func withoutNulls(m map[string]any) map[string]any {
	out, _ := cleanNulls(m)
	return out.(map[string]any)
}

// cleanNulls returns v without the null members of its objects, at any
// depth, and whether it removed any. Containers are copied only along the
// paths that change, in one pass: the work is linear in the size of v,
// however deep a hostile token nests it.
func cleanNulls(v any) (any, bool) {
	switch v := v.(type) {
	case map[string]any:
		var out map[string]any
		for k, e := range v {
			ce, changed := cleanNulls(e)
			if e != nil && !changed {
				continue
			}
			if out == nil {
				out = maps.Clone(v)
			}
			if e == nil {
				delete(out, k)
			} else {
				out[k] = ce
			}
		}
		if out == nil {
			return v, false
		}
		return out, true
	case []any:
		var out []any
		for i, e := range v {
			ce, changed := cleanNulls(e)
			if !changed {
				continue
			}
			if out == nil {
				out = slices.Clone(v)
			}
			out[i] = ce
		}
		if out == nil {
			return v, false
		}
		return out, true
	}
	return v, false
}

// templateFuncs replaces text/template's index, the one built-in that
// ignores missingkey=error: it returns the zero value for a missing key, and
// a missing or null claim would render "<no value>".
var templateFuncs = template.FuncMap{"index": strictIndex}

// strictIndex is index over decoded JSON: objects (map[string]any) by
// string key and lists ([]any) by integer, failing on a missing key, an
// index out of range or a null instead of returning nothing. Its errors
// never quote data (a key may come from a claim).
func strictIndex(item any, keys ...any) (any, error) {
	v := item
	if v == nil {
		return nil, errors.New("null value")
	}
	for _, k := range keys {
		switch c := v.(type) {
		case map[string]any:
			key, ok := k.(string)
			if !ok {
				return nil, errors.New("object index is not a string")
			}
			e, present := c[key]
			if !present {
				return nil, errors.New("missing key")
			}
			v = e
		case []any:
			i, ok := k.(int)
			if !ok {
				return nil, errors.New("list index is not an integer")
			}
			if i < 0 || i >= len(c) {
				return nil, errors.New("list index out of range")
			}
			v = c[i]
		default:
			return nil, fmt.Errorf("cannot index a %T", v)
		}
		if v == nil {
			return nil, errors.New("null value")
		}
	}
	return v, nil
}

// clone returns a copy of s, nil when s is empty.
func clone(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return append([]string(nil), s...)
}

// maxRendered bounds the output of one template execution. Claims are
// bounded by the token size, but a template can repeat them (range, printf);
// no STS parameter we render is anywhere near this long.
const maxRendered = 64 << 10

// errTooLarge is the cause of a RenderError whose output exceeded maxRendered.
var errTooLarge = fmt.Errorf("output exceeds %d bytes", maxRendered)

// executor is a *template.Template or a *policy.Template.
type executor interface {
	Name() string
	Execute(w io.Writer, data any) error
}

// execute runs t over data into a bounded buffer. The template's name is the
// field it renders.
func execute(t executor, data any) (string, error) {
	w := &boundedBuffer{max: maxRendered}
	if err := t.Execute(w, data); err != nil {
		return "", &RenderError{Field: t.Name(), Err: err}
	}
	return string(w.buf), nil
}

// boundedBuffer is a bytes.Buffer that refuses to grow past max.
type boundedBuffer struct {
	buf []byte
	max int
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	if len(b.buf)+len(p) > b.max {
		return 0, errTooLarge
	}
	b.buf = append(b.buf, p...)
	return len(p), nil
}
