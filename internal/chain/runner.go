package chain

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"
)

const (
	actionWebIdentity = "AssumeRoleWithWebIdentity"
	actionAssumeRole  = "AssumeRole"
)

// RunnerConfig configures a [Runner].
type RunnerConfig struct {
	// STS makes the calls; in production the client from [NewClient].
	STS STS
	// Ambient signs hop 1 of Ambient plans (the SDK's default chain).
	Ambient aws.CredentialsProvider
	// Now is the clock; defaults to time.Now.
	Now func() time.Time
	// CallTimeout bounds each STS call, the SDK's retries included (10s). A
	// call that exceeds it fails as a [Timeout] hop error.
	CallTimeout time.Duration
	// Observe, when set, is called once per STS call, after the SDK's
	// retries, with the action, the outcome ("ok", the STS error code,
	// "other" for a code STS does not send, or "error" when no answer came)
	// and the call's duration, retries included. It is the metrics hook.
	Observe func(action, outcome string, took time.Duration)
}

// Runner performs the STS calls of a plan, hop by hop, without caching.
type Runner struct {
	sts         STS
	ambient     aws.CredentialsProvider
	now         func() time.Time
	callTimeout time.Duration
	observe     func(action, outcome string, took time.Duration)
}

// NewRunner returns a Runner for cfg.
func NewRunner(cfg RunnerConfig) *Runner {
	r := &Runner{sts: cfg.STS, ambient: cfg.Ambient, now: cfg.Now, callTimeout: cfg.CallTimeout, observe: cfg.Observe}
	if r.now == nil {
		r.now = time.Now
	}
	setDefault(&r.callTimeout, 10*time.Second)
	if r.observe == nil {
		r.observe = func(string, string, time.Duration) {}
	}
	return r
}

// Run performs every hop of p and returns the last hop's credentials.
func (r *Runner) Run(ctx context.Context, p Plan) (Credentials, error) {
	if len(p.Hops) == 0 {
		return Credentials{}, errors.New("chain: plan has no hops")
	}
	var prev *Credentials
	for i := range p.Hops {
		c, err := r.RunHop(ctx, p, i, prev)
		if err != nil {
			return Credentials{}, err
		}
		prev = &c
	}
	return *prev, nil
}

// RunHop performs hop i (0-based) of p. prev holds hop i-1's credentials and
// must be nil for hop 0, whose credentials come from the plan's source.
// STS failures are *HopError; a malformed plan is a plain error returned
// before any call.
func (r *Runner) RunHop(ctx context.Context, p Plan, i int, prev *Credentials) (Credentials, error) {
	if i < 0 || i >= len(p.Hops) {
		return Credentials{}, fmt.Errorf("chain: hop %d out of range (plan has %d)", i+1, len(p.Hops))
	}
	hop := p.Hops[i]
	switch {
	case i > 0 && (prev == nil || !prev.Valid()):
		return Credentials{}, fmt.Errorf("chain: hop %d (%s): no credentials from hop %d", i+1, hop.RoleARN, i)
	case i == 0 && p.Source == WebIdentity:
		if err := checkWebIdentityHop(p, hop); err != nil {
			return Credentials{}, err
		}
		return r.webIdentity(ctx, p, hop)
	case i == 0 && r.ambient == nil:
		return Credentials{}, &AmbientError{RoleARN: hop.RoleARN, Err: CheckAmbient(ctx, nil)}
	}
	signer := r.ambient
	if i > 0 {
		signer = credentials.NewStaticCredentialsProvider(prev.AccessKeyID, prev.SecretAccessKey.Reveal(), prev.SessionToken.Reveal())
	}
	return r.assumeRole(ctx, i, hop, signer)
}

// checkWebIdentityHop rejects fields AssumeRoleWithWebIdentity has no
// parameter for (wire-facts §4.2): silently dropping them would issue
// credentials without the tags or ExternalId the profile asked for.
func checkWebIdentityHop(p Plan, hop Hop) error {
	var bad []string
	if hop.ExternalID != "" {
		bad = append(bad, "external id")
	}
	if len(hop.Tags) > 0 || len(hop.TransitiveTagKeys) > 0 {
		bad = append(bad, "session tags")
	}
	if hop.SourceIdentity != "" {
		bad = append(bad, "source identity")
	}
	if len(bad) > 0 {
		return fmt.Errorf("chain: hop 1 (%s): %s not supported by AssumeRoleWithWebIdentity", hop.RoleARN, strings.Join(bad, ", "))
	}
	if p.WebIdentityToken == "" {
		return fmt.Errorf("chain: hop 1 (%s): no web identity token", hop.RoleARN)
	}
	return nil
}

func (r *Runner) webIdentity(ctx context.Context, p Plan, hop Hop) (Credentials, error) {
	in := &sts.AssumeRoleWithWebIdentityInput{
		RoleArn:          aws.String(hop.RoleARN),
		RoleSessionName:  aws.String(hop.SessionName),
		WebIdentityToken: aws.String(p.WebIdentityToken.Reveal()),
		DurationSeconds:  durationSeconds(hop.Duration),
		Policy:           optional(hop.Policy),
		PolicyArns:       policyARNs(hop.PolicyARNs),
	}
	ctx, cancel := context.WithTimeout(ctx, r.callTimeout)
	defer cancel()
	start := r.now()
	out, err := r.sts.AssumeRoleWithWebIdentity(ctx, in)
	if err != nil {
		return Credentials{}, r.failed(ctx, err, 0, hop, actionWebIdentity, start)
	}
	r.observe(actionWebIdentity, "ok", r.now().Sub(start))
	return fromOutput(0, hop, actionWebIdentity, out.Credentials, out.AssumedRoleUser, out.SourceIdentity)
}

