package auth

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
)

// Verifier verifies OIDC tokens from a fixed set of issuers. It is safe for
// concurrent use.
type Verifier struct {
	cfg     Config
	issuers []*issuer
	byURL   map[string]*issuer
	byName  map[string]*issuer
	cache   *verifiedCache // nil when disabled

	bg *background // retries of issuers down at New, fetches requests started
	// refreshers runs the periodic key fetches (refresh). It is apart from
	// bg because bg's goroutines end by themselves once every issuer is
	// ready, while these run until Close.
	refreshers *background
}

// New validates cfg and builds one verifier per issuer, trying discovery and
// a first JWKS fetch for each; ctx bounds these first attempts only.
//
// An issuer that is down does not fail New, and [Verifier.Ready] is false
// until every issuer is initialised. Such an issuer is retried in the
// background, independently of requests, with a delay that starts at
// [Config.IssuerRetryMin] and doubles up to [Config.IssuerRetryMax] (with
// jitter), and by [Verifier.Verify] when a token for it arrives; all within
// the same limit of one attempt per JWKSRefetchInterval. The background
// retry of an issuer ends when it is initialised. Once initialised, an
// issuer's JWKS is fetched again every [Config.JWKSMaxAge]. The owner of the
// Verifier must call [Verifier.Close] when it stops using it.
func New(ctx context.Context, cfg Config) (*Verifier, error) {
	return build(ctx, cfg, nil)
}

// Reconfigure returns a new Verifier for issuers, with v's other settings.
// An issuer whose [IssuerConfig] is unchanged is carried over with its
// state: its keys stay installed, and Reconfigure neither rediscovers nor
// fetches it, so a reload that adds an issuer does not depend on the others
// answering at that moment (their periodic fetches go on by their keys'
// age). The others are built and tried as [New] does. The new Verifier
// remembers no verified token.
//
// v keeps working. Its owner closes it once the new Verifier is in use:
// [Verifier.Close] on v stops v's background work only (an attempt v
// started on a shared issuer is cancelled without costing it its
// interval), and the new Verifier retries the carried-over issuers that are
// still down and fetches their keys periodically.
func (v *Verifier) Reconfigure(ctx context.Context, issuers []IssuerConfig) (*Verifier, error) {
	cfg := v.cfg
	cfg.Issuers = issuers
	return build(ctx, cfg, v.issuers)
}

// build is [New], carrying over the issuers of prev whose configuration is
// unchanged.
func build(ctx context.Context, cfg Config, prev []*issuer) (*Verifier, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	v := &Verifier{
		cfg:    cfg,
		byURL:  make(map[string]*issuer, len(cfg.Issuers)),
		byName: make(map[string]*issuer, len(cfg.Issuers)),
		cache:  newVerifiedCache(cfg.VerifiedCacheSize),
	}
	var fresh []*issuer // built here, not carried over from prev
	for _, ic := range cfg.Issuers {
		ic.Audiences = slices.Clone(ic.Audiences)
		ic.Algorithms = slices.Clone(ic.Algorithms)
		var is *issuer
		if i := slices.IndexFunc(prev, func(p *issuer) bool { return p.cfg.equal(ic) }); i >= 0 {
			is = prev[i]
		} else {
			is = newIssuer(ic, cfg)
			fresh = append(fresh, is)
		}
		v.issuers = append(v.issuers, is)
		v.byURL[ic.URL] = is
		v.byName[ic.Name] = is
	}
	var wg sync.WaitGroup
	for _, is := range fresh {
		// Errors are logged by ensure and surface as Ready() == false.
		// A carried-over issuer gets no attempt here: it is ready, or
		// retried in the background below (an attempt the old verifier
		// started may be under way, until that verifier's Close).
		wg.Go(func() { _, _ = is.ensure(ctx, nil) })
	}
	wg.Wait()
	// The retries outlive New's ctx (often a start-up deadline): Close ends
	// them. WithoutCancel keeps ctx's values.
	v.bg = newBackground(context.WithoutCancel(ctx))
	v.refreshers = newBackground(context.WithoutCancel(ctx))
	for _, is := range v.issuers {
		if is.state.Load() == nil {
			v.bg.start(func(ctx context.Context) { v.retry(ctx, is) })
		}
		v.refreshers.start(func(ctx context.Context) { v.refresh(ctx, is) })
	}
	return v, nil
}

