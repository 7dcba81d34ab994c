package chain

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func basePlan() Plan {
	return Plan{
		Profile:          "deploy",
		Source:           WebIdentity,
		WebIdentityToken: "token-a",
		Identity:         "https://issuer.example\x00repo:org/app:ref:refs/heads/main",
		Hops: []Hop{
			{RoleARN: "arn:aws:iam::111111111111:role/tooling", SessionName: "s1", Duration: time.Hour, PolicyARNs: []string{"arn:aws:iam::aws:policy/ReadOnlyAccess"}},
			{
				RoleARN: "arn:aws:iam::222222222222:role/target", SessionName: "s2", ExternalID: "ext-1",
				Duration: time.Hour, Tags: []Tag{{Key: "repo", Value: "org/app"}}, TransitiveTagKeys: []string{"repo"},
				SourceIdentity: "alice", Policy: `{"Version":"2012-10-17"}`,
			},
		},
	}
}

func TestKeyDistinguishesEveryField(t *testing.T) {
	tests := []struct {
		name   string
		change func(p *Plan)
	}{
		{name: "profile", change: func(p *Plan) { p.Profile = "other" }},
		{name: "source", change: func(p *Plan) { p.Source = Ambient }},
		{name: "identity", change: func(p *Plan) { p.Identity = "https://issuer.example\x00someone-else" }},
		{name: "hop-count", change: func(p *Plan) { p.Hops = p.Hops[:1] }},
		{name: "role-arn", change: func(p *Plan) { p.Hops[1].RoleARN += "x" }},
		{name: "session-name", change: func(p *Plan) { p.Hops[1].SessionName = "s3" }},
		{name: "external-id", change: func(p *Plan) { p.Hops[1].ExternalID = "ext-2" }},
		{name: "duration", change: func(p *Plan) { p.Hops[1].Duration = 30 * time.Minute }},
		{name: "tag-value", change: func(p *Plan) { p.Hops[1].Tags[0].Value = "org/other" }},
		{name: "tag-added", change: func(p *Plan) { p.Hops[1].Tags = append(p.Hops[1].Tags, Tag{Key: "env", Value: "prod"}) }},
		{name: "transitive-tag-keys", change: func(p *Plan) { p.Hops[1].TransitiveTagKeys = nil }},
		{name: "source-identity", change: func(p *Plan) { p.Hops[1].SourceIdentity = "bob" }},
		{name: "policy-arns", change: func(p *Plan) { p.Hops[0].PolicyARNs = nil }},
		{name: "policy", change: func(p *Plan) { p.Hops[1].Policy = "" }},
		// Larger than the key's stack buffer: the append moves to the heap.
		{name: "long-policy", change: func(p *Plan) { p.Hops[1].Policy = strings.Repeat("x", 2048) }},
		{name: "length-prefix-session", change: func(p *Plan) { p.Hops[0].RoleARN += "s"; p.Hops[0].SessionName = "1" }},
		{name: "length-prefix-tag", change: func(p *Plan) { p.Hops[1].Tags[0] = Tag{Key: "rep", Value: "oorg/app"} }},
		{name: "tag-moved-to-transitive", change: func(p *Plan) {
			p.Hops[1].Tags = nil
			p.Hops[1].TransitiveTagKeys = []string{"repo", "org/app", "repo"}
		}},
	}
	want := basePlan().Key()
	seen := map[Key]string{want: "base"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := basePlan()
			tt.change(&p)
			got := p.Key()
			if got == want {
				t.Errorf("Key() after changing %s = base key, want a different key", tt.name)
			}
			if other, dup := seen[got]; dup {
				t.Errorf("Key() after changing %s = key of %s, want a different key", tt.name, other)
			}
			seen[got] = tt.name
		})
	}
}

func TestKeyIgnoresWebIdentityToken(t *testing.T) {
	a, b := basePlan(), basePlan()
	b.WebIdentityToken = "token-b"
	b.TokenExpiry = time.Unix(1700000000, 0)
	if a.Key() != b.Key() {
		t.Errorf("Key() differs between two tokens of one identity, want equal")
	}
}

// TestKeyStable pins the layout: the plan's key is the one the first
// version (hashing field by field) computed for basePlan; the signer key is
// the same layout under signerVersion.
func TestKeyStable(t *testing.T) {
	got := basePlan().Key()
	if want := "db299c159c514c72284532b9f821d9d553f1344c4af073427853699c143b585b"; fmt.Sprintf("%x", got) != want {
		t.Errorf("Key() = %x, want %s", got, want)
	}
	if got, want := fmt.Sprintf("%x", basePlan().signerKey(1)), "b39157016dbc768ab7df1070fa87d1bf28bf2aaa4067860c39ec98a6637f4c42"; got != want {
		t.Errorf("signerKey(1) = %s, want %s", got, want)
	}
	if again := basePlan().Key(); again != got {
		t.Errorf("Key() = %x then %x, want stable", got, again)
	}
}

