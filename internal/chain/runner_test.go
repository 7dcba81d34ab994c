package chain

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/google/go-cmp/cmp"
)

// These cases fail before any STS call: the runner has no STS client, so a
// call would panic.
func TestRunHopRejectsBadPlans(t *testing.T) {
	r := NewRunner(RunnerConfig{})
	web := func(mod func(h *Hop)) Plan {
		p := Plan{Source: WebIdentity, WebIdentityToken: "jwt", Hops: []Hop{{RoleARN: "arn:aws:iam::111111111111:role/tooling", SessionName: "s"}}}
		mod(&p.Hops[0])
		return p
	}
	tests := []struct {
		name    string
		plan    Plan
		hop     int
		prev    *Credentials
		wantErr string
	}{
		{name: "external-id-on-web-identity", plan: web(func(h *Hop) { h.ExternalID = "ext" }), wantErr: "chain: hop 1 (arn:aws:iam::111111111111:role/tooling): external id not supported by AssumeRoleWithWebIdentity"},
		{name: "tags-on-web-identity", plan: web(func(h *Hop) { h.Tags = []Tag{{Key: "k", Value: "v"}} }), wantErr: "chain: hop 1 (arn:aws:iam::111111111111:role/tooling): session tags not supported by AssumeRoleWithWebIdentity"},
		{name: "source-identity-on-web-identity", plan: web(func(h *Hop) { h.SourceIdentity = "alice"; h.TransitiveTagKeys = []string{"k"} }), wantErr: "chain: hop 1 (arn:aws:iam::111111111111:role/tooling): session tags, source identity not supported by AssumeRoleWithWebIdentity"},
		{name: "no-token", plan: Plan{Source: WebIdentity, Hops: []Hop{{RoleARN: "arn:r"}}}, wantErr: "chain: hop 1 (arn:r): no web identity token"},
		{name: "no-ambient-credentials", plan: Plan{Source: Ambient, Hops: []Hop{{RoleARN: "arn:r"}}}, wantErr: "chain: hop 1 (arn:r): no AWS credentials of the broker's own to sign it: no ambient credentials provider configured"},
		{name: "hop-out-of-range", plan: Plan{Hops: []Hop{{RoleARN: "arn:r"}}}, hop: 1, wantErr: "chain: hop 2 out of range (plan has 1)"},
		{name: "no-previous-credentials", plan: Plan{Hops: []Hop{{RoleARN: "arn:a"}, {RoleARN: "arn:b"}}}, hop: 1, wantErr: "chain: hop 2 (arn:b): no credentials from hop 1"},
		{name: "incomplete-previous-credentials", plan: Plan{Hops: []Hop{{RoleARN: "arn:a"}, {RoleARN: "arn:b"}}}, hop: 1, prev: &Credentials{AccessKeyID: "ASIA"}, wantErr: "chain: hop 2 (arn:b): no credentials from hop 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := r.RunHop(t.Context(), tt.plan, tt.hop, tt.prev)
			if err == nil || err.Error() != tt.wantErr {
				t.Fatalf("RunHop() error = %v, want %q", err, tt.wantErr)
			}
			if got != (Credentials{}) {
				t.Errorf("RunHop() = %+v, want zero credentials with the error", got)
			}
		})
	}
	if _, err := r.Run(t.Context(), Plan{}); err == nil || err.Error() != "chain: plan has no hops" {
		t.Errorf("Run(empty) error = %v, want %q", err, "chain: plan has no hops")
	}
}

