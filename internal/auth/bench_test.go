package auth

import (
	"testing"

	"go.uber.org/zap"
)

func BenchmarkVerify(b *testing.B) {
	clock := newTestClock()
	key := newRSAKey(b, "k1")
	ti := newTestIssuer(b, key)
	v, err := New(b.Context(), Config{Issuers: []IssuerConfig{ti.config("github")}, Now: clock.Now, Log: zap.NewNop()})
	if err != nil {
		b.Fatalf("New() error = %v", err)
	}
	token := sign(b, key, key.kid, ti.claims(clock.Now()))
	before := ti.totalRequests()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(b.Context(), token); err != nil {
			b.Fatalf("Verify() error = %v", err)
		}
	}
	b.ReportMetric(float64(ti.totalRequests()-before)/float64(b.N), "issuer-requests/op")
}
