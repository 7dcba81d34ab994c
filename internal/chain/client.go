package chain

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/logging"
	"github.com/aws/smithy-go/middleware"
	"go.uber.org/zap"
)

// ClientConfig configures the one STS client the broker shares between all
// chains.
type ClientConfig struct {
	// Region is the STS signing region and regional endpoint; required
	// unless the environment (AWS_REGION) sets one.
	Region string
	// Endpoint overrides the STS endpoint (sts.Options.BaseEndpoint), e.g.
	// the emulator's URL in tests.
	Endpoint string
	// HTTPClient carries STS requests; nil uses the SDK's default.
	HTTPClient *http.Client
	// MaxAttempts bounds the SDK standard retryer's attempts (default 3).
	MaxAttempts int
	// MaxBackoff bounds the SDK standard retryer's delay between attempts
	// (default 2s: a caller is waiting).
	MaxBackoff time.Duration
	// Log receives the SDK's own log lines (warnings such as the fallback
	// to IMDSv1 while looking for ambient credentials), which the SDK
	// would otherwise print as plain text on stderr; nil drops them.
	Log *zap.Logger
	// ObserveAttempt, when set, is called after every attempt the SDK makes
	// (a call retried twice is three attempts) with the action and the
	// attempt's outcome, as [RunnerConfig.Observe] names outcomes. Runner's
	// Observe sees the call once, after the retries: throttling that a
	// retry absorbed shows only here.
	ObserveAttempt func(action, outcome string)
}

const (
	defaultMaxAttempts = 3
	defaultMaxBackoff  = 2 * time.Second
)

// sdkLogger is the SDK's logger, writing to zap. The SDK logs no requests
// or responses unless its ClientLogMode asks (it does not here), so its
// lines are warnings and notes, without credentials.
type sdkLogger struct{ log *zap.Logger }

// Logf implements logging.Logger.
func (l sdkLogger) Logf(c logging.Classification, format string, v ...any) {
	level := zap.DebugLevel
	if c == logging.Warn {
		level = zap.WarnLevel
	}
	if ce := l.log.Check(level, "aws sdk"); ce != nil {
		ce.Write(zap.String("detail", fmt.Sprintf(format, v...)))
	}
}

// NewClient builds the one *sts.Client the broker shares, from the SDK's
// default configuration with our region, HTTP client and retry bounds. It
// also returns the default-chain credentials provider for the ambient source.
// That provider is lazy: start-up does not fail when no ambient credentials
// exist (a web_identity-only broker needs none); an ambient hop then fails
// when it signs.
//
// Retries, backoff and jitter are the SDK standard retryer's; the STS client
// already adds IDPCommunicationError to its retryable codes.
func NewClient(ctx context.Context, cfg ClientConfig) (*sts.Client, aws.CredentialsProvider, error) {
	attempts := cfg.MaxAttempts
	if attempts <= 0 {
		attempts = defaultMaxAttempts
	}
	backoff := cfg.MaxBackoff
	if backoff <= 0 {
		backoff = defaultMaxBackoff
	}
	log := cfg.Log
	if log == nil {
		log = zap.NewNop()
	}
	opts := []func(*config.LoadOptions) error{
		config.WithRetryer(newRetryer(attempts, backoff)),
		config.WithLogger(sdkLogger{log}),
	}
	if cfg.Region != "" {
		opts = append(opts, config.WithRegion(cfg.Region))
	}
	if cfg.HTTPClient != nil {
		opts = append(opts, config.WithHTTPClient(cfg.HTTPClient))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("chain: load aws config: %w", err)
	}
	if awsCfg.Region == "" {
		return nil, nil, errors.New("chain: no sts region configured")
	}
	client := sts.NewFromConfig(awsCfg, func(o *sts.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
		if cfg.ObserveAttempt != nil {
			o.APIOptions = append(o.APIOptions, observeAttempts(cfg.ObserveAttempt))
		}
	})
	return client, awsCfg.Credentials, nil
}

// SDKEndpoint returns the STS endpoint the AWS SDK's own configuration
// sets for region, "" when it sets none: AWS_ENDPOINT_URL_STS,
// AWS_ENDPOINT_URL, or endpoint_url in the shared config files, as the SDK
// resolves and ignores them. NewClient's Endpoint overrides it for the
// broker's calls; the SDK's default credential chain (the broker's own
// credentials, e.g. IRSA's web identity) uses it regardless.
func SDKEndpoint(ctx context.Context, region string) (string, error) {
	awsCfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(region))
	if err != nil {
		return "", fmt.Errorf("chain: load aws config: %w", err)
	}
	return aws.ToString(sts.NewFromConfig(awsCfg).Options().BaseEndpoint), nil
}

// newRetryer returns the SDK standard retryer (exponential backoff with
// jitter, retry quota) bounded by attempts and backoff.
func newRetryer(attempts int, backoff time.Duration) func() aws.Retryer {
	return func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = attempts
			o.MaxBackoff = backoff
		})
	}
}

// observeAttempts adds a step right inside the SDK's retry loop, so that it
// runs once per attempt and sees each attempt's error (deserialized, with
// STS's code) before the retryer decides.
func observeAttempts(observe func(action, outcome string)) func(*middleware.Stack) error {
	return func(st *middleware.Stack) error {
		return st.Finalize.Insert(middleware.FinalizeMiddlewareFunc("BrokerObserveAttempt",
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				out, md, err := next.HandleFinalize(ctx, in)
				outcome := "ok"
				if err != nil {
					code := ""
					var apiErr smithy.APIError
					if errors.As(err, &apiErr) {
						code = apiErr.ErrorCode()
					}
					outcome = outcomeLabel(code)
				}
				observe(awsmiddleware.GetOperationName(ctx), outcome)
				return out, md, err
			}), (&retry.Attempt{}).ID(), middleware.After)
	}
}
