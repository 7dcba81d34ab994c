package ststest

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

const (
	maxTags       = 50
	maxPolicyARNs = 10
	maxPolicyLen  = 2048
	defaultDur    = 3600
	maxListScan   = 1000
)

var (
	sessionNameRE = regexp.MustCompile(`^[\w+=,.@-]*$`)
	externalIDRE  = regexp.MustCompile(`^[\w+=,.@:/-]*$`)
	tagRE         = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)
	policyCharsRE = regexp.MustCompile(`^[\x{0009}\x{000A}\x{000D}\x{0020}-\x{00FF}]*$`)
)

type tag struct{ key, value string }

// assumeParams are the parameters of AssumeRole and AssumeRoleWithWebIdentity.
type assumeParams struct {
	roleARN, sessionName string
	duration             int // 0 = absent
	policy               string
	policyARNs           []string
	tags                 []tag
	transitive           []string
	externalID           string
	hasExternalID        bool
	sourceIdentity       string
	token                string
}

// durationOrDefault returns the requested duration or STS's default of one hour.
func (p *assumeParams) durationOrDefault() int {
	if p.duration == 0 {
		return defaultDur
	}
	return p.duration
}

// problems collects AWS-style validation messages.
type problems []string

func (ps *problems) add(format string, args ...any) { *ps = append(*ps, fmt.Sprintf(format, args...)) }

// length checks a string parameter; show=false keeps the value out of the message.
func (ps *problems) length(v, field string, lo, hi int, show bool) {
	n := utf8.RuneCountInString(v)
	what := "Value '" + v + "' at '" + field + "'"
	if !show {
		what = "Value at '" + field + "'"
	}
	if n < lo {
		ps.add("%s failed to satisfy constraint: Member must have length greater than or equal to %d", what, lo)
	} else if n > hi {
		ps.add("%s failed to satisfy constraint: Member must have length less than or equal to %d", what, hi)
	}
}

func (ps *problems) pattern(v, field string, re *regexp.Regexp, show bool) {
	if re.MatchString(v) {
		return
	}
	what := "Value '" + v + "' at '" + field + "'"
	if !show {
		what = "Value at '" + field + "'"
	}
	ps.add("%s failed to satisfy constraint: Member must satisfy regular expression pattern: %s", what, strings.Trim(re.String(), "^$"))
}

func (ps *problems) required(p url.Values, name, field string) (string, bool) {
	if !p.Has(name) {
		ps.add("Value null at '%s' failed to satisfy constraint: Member must not be null", field)
		return "", false
	}
	return p.Get(name), true
}

// parseAssume reads and validates the parameters; webIdentity selects the
// AssumeRoleWithWebIdentity parameter set.
func parseAssume(p url.Values, webIdentity bool) (*assumeParams, *apiError) {
	var ps problems
	in := &assumeParams{}
	if v, ok := ps.required(p, "RoleArn", "roleArn"); ok {
		in.roleARN = v
		ps.length(v, "roleArn", 20, 2048, true)
	}
	if v, ok := ps.required(p, "RoleSessionName", "roleSessionName"); ok {
		in.sessionName = v
		ps.length(v, "roleSessionName", 2, 64, true)
		ps.pattern(v, "roleSessionName", sessionNameRE, true)
	}
	if p.Has("DurationSeconds") {
		v := p.Get("DurationSeconds")
		d, err := strconv.Atoi(v)
		switch {
		case err != nil:
			ps.add("Value '%s' at 'durationSeconds' failed to satisfy constraint: Member must be an integer", v)
		case d < 900:
			ps.add("Value '%d' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900", d)
		case d > 43200:
			ps.add("Value '%d' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 43200", d)
		default:
			in.duration = d
		}
	}
	if p.Has("Policy") {
		in.policy = p.Get("Policy")
		ps.length(in.policy, "policy", 1, maxPolicyLen, false)
		ps.pattern(in.policy, "policy", policyCharsRE, false)
	}
	in.policyARNs = parseList(p, "PolicyArns.member.", ".arn", &ps, "policyArns", maxPolicyARNs)
	for i, a := range in.policyARNs {
		ps.length(a, fmt.Sprintf("policyArns.%d.member.arn", i+1), 20, 2048, true)
	}
	if webIdentity {
		if v, ok := ps.required(p, "WebIdentityToken", "webIdentityToken"); ok {
			in.token = v
			ps.length(v, "webIdentityToken", 4, 20000, false)
		}
	} else {
		in.tags = parseTags(p, &ps)
		in.transitive = parseList(p, "TransitiveTagKeys.member.", "", &ps, "transitiveTagKeys", maxTags)
		if p.Has("ExternalId") {
			in.externalID, in.hasExternalID = p.Get("ExternalId"), true
			ps.length(in.externalID, "externalId", 2, 1224, false)
			ps.pattern(in.externalID, "externalId", externalIDRE, false)
		}
		if p.Has("SourceIdentity") {
			in.sourceIdentity = p.Get("SourceIdentity")
			ps.sourceIdentity(in.sourceIdentity)
		}
	}
	if len(ps) > 0 {
		return nil, validationErrors(ps)
	}
	if err := checkSessionPolicyLength(in.policy, in.policyARNs); err != nil {
		return nil, err
	}
	if in.policy != "" {
		if err := checkSessionPolicy(in.policy); err != nil {
			return nil, err
		}
	}
	return in, nil
}

