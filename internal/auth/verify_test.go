package auth

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"testing"
	"time"

	goidctest "github.com/coreos/go-oidc/v3/oidc/oidctest"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"go.uber.org/zap/zaptest"

	"github.com/stsbroker/broker/internal/oidctest"
)

func TestVerifyAccepts(t *testing.T) {
	clock := newTestClock()
	key := newRSAKey(t, "k1")
	ti := newTestIssuer(t, key)
	v := newTestVerifier(t, clock, ti.config("github"))
	if !v.Ready() {
		t.Fatalf("Ready() = false, want true")
	}

	now := clock.Now()
	claims := ti.claims(now)
	claims["aud"] = []string{"other", testAudience}
	claims["run_attempt"] = 2
	claims["ref_protected"] = true
	got, err := v.Verify(t.Context(), sign(t, key, key.kid, claims))
	if err != nil {
		t.Fatalf("Verify() error = %v, want nil", err)
	}
	want := &Identity{
		Issuer:    "github",
		IssuerURL: ti.URL,
		Subject:   testSubject,
		Audience:  []string{"other", testAudience},
		Expiry:    time.Unix(now.Add(5*time.Minute).Unix(), 0),
	}
	wantClaims := map[string]any{
		"iss":              ti.URL,
		"sub":              testSubject,
		"aud":              []any{"other", testAudience},
		"iat":              json.Number(jsonInt(now.Unix())),
		"nbf":              json.Number(jsonInt(now.Add(-time.Minute).Unix())),
		"exp":              json.Number(jsonInt(now.Add(5 * time.Minute).Unix())),
		"repository_owner": "myorg",
		"run_id":           "12345",
		"run_attempt":      json.Number("2"),
		"ref_protected":    true,
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreUnexported(Identity{}), cmpopts.IgnoreFields(Identity{}, "Payload")); diff != "" {
		t.Errorf("Verify() mismatch (-want +got):\n%s", diff)
	}
	// The payload is kept as the token carried it, and decodes to the claims.
	if want := mustJSON(t, claims); !bytes.Equal(got.Payload, want) {
		t.Errorf("Payload = %s, want %s", got.Payload, want)
	}
	gotClaims, err := got.Claims()
	if err != nil {
		t.Fatalf("Claims() error = %v", err)
	}
	if diff := cmp.Diff(wantClaims, gotClaims); diff != "" {
		t.Errorf("Claims() mismatch (-want +got):\n%s", diff)
	}
	// Each call returns the caller's own map.
	gotClaims["sub"] = "changed"
	if again, _ := got.Claims(); again["sub"] != testSubject {
		t.Errorf("Claims() after changing an earlier result: sub = %v, want %q", again["sub"], testSubject)
	}
	// Discovery once and the JWKS once, at New; none per token.
	if got, want := ti.totalRequests(), 2; got != want {
		t.Errorf("issuer requests = %d, want %d", got, want)
	}
}

