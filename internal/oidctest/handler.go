package oidctest

import (
	"context"
	"encoding/json"
	"net/http"
	"time"
)

// discovery is the subset of OpenID Provider Metadata (OIDC Discovery 1.0 §3) that
// verifiers read, plus the fields the spec marks REQUIRED.
type discovery struct {
	Issuer                           string   `json:"issuer"`
	AuthorizationEndpoint            string   `json:"authorization_endpoint"`
	TokenEndpoint                    string   `json:"token_endpoint"`
	JWKSURI                          string   `json:"jwks_uri"`
	ResponseTypesSupported           []string `json:"response_types_supported"`
	SubjectTypesSupported            []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported []string `json:"id_token_signing_alg_values_supported"`
	ClaimsSupported                  []string `json:"claims_supported"`
}

// routes returns the handler for every request. Only GET on the two known paths succeeds.
func (s *Server) routes() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var serve func(http.ResponseWriter)
		switch r.URL.Path {
		case DiscoveryPath:
			s.discoveryN.Add(1)
			serve = s.handleDiscovery
		case KeysPath:
			s.keysN.Add(1)
			serve = s.handleKeys
		}
		if serve != nil && !s.wait(r.Context()) {
			http.Error(w, "issuer answer abandoned", http.StatusServiceUnavailable)
			return
		}
		switch {
		case !s.available.Load():
			http.Error(w, "issuer unavailable", http.StatusServiceUnavailable)
		case serve == nil:
			http.NotFound(w, r)
		case r.Method != http.MethodGet:
			w.Header().Set("Allow", http.MethodGet)
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		default:
			serve(w)
		}
	})
}

// wait holds a request for the latency set by [Server.SetLatency]. It reports whether the
// request is still to be answered: false if ctx ended or the server began closing first.
func (s *Server) wait(ctx context.Context) bool {
	d := time.Duration(s.latency.Load())
	if d <= 0 {
		return true
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	case <-s.closing:
		return false
	}
}

func (s *Server) handleDiscovery(w http.ResponseWriter) {
	writeJSON(w, discovery{
		Issuer:                           s.url,
		AuthorizationEndpoint:            s.url + "/auth",
		TokenEndpoint:                    s.url + "/token",
		JWKSURI:                          s.url + KeysPath,
		ResponseTypesSupported:           []string{"id_token"},
		SubjectTypesSupported:            []string{"public"},
		IDTokenSigningAlgValuesSupported: []string{RS256, ES256},
		ClaimsSupported:                  []string{"iss", "sub", "aud", "exp", "iat", "nbf", "jti"},
	})
}

func (s *Server) handleKeys(w http.ResponseWriter) {
	writeJSON(w, s.publicKeySet())
}

// writeJSON writes v with status 200. Every value written here is built by this package
// and marshals without error; should one not, the client gets a 500 rather than a partial body.
func writeJSON(w http.ResponseWriter, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}