func TestFromOutput(t *testing.T) {
	exp := time.Date(2026, 1, 1, 13, 0, 0, 0, time.UTC)
	full := &types.Credentials{AccessKeyId: aws.String("ASIAEXAMPLE"), SecretAccessKey: aws.String("sk"), SessionToken: aws.String("st"), Expiration: aws.Time(exp)}
	user := &types.AssumedRoleUser{Arn: aws.String("arn:aws:sts::222222222222:assumed-role/TargetRole/sess2")}
	hop := Hop{RoleARN: "arn:aws:iam::222222222222:role/TargetRole"}
	tests := []struct {
		name    string
		creds   *types.Credentials
		user    *types.AssumedRoleUser
		want    Credentials
		wantErr string
	}{
		{
			name: "complete", creds: full, user: user,
			want: Credentials{AccessKeyID: "ASIAEXAMPLE", SecretAccessKey: "sk", SessionToken: "st", Expiration: exp, AccountID: "222222222222",
				AssumedRoleARN: "arn:aws:sts::222222222222:assumed-role/TargetRole/sess2", RoleARN: hop.RoleARN, SourceIdentity: "alice"},
		},
		{name: "no-credentials", user: user, wantErr: "answer without credentials"},
		{name: "no-user", creds: full, wantErr: "answer without credentials"},
		{name: "empty-session-token", creds: &types.Credentials{AccessKeyId: aws.String("ASIA"), SecretAccessKey: aws.String("sk"), Expiration: aws.Time(exp)}, user: user, wantErr: "answer with incomplete credentials"},
		{name: "no-expiration", creds: &types.Credentials{AccessKeyId: aws.String("ASIA"), SecretAccessKey: aws.String("sk"), SessionToken: aws.String("st")}, user: user, wantErr: "answer with incomplete credentials"},
		{name: "malformed-arn", creds: full, user: &types.AssumedRoleUser{Arn: aws.String("TargetRole")}, wantErr: `answer with malformed assumed-role arn "TargetRole"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := fromOutput(1, hop, actionAssumeRole, tt.creds, tt.user, aws.String("alice"))
			if tt.wantErr != "" {
				if err == nil || !strings.HasSuffix(err.Error(), tt.wantErr) {
					t.Fatalf("fromOutput() error = %v, want suffix %q", err, tt.wantErr)
				}
				if got != (Credentials{}) {
					t.Errorf("fromOutput() = %+v, want zero with error", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("fromOutput() error = %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("fromOutput() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestARNAccount(t *testing.T) {
	tests := []struct {
		name, arn, want string
		ok              bool
	}{
		{name: "assumed-role", arn: "arn:aws:sts::222222222222:assumed-role/TargetRole/sess2", want: "222222222222", ok: true},
		{name: "other-partition", arn: "arn:aws-us-gov:sts::111122223333:assumed-role/r/s", want: "111122223333", ok: true},
		{name: "six-fields", arn: "a:b:c:d:e:f", want: "e", ok: true},
		{name: "empty-resource", arn: "a:b:c:d:e:", want: "e", ok: true},
		{name: "empty-account", arn: "arn:aws:sts:::assumed-role/r/s"},
		{name: "five-fields", arn: "arn:aws:sts::222222222222"},
		{name: "four-fields", arn: "arn:aws:sts:"},
		{name: "no-colon", arn: "TargetRole"},
		{name: "empty", arn: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, ok := arnAccount(tt.arn); got != tt.want || ok != tt.ok {
				t.Errorf("arnAccount(%q) = %q, %v, want %q, %v", tt.arn, got, ok, tt.want, tt.ok)
			}
		})
	}
}

// FuzzARNAccount checks arnAccount against the strings.Split form it
// replaced (and stscreds uses).
func FuzzARNAccount(f *testing.F) {
	for _, s := range []string{"arn:aws:sts::222222222222:assumed-role/r/s", "a:b:c:d::f", "::::", ":::::", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, arn string) {
		parts := strings.Split(arn, ":")
		wantOK := len(parts) >= 6 && parts[4] != ""
		got, ok := arnAccount(arn)
		if ok != wantOK || (ok && got != parts[4]) {
			t.Errorf("arnAccount(%q) = %q, %v; strings.Split gives %q", arn, got, ok, parts)
		}
	})
}
