package main

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/stsbroker/broker/internal/auth"
	"github.com/stsbroker/broker/internal/chain"
	"github.com/stsbroker/broker/internal/config"
)

// reload re-reads the configuration at path and swaps in its issuers and
// profiles. An invalid file changes nothing: the running configuration
// stays. Sections that shape listeners, the STS client and the cache
// (server, aws, cache, audit) need a restart; a reload that changes them
// applies the rest and names them in the log. The cache is kept, so entries
// of profiles whose rendered chain did not change survive.
func (b *broker) reload(ctx context.Context, path string) error {
	next, err := config.Load(path)
	if err != nil {
		return fmt.Errorf("reload: invalid configuration, keeping the running one: %w", err)
	}
	// The sections a reload does not apply stay as they run, so the new
	// issuers and profiles must fit them, not the file's own: a hop shorter
	// than the running cache.refresh_before would otherwise be accepted and
	// then never be cached.
	stale := restartOnly(b.cfg, next)
	next.Server, next.AWS, next.Cache, next.Audit = b.cfg.Server, b.cfg.AWS, b.cfg.Cache, b.cfg.Audit
	if len(stale) > 0 {
		if err := next.Validate(); err != nil {
			return fmt.Errorf("reload: the new file does not fit the running %s (they need a restart), keeping the running configuration: %w",
				strings.Join(stale, ", "), err)
		}
	}
	profiles, err := buildProfiles(next)
	if err != nil {
		return fmt.Errorf("reload: keeping the running configuration: %w", err)
	}
	verifier := b.verifier
	if !reflect.DeepEqual(next.Issuers, b.cfg.Issuers) {
		// New and changed issuers: fetch their keys before the swap.
		// Unchanged ones keep theirs and are not asked again, so a reload
		// does not depend on them answering now.
		if verifier, err = b.verifier.Reconfigure(ctx, issuerConfigs(next)); err != nil {
			return fmt.Errorf("reload: keeping the running configuration: %w", err)
		}
		if lost := lostIssuers(b.verifier, verifier, b.cfg, next); len(lost) > 0 {
			verifier.Close()
			return fmt.Errorf("reload: the keys of issuer %s cannot be fetched now; keeping the running configuration (send SIGHUP again once they can)",
				strings.Join(lost, ", "))
		}
	}
	if err := b.api.Reload(verifier, profiles); err != nil {
		if verifier != b.verifier {
			verifier.Close()
		}
		return err
	}
	if verifier != b.verifier {
		// Requests still running may use the old one, which still
		// verifies; Close stops only its own background work (retries,
		// periodic fetches): the issuers it shares with the new one carry
		// on under the new one.
		b.verifier.Close()
	}
	if len(stale) > 0 {
		b.opts.Log.Warn("configuration reloaded, but these sections need a restart to change", zap.Strings("sections", stale))
	}
	if added := newAmbient(b.cfg, next); len(added) > 0 {
		warnWithoutAmbient(ctx, b.ambient, added, time.Duration(next.AWS.CallTimeout), b.opts.Log)
	}
	b.cfg, b.verifier = next, verifier
	b.opts.Log.Info("configuration reloaded", zap.Int("profiles", len(next.Profiles)), zap.Int("issuers", len(next.Issuers)))
	if down := verifier.Unready(); len(down) > 0 {
		b.opts.Log.Warn("issuers' keys cannot be fetched yet; not ready until they can", zap.Strings("issuers", down))
	}
	return nil
}

// lostIssuers names the issuers of nextCfg that the reload's verifier next
// could not initialise and whose loss would make things worse than they
// run now: every one of them while cur is ready (swapping next in would
// take the broker out of rotation, every tenant with it, until they come
// back), and while cur is not ready, the ones whose URL cur serves under
// any name (a changed or renamed issuer whose keys cannot be fetched now
// would stop tokens that work). An issuer whose URL is down in cur too, or
// new, is no loss while cur is not ready: refusing it would keep a broker
// that serves nobody from taking a fix.
func lostIssuers(cur, next *auth.Verifier, running, nextCfg *config.Config) []string {
	// cur first: a carried-over issuer may come up meanwhile (shared, it
	// then is up in both), and must not count as down in next but up in cur.
	curDown := cur.Unready()
	down := next.Unready()
	if len(curDown) == 0 {
		return down
	}
	served := map[string]bool{} // URLs cur has keys for
	for _, is := range running.Issuers {
		if !slices.Contains(curDown, is.Name) {
			served[is.URL] = true
		}
	}
	var lost []string
	for _, is := range nextCfg.Issuers {
		if slices.Contains(down, is.Name) && served[is.URL] {
			lost = append(lost, is.Name)
		}
	}
	return lost
}

// restartOnly names the sections of next that differ from cur and that a
// reload does not apply.
func restartOnly(cur, next *config.Config) []string {
	var out []string
	for _, s := range []struct {
		name      string
		cur, next any
	}{
		{"server", cur.Server, next.Server},
		{"aws", cur.AWS, next.AWS},
		{"cache", cur.Cache, next.Cache},
		{"audit", cur.Audit, next.Audit},
	} {
		if !reflect.DeepEqual(s.cur, s.next) {
			out = append(out, s.name)
		}
	}
	return out
}

// reloadOn runs reloads for each value on signals until ctx is done; it is
// the only goroutine that calls b.reload, so reloads never overlap.
func (b *broker) reloadOn(ctx context.Context, path string, signals <-chan struct{}) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-signals:
			if err := b.reload(ctx, path); err != nil {
				b.opts.Log.Error("configuration reload refused", zap.Error(err))
			}
		}
	}
}

// newAmbient names the ambient profiles of next that cur did not have as
// ambient, sorted: the ones a reload should check the broker's own
// credentials for.
func newAmbient(cur, next *config.Config) []string {
	var added []string
	for _, name := range ambientProfiles(next) {
		if p, ok := cur.Profiles[name]; !ok || p.SourceKind() != chain.Ambient {
			added = append(added, name)
		}
	}
	return added
}