// TestSignerKey: a signer key covers the first n hops only, and is never
// the key of a plan, not even of the plan cut to those hops.
func TestSignerKey(t *testing.T) {
	p := basePlan()
	for n := 0; n <= len(p.Hops); n++ {
		cut := p
		cut.Hops = p.Hops[:n]
		if p.signerKey(n) == cut.Key() {
			t.Errorf("signerKey(%d) = key of the plan cut to %d hops, want different", n, n)
		}
		if got, want := p.signerKey(n), cut.signerKey(n); got != want {
			t.Errorf("signerKey(%d) = %x, want the cut plan's %x", n, got, want)
		}
	}
	changed := basePlan()
	changed.Hops[1].ExternalID = "ext-other"
	if p.signerKey(1) != changed.signerKey(1) {
		t.Errorf("signerKey(1) changed with hop 2's ExternalId, want equal")
	}
	if p.signerKey(2) == changed.signerKey(2) {
		t.Errorf("signerKey(2) equal across different hop-2 ExternalIds, want different")
	}
	changed.Hops[0].SessionName = "other"
	if p.signerKey(1) == changed.signerKey(1) {
		t.Errorf("signerKey(1) equal across different hop-1 session names, want different")
	}
	if p.signerKey(0) == p.signerKey(1) {
		t.Errorf("signerKey(0) = signerKey(1), want different")
	}
	if got, want := p.signerKey(99), p.signerKey(len(p.Hops)); got != want {
		t.Errorf("signerKey(99) = %x, want clamped to signerKey(%d) %x", got, len(p.Hops), want)
	}
}

func TestKeyed(t *testing.T) {
	p := basePlan()
	p.WebIdentityToken = ""
	k := NewKeyed(p)
	if k.key != p.Key() {
		t.Fatalf("NewKeyed key = %x, want Plan.Key %x", k.key, p.Key())
	}
	withToken := k.WithToken("token-x")
	if got := withToken.Plan().WebIdentityToken; got != "token-x" {
		t.Errorf("WithToken on a web-identity plan: token = %q, want token-x", got.Reveal())
	}
	if withToken.key != k.key || withToken.Plan().Key() != k.key {
		t.Errorf("WithToken changed the key, want the token outside it")
	}
	if k.Plan().WebIdentityToken != "" {
		t.Errorf("WithToken modified the original Keyed")
	}
	p.Source = Ambient
	if got := NewKeyed(p).WithToken("token-x").Plan().WebIdentityToken; got != "" {
		t.Errorf("WithToken on an ambient plan: token = %q, want none", got.Reveal())
	}
}

// TestNewKeyedCopiesPlan: changing the plan given to NewKeyed afterwards,
// down to its tags and lists, changes neither the Keyed's plan nor its key.
func TestNewKeyedCopiesPlan(t *testing.T) {
	p := basePlan()
	k := NewKeyed(p)
	want := basePlan().Key()
	p.Hops[1].RoleARN = "arn:aws:iam::999999999999:role/other"
	p.Hops[1].Tags[0].Value = "org/other"
	p.Hops[1].TransitiveTagKeys[0] = "other"
	p.Hops[0].PolicyARNs[0] = "arn:aws:iam::aws:policy/AdministratorAccess"
	if k.Key() != want || k.Plan().Key() != want {
		t.Errorf("after the caller changed its plan: Keyed key %x, its plan's key %x, want both %x", k.Key(), k.Plan().Key(), want)
	}
}

// TestKeyedAndSecretFormat: no fmt verb prints a token or an ExternalId,
// neither of a Keyed (whose plan is an unexported field) nor of a Secret
// inside exported fields.
func TestKeyedAndSecretFormat(t *testing.T) {
	k := NewKeyed(basePlan()).WithToken("eyJ-secret-token")
	creds := Credentials{AccessKeyID: "ASIA", SecretAccessKey: "secret-key-value", SessionToken: "session-token-value"}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%q", "%10.3v"} {
		for _, v := range []any{k, &k, basePlan(), creds, Secret("eyJ-secret-token")} {
			s := fmt.Sprintf(verb, v)
			for _, secret := range []string{"eyJ-secret-token", "ext-1", "token-a", "secret-key-value", "session-token-value"} {
				if strings.Contains(s, secret) || strings.Contains(s, fmt.Sprintf("%x", secret)) {
					t.Errorf("Sprintf(%s, %T) = %.120s, contains %q", verb, v, s, secret)
				}
			}
		}
	}
	if got, want := fmt.Sprint(k), `chain.Keyed{profile: "deploy", hops: 2}`; got != want {
		t.Errorf("Sprint(Keyed) = %s, want %s", got, want)
	}
}