func jsonInt(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// TestVerifyRejects checks every rejection reason. No row may cause a request
// to the issuer: keys were fetched at New, and the refetch interval has not
// passed.
func TestVerifyRejects(t *testing.T) {
	clock := newTestClock()
	key := newRSAKey(t, "k1")
	ecKey := newECKey(t, "ec1")
	otherKey := newRSAKey(t, "other")
	ti := newTestIssuer(t, key)
	esOnly := newTestIssuer(t, ecKey)
	stranger := newTestIssuer(t, key) // a live issuer we do not trust

	esCfg := esOnly.config("es-only")
	esCfg.Algorithms = []string{"ES256"}
	v := newTestVerifier(t, clock, ti.config("github"), esCfg)
	if !v.Ready() {
		t.Fatalf("Ready() = false, want true")
	}

	now := clock.Now()
	valid := func(edit func(map[string]any)) string {
		c := ti.claims(now)
		if edit != nil {
			edit(c)
		}
		return sign(t, key, key.kid, c)
	}
	good := valid(nil)
	parts := strings.Split(good, ".")
	enc := base64.RawURLEncoding.EncodeToString
	payload := enc(mustJSON(t, ti.claims(now)))

	pubDER, err := x509.MarshalPKIXPublicKey(key.priv.Public())
	if err != nil {
		t.Fatalf("MarshalPKIXPublicKey() error = %v", err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	hsInput := enc([]byte(`{"alg":"HS256","kid":"k1","typ":"JWT"}`)) + "." + payload
	mac := hmac.New(sha256.New, pubPEM)
	mac.Write([]byte(hsInput))
	hsToken := hsInput + "." + enc(mac.Sum(nil))

	tamperedClaims := ti.claims(now)
	tamperedClaims["sub"] = "repo:evil/app:ref:refs/heads/main"
	tampered := parts[0] + "." + enc(mustJSON(t, tamperedClaims)) + "." + parts[2]

	esClaims := ti.claims(now)
	esClaims["iss"] = esOnly.URL
	strangerClaims := ti.claims(now)
	strangerClaims["iss"] = stranger.URL

	tests := []struct {
		name  string
		token string
		want  string
	}{
		{name: "missing", token: "", want: ReasonMissing},
		{name: "too-large", token: strings.Repeat("a", DefaultMaxTokenBytes+1), want: ReasonTooLarge},
		{name: "too-large-valid-shape", token: good + strings.Repeat("A", DefaultMaxTokenBytes), want: ReasonTooLarge},
		{name: "malformed-one-dot", token: parts[0] + "." + parts[1], want: ReasonMalformed},
		{name: "malformed-four-dots", token: good + ".a.b", want: ReasonMalformed},
		{name: "malformed-json-serialization", token: `{"payload":"` + parts[1] + `","protected":"` + parts[0] + `","signature":"` + parts[2] + `"}`, want: ReasonMalformed},
		{name: "malformed-brace-with-two-dots", token: `{"a":"b.c.d"}`, want: ReasonMalformed},
		{name: "malformed-whitespace", token: parts[0] + ". " + parts[1] + "." + parts[2], want: ReasonMalformed},
		{name: "malformed-trailing-newline", token: good + "\n", want: ReasonMalformed},
		{name: "malformed-header-not-base64", token: "!!!." + parts[1] + "." + parts[2], want: ReasonMalformed},
		{name: "malformed-header-not-json", token: enc([]byte("nope")) + "." + parts[1] + "." + parts[2], want: ReasonMalformed},
		{name: "malformed-iss-not-string", token: parts[0] + "." + enc([]byte(`{"iss":42}`)) + "." + parts[2], want: ReasonMalformed},
		{name: "malformed-signature-not-base64", token: parts[0] + "." + parts[1] + ".A", want: ReasonMalformed},
		{name: "unknown-issuer", token: sign(t, key, key.kid, strangerClaims), want: ReasonUnknownIssuer},
		{name: "unknown-issuer-missing-iss", token: valid(func(c map[string]any) { delete(c, "iss") }), want: ReasonUnknownIssuer},
		{name: "issuer-with-trailing-slash", token: valid(func(c map[string]any) { c["iss"] = ti.URL + "/" }), want: ReasonUnknownIssuer},
		{name: "alg-none", token: enc([]byte(`{"alg":"none","kid":"k1"}`)) + "." + payload + ".", want: ReasonAlgorithm},
		{name: "alg-none-with-signature", token: enc([]byte(`{"alg":"none","kid":"k1"}`)) + "." + payload + "." + parts[2], want: ReasonAlgorithm},
		{name: "alg-missing", token: enc([]byte(`{"kid":"k1"}`)) + "." + payload + "." + parts[2], want: ReasonAlgorithm},
		{name: "hs256-with-rsa-public-key", token: hsToken, want: ReasonAlgorithm},
		{name: "rs256-when-only-es256-allowed", token: sign(t, key, key.kid, esClaims), want: ReasonAlgorithm},
		{name: "es256-when-discovered-rs256", token: sign(t, ecKey, key.kid, ti.claims(now)), want: ReasonAlgorithm},
		{name: "unknown-kid", token: sign(t, otherKey, "other", ti.claims(now)), want: ReasonSignature},
		{name: "known-kid-wrong-key", token: sign(t, otherKey, key.kid, ti.claims(now)), want: ReasonSignature},
		{name: "tampered-payload", token: tampered, want: ReasonSignature},
		{name: "tampered-signature", token: parts[0] + "." + parts[1] + "." + enc([]byte("not the signature")), want: ReasonSignature},
		{name: "wrong-audience", token: valid(func(c map[string]any) { c["aud"] = "someone-else" }), want: ReasonAudience},
		{name: "wrong-audience-list", token: valid(func(c map[string]any) { c["aud"] = []string{"a", "b"} }), want: ReasonAudience},
		{name: "missing-audience", token: valid(func(c map[string]any) { delete(c, "aud") }), want: ReasonAudience},
		{name: "expired-beyond-skew", token: valid(func(c map[string]any) { c["exp"] = now.Add(-DefaultSkew - time.Second).Unix() }), want: ReasonExpired},
		{name: "missing-exp", token: valid(func(c map[string]any) { delete(c, "exp") }), want: ReasonExpired},
		{name: "missing-sub", token: valid(func(c map[string]any) { delete(c, "sub") }), want: ReasonNoSubject},
		{name: "empty-sub", token: valid(func(c map[string]any) { c["sub"] = "" }), want: ReasonNoSubject},
		{name: "exp-not-a-number", token: valid(func(c map[string]any) { c["exp"] = "tomorrow" }), want: ReasonMalformed},
		{name: "nbf-in-future", token: valid(func(c map[string]any) { c["nbf"] = now.Add(DefaultSkew + time.Second).Unix() }), want: ReasonNotYetValid},
		{name: "nbf-not-a-number", token: valid(func(c map[string]any) { c["nbf"] = "now" }), want: ReasonMalformed},
		// go-oidc alone takes a quoted number for exp and iat.
		{name: "exp-quoted-number", token: valid(func(c map[string]any) { c["exp"] = strconv.FormatInt(now.Add(time.Hour).Unix(), 10) }), want: ReasonMalformed},
		{name: "iat-quoted-number", token: valid(func(c map[string]any) { c["iat"] = strconv.FormatInt(now.Unix(), 10) }), want: ReasonMalformed},
		{name: "nbf-quoted-number", token: valid(func(c map[string]any) { c["nbf"] = strconv.FormatInt(now.Unix(), 10) }), want: ReasonMalformed},
		{name: "iat-in-future", token: valid(func(c map[string]any) { c["iat"] = now.Add(DefaultSkew + time.Second).Unix() }), want: ReasonNotYetValid},
	}
	before := ti.totalRequests()
	beforeOthers := esOnly.totalRequests() + stranger.totalRequests()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := v.Verify(t.Context(), tt.token)
			if got := reason(err); got != tt.want {
				t.Fatalf("Verify() error = %v (reason %q), want reason %q", err, got, tt.want)
			}
			if id != nil {
				t.Errorf("Verify() identity = %+v, want nil", id)
			}
			var te *TokenError
			if !errors.As(err, &te) {
				t.Fatalf("Verify() error type = %T, want *TokenError", err)
			}
			if len(tt.token) > 20 && strings.Contains(err.Error(), tt.token) {
				t.Errorf("Verify() error contains the token")
			}
			if strings.Contains(err.Error(), "evil") {
				t.Errorf("Verify() error = %q contains an unverified claim", err)
			}
		})
	}
	if got := ti.totalRequests() - before; got != 0 {
		t.Errorf("requests to the issuer during rejections = %d, want 0", got)
	}
	if got := esOnly.totalRequests() + stranger.totalRequests() - beforeOthers; got != 0 {
		t.Errorf("requests to other issuers during rejections = %d, want 0", got)
	}
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("json.Marshal() error = %v", err)
	}
	return b
}