// Close stops the Verifier's background work: the retries of issuers that
// were down when it was built, its periodic key fetches
// ([Config.JWKSMaxAge]) and the key fetches requests started and stopped
// waiting for. It cancels them and waits for them to end. The owner must
// call it when it stops using the Verifier: on shutdown, and on the
// verifier a reload replaced (not on one the reload kept). Close may be
// called more than once, and concurrently. After Close the Verifier still
// verifies; an issuer still down is then retried only by Verify, as tokens
// for it arrive, within the request's own deadline, and, unless a newer
// Verifier shares the issuer, its keys are fetched again only for a token
// with an unknown kid.
func (v *Verifier) Close() {
	if v.bg != nil {
		v.bg.close()
		v.refreshers.close()
	}
}

// Ready reports whether every issuer has been initialised: discovery (if
// used) succeeded and its keys were fetched once.
func (v *Verifier) Ready() bool { return len(v.Unready()) == 0 }

// Unready returns the names of the issuers not initialised yet, in
// configuration order; none when [Verifier.Ready].
func (v *Verifier) Unready() []string {
	var names []string
	for _, is := range v.issuers {
		if is.state.Load() == nil {
			names = append(names, is.cfg.Name)
		}
	}
	return names
}

// Forget drops every verified token, so that the next Verify of each is a
// full verification returning a new *Identity. A reload calls it when it
// keeps the verifier: values derived from the old configuration
// ([Identity.Derive]: prepared plans, with their ExternalIds) are then no
// longer reachable once the requests that hold them finish.
func (v *Verifier) Forget() {
	if v.cache != nil {
		v.cache.clear()
	}
}

// Verify checks raw and returns the verified identity. Every error is a
// *[TokenError] whose Reason says why the token was rejected.
//
// A token that passed full verification is remembered (by its SHA-256, see
// [Config.VerifiedCacheSize]); the same token again skips the parsing and
// the signature check, but not its exp, nbf and iat, which are checked
// exactly as the first time. The returned *Identity may then be the one
// returned before, shared between callers: it must not be modified.
func (v *Verifier) Verify(ctx context.Context, raw string) (*Identity, error) {
	if raw == "" {
		return nil, &TokenError{Reason: ReasonMissing}
	}
	// Security: bound the input before any parsing (CVE-2025-27144: a huge
	// token with many dots made go-jose allocate without limit).
	if len(raw) > v.cfg.MaxTokenBytes {
		return nil, &TokenError{Reason: ReasonTooLarge,
			Err: fmt.Errorf("%d bytes exceed the limit of %d", len(raw), v.cfg.MaxTokenBytes)}
	}
	if v.cache == nil {
		return v.verifyFull(ctx, raw, nil)
	}
	sum := sumToken(raw)
	id, err := v.cache.get(sum, v.cfg.Now(), v.cfg.Skew)
	if id != nil || err != nil {
		return id, err
	}
	return v.verifyFull(ctx, raw, &sum)
}

// verifyFull verifies raw from scratch. If sum is not nil, a verified token
// is stored in the cache under it.
func (v *Verifier) verifyFull(ctx context.Context, raw string, sum *digest) (*Identity, error) {
	u, err := parseUnverified(raw)
	if err != nil {
		return nil, &TokenError{Reason: ReasonMalformed, Err: err}
	}
	// Security: "none" and HS* are rejected here, before any issuer lookup,
	// so they can never reach a key or cause a fetch (RFC 8725 §3.1).
	if !supportedAlgs[u.alg] {
		return nil, &TokenError{Reason: ReasonAlgorithm, Err: errors.New("algorithm not supported")}
	}
	// Security: the unverified iss only picks the verifier; go-oidc checks
	// the signed iss against it below. An unknown issuer is rejected without
	// any network request, so tokens cannot make us fetch from arbitrary URLs.
	is, ok := v.byURL[u.iss]
	if !ok {
		return nil, &TokenError{Reason: ReasonUnknownIssuer}
	}
	// Security: pin the algorithm per issuer (RFC 8725 §3.1) before keys are
	// looked up; go-oidc enforces the same list again when parsing.
	if is.static != nil && !slices.Contains(is.static, u.alg) {
		return nil, &TokenError{Reason: ReasonAlgorithm, Err: errors.New("algorithm not allowed for issuer")}
	}
	st, err := is.ensure(ctx, v.bg)
	if err != nil {
		return nil, &TokenError{Reason: ReasonIssuerDown, Err: err}
	}
	if !slices.Contains(st.algs, u.alg) {
		return nil, &TokenError{Reason: ReasonAlgorithm, Err: errors.New("algorithm not allowed for issuer")}
	}
	// Security: the token is cached only if the issuer's keys did not
	// change during the check: then the keys that verified it are the ones
	// installed at gen, and a hit is valid exactly while gen is current. (A
	// key set fetches and installs in one step, and bumps its generation
	// with every change of its keys.)
	gen := st.keys.generation()
	id, life, err := v.verifySigned(ctx, is, st, raw)
	if err != nil {
		return nil, err
	}
	if sum != nil && st.keys.generation() == gen {
		v.cache.put(&cacheEntry{sum: *sum, id: id, keys: st.keys, gen: gen, life: life})
	}
	return id, nil
}

