package oidctest

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"
)

func TestMintVerifies(t *testing.T) {
	tests := []struct {
		name    string
		opts    MintOptions
		wantAlg string
	}{
		{name: "default-rs256", opts: MintOptions{}, wantAlg: "RS256"},
		{name: "explicit-rs256", opts: MintOptions{Alg: RS256}, wantAlg: "RS256"},
		{name: "es256", opts: MintOptions{Alg: ES256}, wantAlg: "ES256"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Start(t, Options{})
			token := mustMint(t, s, tt.opts, map[string]any{"sub": "alice"})

			v := newVerifier(t, s, nil)
			id, err := v.Verify(t.Context(), token)
			if err != nil {
				t.Fatalf("Verify() error = %v, want nil", err)
			}
			if id.Subject != "alice" || id.Issuer != s.URL() {
				t.Errorf("Verify() sub, iss = %q, %q, want %q, %q", id.Subject, id.Issuer, "alice", s.URL())
			}
			if diff := cmp.Diff([]string{DefaultAudience}, id.Audience); diff != "" {
				t.Errorf("Verify() audience mismatch (-want +got):\n%s", diff)
			}

			jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
			if err != nil {
				t.Fatalf("jose.ParseSignedCompact() error = %v", err)
			}
			h := jws.Signatures[0].Protected
			published := map[string]string{}
			for _, k := range fetchKeys(t, s).Keys {
				published[k.KeyID] = k.Algorithm
			}
			if h.Algorithm != tt.wantAlg || published[h.KeyID] != tt.wantAlg || h.ExtraHeaders["typ"] != "JWT" {
				t.Errorf("header alg %q kid %q (published as %q) typ %v, want alg %s, a published %s kid, typ JWT",
					h.Algorithm, h.KeyID, published[h.KeyID], h.ExtraHeaders["typ"], tt.wantAlg, tt.wantAlg)
			}
		})
	}
}

func TestMintDefaults(t *testing.T) {
	s := Start(t, Options{Now: fixedNow(t0)})
	iat := t0.Unix()

	tests := []struct {
		name   string
		opts   MintOptions
		claims map[string]any
		want   map[string]any
	}{
		{
			name:   "all-defaults",
			claims: map[string]any{"sub": "alice"},
			want: map[string]any{
				"sub": "alice", "iss": s.URL(), "aud": DefaultAudience,
				"iat": float64(iat), "nbf": float64(iat), "exp": float64(iat + 300),
			},
		},
		{
			name:   "nil-claims",
			claims: nil,
			want: map[string]any{
				"iss": s.URL(), "aud": DefaultAudience,
				"iat": float64(iat), "nbf": float64(iat), "exp": float64(iat + 300),
			},
		},
		{
			name:   "ttl",
			opts:   MintOptions{TTL: time.Hour},
			claims: map[string]any{},
			want: map[string]any{
				"iss": s.URL(), "aud": DefaultAudience,
				"iat": float64(iat), "nbf": float64(iat), "exp": float64(iat + 3600),
			},
		},
		{
			name:   "caller-values-kept",
			claims: map[string]any{"aud": []any{"a", "b"}, "exp": 42, "iss": "https://other", "nbf": 7},
			want: map[string]any{
				"iss": "https://other", "aud": []any{"a", "b"},
				"iat": float64(iat), "nbf": float64(7), "exp": float64(42),
			},
		},
		{
			name:   "relative-to-caller-iat",
			claims: map[string]any{"iat": int64(1000)},
			want: map[string]any{
				"iss": s.URL(), "aud": DefaultAudience,
				"iat": float64(1000), "nbf": float64(1000), "exp": float64(1300),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := cmp.Diff(nil, tt.claims)
			token := mustMint(t, s, tt.opts, tt.claims)
			_, got := segments(t, token)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("MintWith() claims mismatch (-want +got):\n%s", diff)
			}
			if after := cmp.Diff(nil, tt.claims); after != before {
				t.Errorf("MintWith() modified the caller's claims: before %s after %s", before, after)
			}
		})
	}
}

func TestMintNowInjection(t *testing.T) {
	s := Start(t, Options{Now: fixedNow(t0)})
	token := mustMint(t, s, MintOptions{}, map[string]any{"sub": "alice"})

	id, err := newVerifier(t, s, fixedNow(t0.Add(4*time.Minute))).Verify(t.Context(), token)
	if err != nil {
		t.Fatalf("Verify() at t0+4m error = %v, want nil", err)
	}
	if want := t0.Add(DefaultTTL); !id.Expiry.Equal(want) || !id.IssuedAt.Equal(t0) {
		t.Errorf("Verify() exp, iat = %v, %v, want %v, %v", id.Expiry, id.IssuedAt, want, t0)
	}

	_, err = newVerifier(t, s, fixedNow(t0.Add(DefaultTTL+time.Second))).Verify(t.Context(), token)
	var expired *oidc.TokenExpiredError
	if !errors.As(err, &expired) || !expired.Expiry.Equal(t0.Add(DefaultTTL)) {
		t.Errorf("Verify() at t0+5m1s error = %v, want *oidc.TokenExpiredError at %v", err, t0.Add(DefaultTTL))
	}
}

func TestMintWithErrors(t *testing.T) {
	s := Start(t, Options{})
	esKID := esKeyID(t, s)

	tests := []struct {
		name    string
		opts    MintOptions
		claims  map[string]any
		wantErr string
	}{
		{name: "unsupported-alg", opts: MintOptions{Alg: "HS256"}, wantErr: `oidctest: no published HS256 key`},
		{name: "unknown-kid", opts: MintOptions{KeyID: "nope"}, wantErr: `oidctest: unknown kid "nope"`},
		{name: "alg-kid-mismatch", opts: MintOptions{Alg: RS256, KeyID: esKID}, wantErr: "oidctest: key " + `"` + esKID + `" is ES256, not RS256`},
		{name: "negative-ttl", opts: MintOptions{TTL: -time.Second}, wantErr: "oidctest: mint: ttl -1s out of range"},
		{name: "ttl-too-long", opts: MintOptions{TTL: 25 * time.Hour}, wantErr: "oidctest: mint: ttl 25h0m0s out of range"},
		{name: "unencodable-claim", claims: map[string]any{"f": func() {}}, wantErr: "oidctest: encode claims: "},
		{name: "claims-too-large", claims: map[string]any{"big": strings.Repeat("x", 1<<20)}, wantErr: "oidctest: claims are 1048"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token, err := s.MintWith(tt.opts, tt.claims)
			if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Errorf("MintWith() error = %v, want prefix %q", err, tt.wantErr)
			}
			if token != "" {
				t.Errorf("MintWith() token = %q, want empty on error", token)
			}
		})
	}
}

// esKeyID returns the kid of the published ES256 key.
func esKeyID(t *testing.T, s *Server) string {
	t.Helper()
	for _, k := range fetchKeys(t, s).Keys {
		if k.Algorithm == ES256 {
			return k.KeyID
		}
	}
	t.Fatalf("no ES256 key published")
	return ""
}
