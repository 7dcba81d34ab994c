package auth

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"go.uber.org/zap"
)

// background owns the verifier's goroutines that outlive a call: the
// retries of issuers down at New, and the initialisations requests start
// and may stop waiting for. close cancels their context and waits for them.
type background struct {
	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
}

func newBackground(parent context.Context) *background {
	ctx, cancel := context.WithCancel(parent)
	return &background{ctx: ctx, cancel: cancel}
}

// start runs f on the background context in a goroutine close waits for,
// or reports false once closed. The WaitGroup's Add happens under mu
// while closed is false, so it never races with close's Wait.
func (b *background) start(f func(ctx context.Context)) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return false
	}
	b.wg.Go(func() { f(b.ctx) })
	return true
}

// close cancels the goroutines and waits for them. It may be called more
// than once, and concurrently.
func (b *background) close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.cancel()
	b.wg.Wait()
}

// retry initialises is in the background until it succeeds (or a request
// does), or until ctx is done (by [Verifier.Close]). Each attempt goes
// through [issuer.ensure], so it counts towards, and is refused by, the same
// one attempt per JWKSRefetchInterval as the attempts requests make: the
// issuer never sees more than one attempt per interval from this verifier.
//
// Without it, an issuer that was down at [New] would only be retried when a
// token for it arrives, and a broker behind a readiness probe gets none
// until it is ready: it would stay unready for good after the issuer came
// back.
func (v *Verifier) retry(ctx context.Context, is *issuer) {
	delay := v.cfg.IssuerRetryMin
	for {
		// Wake no sooner than the rate limit allows an attempt (measured on
		// the injected clock), but at least every IssuerRetryMax, so that a
		// clock that jumps ahead is noticed.
		wait := max(jitter(delay), min(is.attempts.remaining(), v.cfg.IssuerRetryMax))
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-is.ready:
			timer.Stop()
			return
		case <-timer.C:
		}
		// Errors are logged by ensure; a refusal by the rate limit costs no
		// request.
		if _, err := is.ensure(ctx, nil); err == nil {
			return
		}
		delay = min(2*delay, v.cfg.IssuerRetryMax)
	}
}

// refresh keeps the keys of is at most JWKSMaxAge old once it is
// initialised, until ctx is done (by [Verifier.Close]); see
// [Config.JWKSMaxAge]. The age is the key set's, shared by the verifiers
// before and after a reload, so reloads do not postpone a fetch. A failed
// fetch keeps the installed keys and is tried again after
// IssuerRetryMax; one cut by Close is not logged.
func (v *Verifier) refresh(ctx context.Context, is *issuer) {
	select {
	case <-ctx.Done():
		return
	case <-is.ready:
	}
	keys := is.state.Load().keys
	for {
		// Brokers started together do not fetch in step: each fetch is
		// due at 80 to 100 % of the maximum age.
		wait, err := keys.refresh(ctx, jitter(v.cfg.JWKSMaxAge))
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			is.log.Warn("issuer keys not refreshed; the installed ones stay in use", zap.Error(err))
			wait = min(v.cfg.JWKSMaxAge, v.cfg.IssuerRetryMax)
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
	}
}

// jitter returns d shortened by up to a fifth at random, so that brokers
// started together with the issuer down do not retry in step.
func jitter(d time.Duration) time.Duration {
	if d < 5 {
		return d
	}
	return d - rand.N(d/5)
}