func TestVerifyLifetimeSkew(t *testing.T) {
	clock := newTestClock()
	key := newRSAKey(t, "k1")
	ti := newTestIssuer(t, key)
	const skew = 10 * time.Second
	v, err := New(t.Context(), Config{Issuers: []IssuerConfig{ti.config("github")}, Now: clock.Now, Skew: skew})
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	now := clock.Now()
	tests := []struct {
		name string
		edit func(map[string]any)
		want string // "" means accepted
	}{
		{name: "expired-within-skew", edit: func(c map[string]any) { c["exp"] = now.Add(-skew).Unix() }},
		{name: "expired-just-beyond-skew", edit: func(c map[string]any) { c["exp"] = now.Add(-skew - time.Second).Unix() }, want: ReasonExpired},
		{name: "exp-now", edit: func(c map[string]any) { c["exp"] = now.Unix() }},
		{name: "nbf-within-skew", edit: func(c map[string]any) { c["nbf"] = now.Add(skew).Unix() }},
		{name: "nbf-just-beyond-skew", edit: func(c map[string]any) { c["nbf"] = now.Add(skew + time.Second).Unix() }, want: ReasonNotYetValid},
		{name: "nbf-absent", edit: func(c map[string]any) { delete(c, "nbf") }},
		{name: "nbf-fractional", edit: func(c map[string]any) { c["nbf"] = float64(now.Unix()) + 0.5 }},
		{name: "nbf-huge", edit: func(c map[string]any) { c["nbf"] = 1e300 }, want: ReasonMalformed},
		// go-oidc's own int64 conversion wraps these: an iat in the past,
		// an exp in year 285 billion. Past year 9999 is malformed.
		{name: "iat-wraps-int64", edit: func(c map[string]any) { c["iat"] = 1e19 }, want: ReasonMalformed},
		{name: "exp-year-285-billion", edit: func(c map[string]any) { c["exp"] = 9e18 }, want: ReasonMalformed},
		{name: "exp-year-9999", edit: func(c map[string]any) { c["exp"] = maxUnix }},
		{name: "iat-within-skew", edit: func(c map[string]any) { c["iat"] = now.Add(skew).Unix() }},
		{name: "iat-just-beyond-skew", edit: func(c map[string]any) { c["iat"] = now.Add(skew + time.Second).Unix() }, want: ReasonNotYetValid},
		{name: "iat-absent", edit: func(c map[string]any) { delete(c, "iat") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := maps.Clone(ti.claims(now))
			tt.edit(c)
			_, err := v.Verify(t.Context(), sign(t, key, key.kid, c))
			if got := reason(err); got != tt.want {
				t.Errorf("Verify() error = %v (reason %q), want reason %q", err, got, tt.want)
			}
		})
	}
}

