package oidctest

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/google/go-cmp/cmp"
)

func TestMintBrokenRejected(t *testing.T) {
	tests := []struct {
		name string
		kind Broken
		// wantExpiry, when set, asks for a *oidc.TokenExpiredError with this Expiry.
		wantExpiry *time.Time
		// wantErr is a substring of go-oidc's error otherwise; {url} stands for the issuer URL.
		wantErr string
		// wantRefetches is the most JWKS fetches rejecting the token may cost once keys are cached.
		wantRefetches int
	}{
		{name: "expired", kind: Expired, wantExpiry: new(t0.Add(-10 * time.Minute))},
		{name: "missing-exp", kind: MissingExp, wantExpiry: new(time.Time{})},
		{name: "not-yet-valid", kind: NotYetValid, wantErr: "before the nbf (not before) time"},
		{name: "wrong-issuer", kind: WrongIssuer, wantErr: `oidc: id token issued by a different provider, expected "{url}" got "https://wrong-issuer.invalid"`},
		{name: "wrong-audience", kind: WrongAudience, wantErr: `oidc: expected audience "sts.amazonaws.com" got ["wrong-audience.invalid"]`},
		{name: "alg-none", kind: AlgNone, wantErr: `oidc: malformed jwt: unexpected signature algorithm "none"; expected ["RS256" "ES256"]`},
		{name: "hs256-with-public-key", kind: HS256WithPublicKey, wantErr: `oidc: malformed jwt: unexpected signature algorithm "HS256"; expected ["RS256" "ES256"]`},
		{name: "unknown-kid", kind: UnknownKID, wantErr: "failed to verify signature: failed to verify id token signature", wantRefetches: 1},
		{name: "tampered-signature", kind: TamperedSignature, wantErr: "failed to verify signature: failed to verify id token signature", wantRefetches: 1},
		{name: "malformed", kind: Malformed, wantErr: "oidc: malformed jwt: go-jose/go-jose: compact JWS format must have three parts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Start(t, Options{Now: fixedNow(t0)})
			v := newVerifier(t, s, fixedNow(t0))
			claims := GitHubActionsClaims("myorg/app", "refs/heads/main")

			// The same claims minted normally verify, so the rejection is the break's doing.
			if _, err := v.Verify(t.Context(), mustMint(t, s, MintOptions{}, claims)); err != nil {
				t.Fatalf("Verify(Mint()) error = %v, want nil", err)
			}
			fetched := s.Requests(KeysPath)
			token, err := s.MintBroken(tt.kind, claims)
			if err != nil {
				t.Fatalf("MintBroken(%v) error = %v", tt.kind, err)
			}
			_, err = v.Verify(t.Context(), token)
			wantErr := strings.ReplaceAll(tt.wantErr, "{url}", s.URL())
			var expired *oidc.TokenExpiredError
			switch {
			case err == nil:
				t.Errorf("Verify(MintBroken(%v)) error = nil, want rejection", tt.kind)
			case tt.wantExpiry != nil:
				if !errors.As(err, &expired) || !expired.Expiry.Equal(*tt.wantExpiry) {
					t.Errorf("Verify(MintBroken(%v)) error = %v, want *oidc.TokenExpiredError at %v", tt.kind, err, *tt.wantExpiry)
				}
			case !strings.Contains(err.Error(), wantErr) || errors.As(err, &expired):
				t.Errorf("Verify(MintBroken(%v)) error = %v, want one containing %q", tt.kind, err, wantErr)
			}
			// go-oidc refetches on a miss, but a refetch can join a fetch that
			// is just finishing, so the count is an upper bound, not exact.
			if got := s.Requests(KeysPath) - fetched; got > tt.wantRefetches {
				t.Errorf("JWKS fetches while rejecting = %d, want at most %d", got, tt.wantRefetches)
			}
		})
	}
}

// TestMintBrokenOversized shows that go-oidc has no size limit: an oversized token that is
// otherwise valid verifies, so the broker must bound token size itself (wire-facts §7.8).
func TestMintBrokenOversized(t *testing.T) {
	s := Start(t, Options{})
	token, err := s.MintBroken(Oversized, map[string]any{"sub": "alice"})
	if err != nil {
		t.Fatalf("MintBroken(Oversized) error = %v", err)
	}
	if len(token) <= OversizeLimit {
		t.Errorf("len(MintBroken(Oversized)) = %d, want > %d", len(token), OversizeLimit)
	}
	if _, err := newVerifier(t, s, nil).Verify(t.Context(), token); err != nil {
		t.Errorf("Verify(MintBroken(Oversized)) error = %v, want nil (go-oidc does not limit size)", err)
	}
}

