package api

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/stsbroker/broker/internal/auth"
	"github.com/stsbroker/broker/internal/chain"
	"github.com/stsbroker/broker/internal/oidctest"
	"github.com/stsbroker/broker/internal/ststest"
)

// benchBroker is the broker's real handler over a real issuer and emulator,
// built as newTestBroker builds it (which needs a *testing.T), for the
// hot-path benchmarks. Requests are served in process, without a network.
type benchBroker struct {
	handler http.Handler
	emu     *ststest.Server
	token   string
}

// newBenchBroker builds the handler; log receives access and audit lines.
func newBenchBroker(b *testing.B, log *zap.Logger) *benchBroker {
	b.Helper()
	issuer := oidctest.Start(b, oidctest.Options{})
	emu := ststest.Start(b, ststest.Options{})
	if err := emu.LoadSeed(issuer.URL()); err != nil {
		b.Fatalf("LoadSeed() = %v", err)
	}
	verifier, err := auth.New(b.Context(), auth.Config{
		Issuers: []auth.IssuerConfig{{Name: "github", URL: issuer.URL(), Audiences: []string{"sts.amazonaws.com"}}},
	})
	if err != nil {
		b.Fatalf("auth.New() = %v", err)
	}
	set := newProfileSet(b, seedProfiles())
	metrics := NewMetrics()
	runner := chain.NewRunner(chain.RunnerConfig{
		STS:     sts.New(sts.Options{Region: "us-east-1", BaseEndpoint: aws.String(emu.URL())}),
		Ambient: credentials.NewStaticCredentialsProvider("unused", "unused", ""),
		Observe: metrics.ObserveSTS,
	})
	cache, err := chain.NewCache(chain.CacheConfig{Runner: runner})
	if err != nil {
		b.Fatalf("NewCache() = %v", err)
	}
	b.Cleanup(cache.Close)
	srv, err := New(Config{Verifier: verifier, Profiles: set, Cache: cache, Metrics: metrics, Log: log, Audit: log})
	if err != nil {
		b.Fatalf("New() = %v", err)
	}
	// RS256, as GitHub Actions signs; long enough for any benchmark run.
	token, err := issuer.MintWith(oidctest.MintOptions{TTL: oidctest.MaxTTL},
		oidctest.GitHubActionsClaims("myorg/app", "refs/heads/main"))
	if err != nil {
		b.Fatalf("MintWith() = %v", err)
	}
	bb := &benchBroker{handler: srv.Handler(), emu: emu, token: token}
	bb.get(b) // fill the cache: the benchmark measures hits
	return bb
}

// get serves one credentials request and fails b unless it is a 200.
func (bb *benchBroker) get(b *testing.B) {
	// Not httptest.NewRequest: its 4 KiB bufio.Reader per call would be a
	// fifth of the allocations measured.
	req, err := http.NewRequestWithContext(b.Context(), http.MethodGet, "/v1/credentials/prod-deploy", nil)
	if err != nil {
		b.Fatalf("NewRequest() = %v", err)
	}
	req.RemoteAddr = "127.0.0.1:40000"
	req.Header.Set("Authorization", "Bearer "+bb.token)
	rec := httptest.NewRecorder()
	bb.handler.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		b.Fatalf("GET /v1/credentials/prod-deploy = %d %s, want 200", rec.Code, rec.Body)
	}
}

func (bb *benchBroker) stsCalls() int {
	return bb.emu.Calls("AssumeRoleWithWebIdentity") + bb.emu.Calls("AssumeRole")
}

// jsonLogger is the production encoder of `broker serve`, writing nowhere.
func jsonLogger() *zap.Logger {
	enc := zap.NewProductionEncoderConfig()
	layout := zapcore.TimeEncoderOfLayout("2006-01-02T15:04:05.000Z07:00") // cmd/broker's logTime
	enc.EncodeTime = func(t time.Time, e zapcore.PrimitiveArrayEncoder) { layout(t.UTC(), e) }
	return zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(enc), zapcore.AddSync(io.Discard), zap.InfoLevel))
}

// BenchmarkCredentialsHit is one identity's cache hit through the whole
// handler: token verification (RS256), authorization, rendering, cache
// lookup, JSON answer. Logs are dropped unencoded.
func BenchmarkCredentialsHit(b *testing.B) {
	benchmarkHit(b, zap.NewNop())
}

// BenchmarkCredentialsHitJSONLogs adds the cost of encoding the access-log
// and audit lines that `broker serve` writes for every request.
func BenchmarkCredentialsHitJSONLogs(b *testing.B) {
	benchmarkHit(b, jsonLogger())
}

func benchmarkHit(b *testing.B, log *zap.Logger) {
	bb := newBenchBroker(b, log)
	before := bb.stsCalls()
	b.ReportAllocs()
	for b.Loop() {
		bb.get(b)
	}
	b.ReportMetric(float64(bb.stsCalls()-before)/float64(b.N), "sts-calls/op")
}

// BenchmarkCredentialsHitParallel is BenchmarkCredentialsHit from
// GOMAXPROCS goroutines: contention on the cache and the verifier.
func BenchmarkCredentialsHitParallel(b *testing.B) {
	bb := newBenchBroker(b, zap.NewNop())
	before := bb.stsCalls()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			bb.get(b)
		}
	})
	b.ReportMetric(float64(bb.stsCalls()-before)/float64(b.N), "sts-calls/op")
}