func TestVerifyMaxTokenBytes(t *testing.T) {
	clock := newTestClock()
	key := newRSAKey(t, "k1")
	ti := newTestIssuer(t, key)
	token := sign(t, key, key.kid, ti.claims(clock.Now()))
	tests := []struct {
		name string
		max  int
		want string
	}{
		{name: "exactly-at-limit", max: len(token)},
		{name: "one-byte-over", max: len(token) - 1, want: ReasonTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := New(t.Context(), Config{Issuers: []IssuerConfig{ti.config("github")}, Now: clock.Now, MaxTokenBytes: tt.max})
			if err != nil {
				t.Fatalf("New() error = %v", err)
			}
			_, err = v.Verify(t.Context(), token)
			if got := reason(err); got != tt.want {
				t.Errorf("Verify() error = %v (reason %q), want reason %q", err, got, tt.want)
			}
		})
	}
}

// TestVerifyRejectsCaseVariantClaims: a key that equals a registered claim
// name case-insensitively but not exactly is refused. go-oidc reads the
// registered claims case-insensitively (encoding/json), the conditions read
// the exact key: the two must not be able to disagree.
func TestVerifyRejectsCaseVariantClaims(t *testing.T) {
	issuer := oidctest.Start(t, oidctest.Options{})
	v, err := New(t.Context(), Config{
		Issuers: []IssuerConfig{{Name: "github", URL: issuer.URL(), Audiences: []string{oidctest.DefaultAudience}}},
		Log:     zaptest.NewLogger(t),
	})
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	t.Cleanup(v.Close)
	now := time.Now()
	const attacker = "repo:attacker/x:ref:refs/heads/main"
	tests := []struct {
		name  string
		key   string // added to the claims; "" adds nothing
		value any
		want  string // the reason; "" means accepted
	}{
		{name: "plain"},
		{name: "sub-capitalised", key: "Sub", value: attacker, want: ReasonMalformed},
		{name: "sub-upper-case", key: "SUB", value: attacker, want: ReasonMalformed},
		// U+017F folds to "s" and sorts after "sub": encoding/json keeps it.
		{name: "sub-long-s", key: "\u017fub", value: attacker, want: ReasonMalformed},
		{name: "iss-capitalised", key: "Iss", value: "https://issuer.attacker.invalid", want: ReasonMalformed},
		{name: "aud-capitalised", key: "Aud", value: "someone-else", want: ReasonMalformed},
		{name: "exp-capitalised", key: "Exp", value: now.Add(time.Hour).Unix(), want: ReasonMalformed},
		{name: "nbf-upper-case", key: "NBF", value: now.Unix(), want: ReasonMalformed},
		{name: "iat-capitalised", key: "Iat", value: now.Unix(), want: ReasonMalformed},
		{name: "jti-upper-case", key: "JTI", value: "x", want: ReasonMalformed},
		{name: "capitalised-private-claim", key: "Repository", value: "attacker/x"},
		{name: "longer-name", key: "Subject", value: attacker},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			claims := oidctest.GitHubActionsClaims("myorg/app", "refs/heads/main")
			if tt.key != "" {
				claims[tt.key] = tt.value
			}
			token, err := issuer.Mint(claims)
			if err != nil {
				t.Fatalf("Mint() error = %v", err)
			}
			id, err := v.Verify(t.Context(), token)
			if got := reason(err); got != tt.want {
				t.Fatalf("Verify() error = %v (reason %q), want reason %q", err, got, tt.want)
			}
			if tt.want == "" && id.Subject != "repo:myorg/app:ref:refs/heads/main" {
				t.Errorf("Verify() Subject = %q, want %q", id.Subject, "repo:myorg/app:ref:refs/heads/main")
			}
			if tt.want != "" && !strings.Contains(err.Error(), "only in case") {
				t.Errorf("Verify() error = %q, want it to say the key differs only in case", err)
			}
		})
	}
}

