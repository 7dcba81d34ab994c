package api

import (
	"context"
	"encoding/json"
	"net/http"
)

// profilesOutput is the answer of GET /v1/profiles.
type profilesOutput struct {
	Profiles []string `json:"profiles"`
}

// handleProfiles lists the profiles the caller's token may use.
func (s *Server) handleProfiles(w http.ResponseWriter, r *http.Request) error {
	if len(r.URL.RawQuery) > 0 {
		return badRequest("this endpoint takes no query parameters")
	}
	token, err := s.requestToken(r, false)
	if err != nil {
		return err
	}
	// Verification may wait on the issuer (keys being fetched): bounded
	// like a credentials request.
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
	defer cancel()
	st := s.current.Load()
	id, err := s.verify(ctx, st.verifier, token)
	if err != nil {
		return err
	}
	if rec := recordFrom(r.Context()); rec != nil {
		rec.issuer, rec.subject = id.Issuer, id.Subject
	}
	if err := s.allowIdentity(id); err != nil {
		return s.refuse(r, err)
	}
	names, err := st.profiles.Allowed(id)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	return json.NewEncoder(w).Encode(profilesOutput{Profiles: names})
}