// verifySigned checks the signature and issuer with go-oidc, then audience
// and lifetime, and decodes the claims. It also returns the lifetime it
// checked, for the verified cache to check again on each hit.
func (v *Verifier) verifySigned(ctx context.Context, is *issuer, st *issuerState, raw string) (*Identity, lifetime, error) {
	note := &keyNote{}
	tok, err := st.verifier.Verify(context.WithValue(ctx, keyNoteKey{}, note), raw)
	if err != nil {
		if note.err != nil {
			// note.err, not go-oidc's err, which flattened it into a
			// string: a fetch cut by the request's cancellation must stay
			// visible to errors.Is (the API answers 499 for it).
			return nil, lifetime{}, &TokenError{Reason: keyErrReason(note.err), Err: note.err}
		}
		// The key set was not reached (go-jose rejected the JWS), or the
		// signed claims do not decode: either way the token is malformed.
		return nil, lifetime{}, &TokenError{Reason: ReasonMalformed, Err: err}
	}
	var payload json.RawMessage
	if err := tok.Claims(&payload); err != nil {
		return nil, lifetime{}, &TokenError{Reason: ReasonMalformed, Err: fmt.Errorf("claims: %w", err)}
	}
	claims, err := decodeClaims(payload)
	if err != nil {
		return nil, lifetime{}, &TokenError{Reason: ReasonMalformed, Err: err}
	}
	// Security: go-oidc read iss, sub, aud, exp and iat from the payload
	// case-insensitively; we read the claims by exact key. Refuse a payload
	// on which the two could disagree (see checkClaimNames).
	if err := checkClaimNames(claims); err != nil {
		return nil, lifetime{}, &TokenError{Reason: ReasonMalformed, Err: err}
	}
	// Security: aud must name one of this issuer's audiences (RFC 8725 §3.9),
	// so a token minted for another relying party is refused.
	if !slices.ContainsFunc(tok.Audience, func(a string) bool { return slices.Contains(is.cfg.Audiences, a) }) {
		return nil, lifetime{}, &TokenError{Reason: ReasonAudience}
	}
	// Security: sub names the caller. It is part of every cache key and rate
	// limit and of the audit log; without it, all sub-less tokens of an
	// issuer would be one identity (RFC 8725 §3.11 leaves this to us).
	if tok.Subject == "" {
		return nil, lifetime{}, &TokenError{Reason: ReasonNoSubject}
	}
	// go-oidc reads exp and iat; we read nbf, whose leeway go-oidc fixes at
	// 5 minutes (wire-facts §7.3). go-oidc also takes a quoted number
	// ("exp": "1700000000"), which is no NumericDate (RFC 7519 §2): all
	// three are held to the same rule, a JSON number.
	nbf, _, err := numericDate(claims, "nbf")
	if err != nil {
		return nil, lifetime{}, &TokenError{Reason: ReasonMalformed, Err: err}
	}
	// The lifetime is built from these, not from go-oidc's tok.Expiry and
	// tok.IssuedAt: the same values for dates up to year 9999, which is
	// all numericDate lets through.
	exp, _, err := numericDate(claims, "exp")
	if err != nil {
		return nil, lifetime{}, &TokenError{Reason: ReasonMalformed, Err: err}
	}
	iat, _, err := numericDate(claims, "iat")
	if err != nil {
		return nil, lifetime{}, &TokenError{Reason: ReasonMalformed, Err: err}
	}
	life := lifetime{exp: exp, nbf: nbf, iat: iat}
	if err := life.check(v.cfg.Now(), v.cfg.Skew); err != nil {
		return nil, lifetime{}, err
	}
	return &Identity{
		Issuer:    is.cfg.Name,
		IssuerURL: tok.Issuer,
		Subject:   tok.Subject,
		Audience:  slices.Clone(tok.Audience),
		Expiry:    tok.Expiry,
		Payload:   payload,
	}, life, nil
}

// sumToken is the SHA-256 of raw. It runs on every request; a token of up to
// 4 KiB (GitHub, GitLab and Kubernetes tokens are 1-2 KiB) is hashed from a
// copy on the stack instead of a []byte conversion on the heap.
func sumToken(raw string) digest {
	var buf [4 << 10]byte
	var b []byte
	if len(raw) > len(buf) {
		b = []byte(raw)
	} else {
		b = buf[:copy(buf[:], raw)]
	}
	sum := sha256.Sum256(b)
	clear(b) // a bearer token: do not leave a copy behind
	return sum
}