// msgPolicyPlaintext is the emulator's message for session policies whose
// plaintext, inline and managed together, is over maxPolicyLen. The limit
// is STS's; the code and words are not: STS documents the limit but not
// the error it answers. The packed-size error (PackedPolicyTooLarge) is for
// another limit, which STS removed in 2026-09 (wire-facts §4.4), so the
// emulator answers ValidationError, which is what a broker must not cause
// either way.
const msgPolicyPlaintext = "The plaintext of the inline and managed session policies (Policy and PolicyArns together) is %d characters, over the 2048 allowed."

// checkSessionPolicyLength refuses policy and arns, the Policy and
// PolicyArns parameters, when together they are longer than maxPolicyLen:
// "The plaintext that you use for both inline and managed session policies
// can't exceed 2,048 characters" (wire-facts §4.2, §4.3). The managed
// policies count by their ARNs, the plaintext sent. Each parameter's own
// bounds are checked before this.
func checkSessionPolicyLength(policy string, arns []string) *apiError {
	n := utf8.RuneCountInString(policy)
	for _, a := range arns {
		n += utf8.RuneCountInString(a)
	}
	if n > maxPolicyLen {
		return errValidation(msgPolicyPlaintext, n)
	}
	return nil
}

func (ps *problems) sourceIdentity(v string) {
	ps.length(v, "sourceIdentity", 2, 64, true)
	ps.pattern(v, "sourceIdentity", sessionNameRE, true)
	if strings.HasPrefix(strings.ToLower(v), "aws:") {
		ps.add("Value '%s' at 'sourceIdentity' failed to satisfy constraint: Member must not start with 'aws:'", v)
	}
}

// parseList reads a 1-based member list prefix+N+suffix. Gaps and entries past limit are
// validation errors.
func parseList(p url.Values, prefix, suffix string, ps *problems, field string, limit int) []string {
	var out []string
	for i := 1; i <= maxListScan; i++ {
		k := prefix + strconv.Itoa(i) + suffix
		if !p.Has(k) {
			break
		}
		out = append(out, p.Get(k))
	}
	if n := countPrefix(p, prefix); n != len(out) {
		ps.add("Value at '%s' failed to satisfy constraint: Member list is malformed", field)
		return nil
	}
	if len(out) > limit {
		ps.add("Value at '%s' failed to satisfy constraint: Member must have length less than or equal to %d", field, limit)
	}
	return out
}

func parseTags(p url.Values, ps *problems) []tag {
	var out []tag
	for i := 1; i <= maxListScan; i++ {
		kk := "Tags.member." + strconv.Itoa(i) + ".Key"
		vk := "Tags.member." + strconv.Itoa(i) + ".Value"
		if !p.Has(kk) && !p.Has(vk) {
			break
		}
		t := tag{key: p.Get(kk), value: p.Get(vk)}
		if !p.Has(kk) {
			ps.add("Value null at 'tags.%d.member.key' failed to satisfy constraint: Member must not be null", i)
		}
		if !p.Has(vk) {
			ps.add("Value null at 'tags.%d.member.value' failed to satisfy constraint: Member must not be null", i)
		}
		ps.tag(t, i)
		out = append(out, t)
	}
	n := countPrefix(p, "Tags.member.")
	if n != 2*len(out) {
		ps.add("Value at 'tags' failed to satisfy constraint: Member list is malformed")
		return nil
	}
	if len(out) > maxTags {
		ps.add("Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to %d", maxTags)
	}
	return out
}

func (ps *problems) tag(t tag, i int) {
	ps.length(t.key, fmt.Sprintf("tags.%d.member.key", i), 1, 128, true)
	ps.pattern(t.key, fmt.Sprintf("tags.%d.member.key", i), tagRE, true)
	ps.length(t.value, fmt.Sprintf("tags.%d.member.value", i), 0, 256, true)
	ps.pattern(t.value, fmt.Sprintf("tags.%d.member.value", i), tagRE, true)
}

func countPrefix(p url.Values, prefix string) int {
	n := 0
	for k := range p {
		if strings.HasPrefix(k, prefix) {
			n++
		}
	}
	return n
}

// checkTagKeys rejects duplicate keys (case-insensitive), transitive keys that are not
// tags, and tags that would override inherited transitive tags.
func checkTagKeys(tags []tag, transitive []string, inherited []tag) *apiError {
	seen := map[string]bool{}
	for _, t := range tags {
		k := strings.ToLower(t.key)
		if seen[k] {
			return errValidation("Duplicate tag keys found. Please note that Tag keys are case insensitive.")
		}
		seen[k] = true
	}
	for _, k := range transitive {
		if !seen[strings.ToLower(k)] {
			return errValidation("The specified transitive tag key must be included in the requested tags.")
		}
	}
	for _, t := range inherited {
		if seen[strings.ToLower(t.key)] {
			return errValidation("One of the specified transitive tag keys can't be set because it conflicts with a transitive tag key from the calling session.")
		}
	}
	return nil
}