func TestMintBrokenShapes(t *testing.T) {
	s := Start(t, Options{Now: fixedNow(t0)})
	rsaKey := fetchKeys(t, s).Keys[0]
	mint := func(kind Broken) string {
		t.Helper()
		token, err := s.MintBroken(kind, map[string]any{"sub": "alice"})
		if err != nil {
			t.Fatalf("MintBroken(%v) error = %v", kind, err)
		}
		return token
	}

	t.Run("alg-none", func(t *testing.T) {
		token := mint(AlgNone)
		header, _ := segments(t, token)
		if diff := cmp.Diff(map[string]any{"alg": "none", "typ": "JWT"}, header); diff != "" {
			t.Errorf("header mismatch (-want +got):\n%s", diff)
		}
		if !strings.HasSuffix(token, ".") || strings.Count(token, ".") != 2 {
			t.Errorf("MintBroken(AlgNone) = %q, want header.payload. with an empty signature", token)
		}
	})
	t.Run("hs256-with-public-key", func(t *testing.T) {
		token := mint(HS256WithPublicKey)
		header, _ := segments(t, token)
		if diff := cmp.Diff(map[string]any{"alg": "HS256", "typ": "JWT", "kid": rsaKey.KeyID}, header); diff != "" {
			t.Errorf("header mismatch (-want +got):\n%s", diff)
		}
		// An attacker's verifier would use the PEM of the published RSA key as the HMAC secret.
		der, err := x509.MarshalPKIXPublicKey(rsaKey.Key)
		if err != nil {
			t.Fatalf("MarshalPKIXPublicKey() error = %v", err)
		}
		mac := hmac.New(sha256.New, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
		i := strings.LastIndexByte(token, '.')
		mac.Write([]byte(token[:i]))
		if want := base64.RawURLEncoding.EncodeToString(mac.Sum(nil)); token[i+1:] != want {
			t.Errorf("HS256 signature = %q, want HMAC over the published key's PEM %q", token[i+1:], want)
		}
	})
	t.Run("unknown-kid", func(t *testing.T) {
		header, _ := segments(t, mint(UnknownKID))
		if header["alg"] != "RS256" || header["kid"] == rsaKey.KeyID || header["kid"] == "" {
			t.Errorf("header = %v, want RS256 with a kid other than %q", header, rsaKey.KeyID)
		}
		for _, k := range kids(fetchKeys(t, s)) {
			if k == header["kid"] {
				t.Errorf("UnknownKID kid %q is published", k)
			}
		}
	})
	t.Run("malformed", func(t *testing.T) {
		if got := strings.Count(mint(Malformed), "."); got != 1 {
			t.Errorf("MintBroken(Malformed) has %d dots, want 1", got)
		}
	})
	t.Run("expiry-claims", func(t *testing.T) {
		_, expired := segments(t, mint(Expired))
		_, early := segments(t, mint(NotYetValid))
		_, noExp := segments(t, mint(MissingExp))
		got := []any{expired["exp"], early["nbf"], noExp["exp"]}
		want := []any{float64(t0.Add(-10 * time.Minute).Unix()), float64(t0.Add(10 * time.Minute).Unix()), nil}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("expired exp, not-yet-valid nbf, missing exp mismatch (-want +got):\n%s", diff)
		}
	})
}

func TestMintBrokenUnknownKind(t *testing.T) {
	s := Start(t, Options{})
	for _, kind := range []Broken{0, Malformed + 1} {
		token, err := s.MintBroken(kind, nil)
		want := "oidctest: mint broken: unknown kind " + kind.String()
		if err == nil || err.Error() != want || token != "" {
			t.Errorf("MintBroken(%d) = %q, %v, want error %q", int(kind), token, err, want)
		}
	}
}

func TestMintBrokenKeepsClaims(t *testing.T) {
	s := Start(t, Options{})
	claims := map[string]any{"sub": "alice", "exp": 1, "aud": "x"}
	for _, kind := range []Broken{Expired, WrongAudience, MissingExp, Oversized, AlgNone} {
		if _, err := s.MintBroken(kind, claims); err != nil {
			t.Fatalf("MintBroken(%v) error = %v", kind, err)
		}
	}
	if diff := cmp.Diff(map[string]any{"sub": "alice", "exp": 1, "aud": "x"}, claims); diff != "" {
		t.Errorf("MintBroken() modified the caller's claims (-want +got):\n%s", diff)
	}
}

func TestBrokenString(t *testing.T) {
	got := []string{Expired.String(), HS256WithPublicKey.String(), Malformed.String(), Broken(0).String()}
	want := []string{"expired", "hs256-with-public-key", "malformed", "Broken(0)"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Broken.String() mismatch (-want +got):\n%s", diff)
	}
}