func (r *Runner) assumeRole(ctx context.Context, i int, hop Hop, signer aws.CredentialsProvider) (Credentials, error) {
	in := &sts.AssumeRoleInput{
		RoleArn:           aws.String(hop.RoleARN),
		RoleSessionName:   aws.String(hop.SessionName),
		ExternalId:        optional(hop.ExternalID.Reveal()),
		DurationSeconds:   durationSeconds(hop.Duration),
		Tags:              tags(hop.Tags),
		TransitiveTagKeys: nonEmpty(hop.TransitiveTagKeys),
		SourceIdentity:    optional(hop.SourceIdentity),
		Policy:            optional(hop.Policy),
		PolicyArns:        policyARNs(hop.PolicyARNs),
	}
	ctx, cancel := context.WithTimeout(ctx, r.callTimeout)
	defer cancel()
	if i == 0 {
		// The broker's own credentials: the SDK's cache answers at once
		// once it holds them. Without them the SDK would fail inside the
		// call with an error that reads like STS being down.
		if err := CheckAmbient(ctx, signer); err != nil {
			if ctx.Err() != nil {
				return Credentials{}, classify(ctx, err, i, hop, actionAssumeRole)
			}
			return Credentials{}, &AmbientError{RoleARN: hop.RoleARN, Err: err}
		}
	}
	start := r.now()
	out, err := r.sts.AssumeRole(ctx, in, func(o *sts.Options) { o.Credentials = signer })
	if err != nil {
		return Credentials{}, r.failed(ctx, err, i, hop, actionAssumeRole, start)
	}
	r.observe(actionAssumeRole, "ok", r.now().Sub(start))
	return fromOutput(i, hop, actionAssumeRole, out.Credentials, out.AssumedRoleUser, out.SourceIdentity)
}

func (r *Runner) failed(ctx context.Context, err error, i int, hop Hop, action string, start time.Time) error {
	he := classify(ctx, err, i, hop, action)
	r.observe(action, outcomeLabel(he.Code), r.now().Sub(start))
	return he
}

// fromOutput converts an STS answer. An answer without complete credentials
// or a parseable assumed-role ARN is an error, never a zero-value success.
func fromOutput(i int, hop Hop, action string, c *types.Credentials, user *types.AssumedRoleUser, sourceIdentity *string) (Credentials, error) {
	if c == nil || user == nil {
		return Credentials{}, fmt.Errorf("chain: hop %d (%s): %s answer without credentials", i+1, hop.RoleARN, action)
	}
	out := Credentials{
		AccessKeyID:     aws.ToString(c.AccessKeyId),
		SecretAccessKey: Secret(aws.ToString(c.SecretAccessKey)),
		SessionToken:    Secret(aws.ToString(c.SessionToken)),
		Expiration:      aws.ToTime(c.Expiration),
		AssumedRoleARN:  aws.ToString(user.Arn),
		RoleARN:         hop.RoleARN,
		SourceIdentity:  aws.ToString(sourceIdentity),
	}
	account, ok := arnAccount(out.AssumedRoleARN)
	if !ok {
		return Credentials{}, fmt.Errorf("chain: hop %d (%s): %s answer with malformed assumed-role arn %q", i+1, hop.RoleARN, action, out.AssumedRoleARN)
	}
	out.AccountID = account
	if !out.Valid() {
		return Credentials{}, fmt.Errorf("chain: hop %d (%s): %s answer with incomplete credentials", i+1, hop.RoleARN, action)
	}
	return out, nil
}

// arnAccount returns the account of an ARN such as
// arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION: its fifth field, which
// must be followed by a sixth (as stscreds parses it). It reports false when
// there is no such field or it is empty.
func arnAccount(arn string) (string, bool) {
	rest := arn
	for range 4 {
		i := strings.IndexByte(rest, ':')
		if i < 0 {
			return "", false
		}
		rest = rest[i+1:]
	}
	i := strings.IndexByte(rest, ':')
	if i <= 0 {
		return "", false
	}
	return rest[:i], true
}

func durationSeconds(d time.Duration) *int32 {
	if d <= 0 {
		return nil
	}
	return aws.Int32(int32(d / time.Second))
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}

// nonEmpty returns nil for an empty slice: the SDK sends a non-nil empty
// list as "Tags=" (wire-facts §4.1).
func nonEmpty(ss []string) []string {
	if len(ss) == 0 {
		return nil
	}
	return ss
}

func tags(ts []Tag) []types.Tag {
	if len(ts) == 0 {
		return nil
	}
	out := make([]types.Tag, len(ts))
	for i, t := range ts {
		out[i] = types.Tag{Key: aws.String(t.Key), Value: aws.String(t.Value)}
	}
	return out
}

func policyARNs(arns []string) []types.PolicyDescriptorType {
	if len(arns) == 0 {
		return nil
	}
	out := make([]types.PolicyDescriptorType, len(arns))
	for i, a := range arns {
		out[i] = types.PolicyDescriptorType{Arn: aws.String(a)}
	}
	return out
}
