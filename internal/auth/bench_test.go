package auth

import (
	"fmt"
	"maps"
	"runtime"
	"testing"

	"go.uber.org/zap"

	"github.com/stsbroker/broker/internal/oidctest"
)

// newBenchVerifier returns a verifier with the given cache size for a live
// issuer, its key and the issuer.
func newBenchVerifier(b *testing.B, cacheSize int) (*Verifier, testKey, *testIssuer, *testClock) {
	b.Helper()
	clock := newTestClock()
	key := newRSAKey(b, "k1")
	ti := newTestIssuer(b, key)
	v, err := New(b.Context(), Config{
		Issuers:           []IssuerConfig{ti.config("github")},
		Now:               clock.Now,
		Log:               zap.NewNop(),
		VerifiedCacheSize: cacheSize,
	})
	if err != nil {
		b.Fatalf("New() error = %v", err)
	}
	return v, key, ti, clock
}

// BenchmarkVerify is the cold path: full verification, with the verified
// cache disabled, so every call checks the RSA signature.
func BenchmarkVerify(b *testing.B) {
	v, key, ti, clock := newBenchVerifier(b, -1)
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

// BenchmarkVerifyUnique is the cold path with the cache enabled: every token
// is new, so each call verifies, hashes and stores (and, past the cache
// size, evicts).
func BenchmarkVerifyUnique(b *testing.B) {
	const n = 1024 // signed up front: signing is not what we measure
	// Half the tokens fit: every token is evicted before it comes back.
	v, key, ti, clock := newBenchVerifier(b, n/2)
	tokens := make([]string, n)
	for i := range tokens {
		c := ti.claims(clock.Now())
		c["run_id"] = fmt.Sprint(i)
		tokens[i] = sign(b, key, key.kid, c)
	}
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(b.Context(), tokens[i%n]); err != nil {
			b.Fatalf("Verify() error = %v", err)
		}
		i++
	}
	b.ReportMetric(float64(signatureChecks(b, v, "github"))/float64(b.N), "sig-checks/op")
}

// BenchmarkVerifyCached is the hit path: the same token again.
func BenchmarkVerifyCached(b *testing.B) {
	v, key, ti, clock := newBenchVerifier(b, 0)
	token := sign(b, key, key.kid, ti.claims(clock.Now()))
	if _, err := v.Verify(b.Context(), token); err != nil {
		b.Fatalf("Verify() error = %v", err)
	}
	checks := signatureChecks(b, v, "github")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(b.Context(), token); err != nil {
			b.Fatalf("Verify() error = %v", err)
		}
	}
	b.ReportMetric(float64(signatureChecks(b, v, "github")-checks)/float64(b.N), "sig-checks/op")
}

// BenchmarkVerifyCachedParallel is the hit path from every CPU, to show the
// cost of the cache's one mutex.
func BenchmarkVerifyCachedParallel(b *testing.B) {
	v, key, ti, clock := newBenchVerifier(b, 0)
	token := sign(b, key, key.kid, ti.claims(clock.Now()))
	if _, err := v.Verify(b.Context(), token); err != nil {
		b.Fatalf("Verify() error = %v", err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := v.Verify(b.Context(), token); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkVerifiedMemory reports the heap a remembered token costs: its
// identity (payload included), the cache entry and the map slot. The tokens
// carry GitHub Actions' claims, so the payload is of a real token's size.
func BenchmarkVerifiedMemory(b *testing.B) {
	const n = 5000
	v, key, ti, clock := newBenchVerifier(b, n)
	tokens := make([]string, n)
	for i := range tokens {
		c := ti.claims(clock.Now())
		maps.Copy(c, oidctest.GitHubActionsClaims("myorg/app", "refs/heads/main"))
		c["aud"], c["sub"], c["run_id"] = testAudience, testSubject, fmt.Sprint(1658821493+i)
		tokens[i] = sign(b, key, key.kid, c)
	}
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	var perToken float64
	for b.Loop() {
		b.StopTimer()
		v.Forget()
		before := heap()
		b.StartTimer()
		for _, tok := range tokens {
			if _, err := v.Verify(b.Context(), tok); err != nil {
				b.Fatalf("Verify() error = %v", err)
			}
		}
		b.StopTimer()
		if got := v.cache.len(); got != n {
			b.Fatalf("cache entries = %d, want %d", got, n)
		}
		perToken = (float64(heap()) - float64(before)) / n
		b.StartTimer()
	}
	b.ReportMetric(perToken, "B/token")
	b.ReportMetric(float64(len(tokens[0])), "token-bytes")
}