// TestVerifyRejectsSubjectCaseVariantLast is the payload of the security
// review, key order kept: encoding/json (go-oidc) keeps the last of "sub"
// and "Sub", the claims map the exact "sub", so Identity.Subject was the
// attacker's while conditions matched myorg's.
func TestVerifyRejectsSubjectCaseVariantLast(t *testing.T) {
	clock := newTestClock()
	key := newRSAKey(t, "k1")
	ti := newTestIssuer(t, key)
	v := newTestVerifier(t, clock, ti.config("github"))
	now := clock.Now()
	payload := fmt.Sprintf(`{"iss":%q,"sub":%q,"Sub":"repo:attacker/x:ref:refs/heads/main","aud":%q,"iat":%d,"exp":%d}`,
		ti.URL, testSubject, testAudience, now.Unix(), now.Add(5*time.Minute).Unix())
	token := goidctest.SignIDToken(key.priv, key.kid, key.alg, payload)
	id, err := v.Verify(t.Context(), token)
	if got := reason(err); got != ReasonMalformed {
		if id != nil {
			t.Fatalf("Verify() Subject = %q, error = nil, want reason %q", id.Subject, ReasonMalformed)
		}
		t.Fatalf("Verify() error = %v, want reason %q", err, ReasonMalformed)
	}
	if strings.Contains(err.Error(), "attacker") {
		t.Errorf("Verify() error = %q contains a claim value", err)
	}
}
