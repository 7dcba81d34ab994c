package oidctest

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRotation(t *testing.T) {
	s := Start(t, Options{})
	initial := kids(fetchKeys(t, s))
	oldKID := initial[0] // the RS256 key

	// A verifier that cached the old key set picks up a new key on first sight of its kid.
	early := newVerifier(t, s, nil)
	if _, err := early.Verify(t.Context(), mustMint(t, s, MintOptions{}, nil)); err != nil {
		t.Fatalf("Verify(old key) error = %v, want nil", err)
	}

	newKID, err := s.AddKey(RS256)
	if err != nil {
		t.Fatalf("AddKey(RS256) error = %v", err)
	}
	if diff := cmp.Diff(slices.Concat(initial, []string{newKID}), kids(fetchKeys(t, s))); diff != "" {
		t.Errorf("JWKS after AddKey mismatch (-want +got):\n%s", diff)
	}
	newToken := mustMint(t, s, MintOptions{}, nil)
	if header, _ := segments(t, newToken); header["kid"] != newKID {
		t.Errorf("Mint() after AddKey kid = %v, want %q", header["kid"], newKID)
	}
	fetched := s.Requests(KeysPath)
	if _, err := early.Verify(t.Context(), newToken); err != nil {
		t.Errorf("cached Verify(new key) error = %v, want nil", err)
	}
	if got := s.Requests(KeysPath) - fetched; got != 1 {
		t.Errorf("JWKS fetches for a new kid = %d, want 1", got)
	}

	if err := s.RetireKey(oldKID); err != nil {
		t.Fatalf("RetireKey(%q) error = %v", oldKID, err)
	}
	if diff := cmp.Diff([]string{initial[1], newKID}, kids(fetchKeys(t, s))); diff != "" {
		t.Errorf("JWKS after RetireKey mismatch (-want +got):\n%s", diff)
	}
	oldToken := mustMint(t, s, MintOptions{KeyID: oldKID}, nil)

	fresh := newVerifier(t, s, nil)
	if _, err := fresh.Verify(t.Context(), newToken); err != nil {
		t.Errorf("fresh Verify(new key) error = %v, want nil", err)
	}
	_, err = fresh.Verify(t.Context(), oldToken)
	if want := "failed to verify id token signature"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("fresh Verify(retired key) error = %v, want one containing %q", err, want)
	}
}

func TestRetireLastKey(t *testing.T) {
	s := Start(t, Options{})
	esKID := esKeyID(t, s)
	if err := s.RetireKey(esKID); err != nil {
		t.Fatalf("RetireKey(%q) error = %v", esKID, err)
	}
	if err := s.RetireKey(esKID); err != nil {
		t.Errorf("RetireKey(%q) again error = %v, want nil", esKID, err)
	}
	_, err := s.MintWith(MintOptions{Alg: ES256}, nil)
	if want := "oidctest: no published ES256 key"; err == nil || err.Error() != want {
		t.Errorf("MintWith(ES256) with no ES256 key error = %v, want %q", err, want)
	}
	if _, err := s.MintWith(MintOptions{KeyID: esKID}, nil); err != nil {
		t.Errorf("MintWith(KeyID: retired) error = %v, want nil", err)
	}
}

func TestKeyErrors(t *testing.T) {
	s := Start(t, Options{})

	if _, err := s.AddKey("HS256"); err == nil || err.Error() != `oidctest: unsupported key algorithm "HS256" (want RS256 or ES256)` {
		t.Errorf("AddKey(HS256) error = %v, want unsupported key algorithm", err)
	}
	if err := s.RetireKey("nope"); err == nil || err.Error() != `oidctest: retire key: unknown kid "nope"` {
		t.Errorf("RetireKey(nope) error = %v, want unknown kid", err)
	}
	for range maxKeys - 2 {
		if _, err := s.AddKey(ES256); err != nil {
			t.Fatalf("AddKey(ES256) error = %v", err)
		}
	}
	want := fmt.Sprintf("oidctest: key limit of %d reached", maxKeys)
	if _, err := s.AddKey(ES256); err == nil || err.Error() != want {
		t.Errorf("AddKey(ES256) beyond the limit error = %v, want %q", err, want)
	}
	if got := len(fetchKeys(t, s).Keys); got != maxKeys {
		t.Errorf("JWKS has %d keys, want %d", got, maxKeys)
	}
}

// TestConcurrentUse exercises minting, rotation and serving together under the race detector.
func TestConcurrentUse(t *testing.T) {
	s := Start(t, Options{})
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 10 {
		wg.Go(func() {
			if _, err := s.MintWith(MintOptions{Alg: ES256}, map[string]any{"n": i}); err != nil {
				errs <- err
			}
		})
		wg.Go(func() {
			kid, err := s.AddKey(ES256)
			if err == nil {
				err = s.RetireKey(kid)
			}
			if err != nil {
				errs <- err
			}
		})
		wg.Go(func() {
			s.SetAvailable(i%2 == 0)
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, s.URL()+KeysPath, nil)
			if err == nil {
				var resp *http.Response
				if resp, err = httpClient().Do(req); err == nil {
					resp.Body.Close()
				}
			}
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent use error = %v", err)
	}
	if got := s.Requests(KeysPath); got != 10 {
		t.Errorf("Requests(%q) = %d, want 10", KeysPath, got)
	}
}
