// Package api is the broker's HTTP surface: the chi routes of design.md, the
// output formats (credential_process, container credentials, shell exports),
// the one mapping from domain errors to HTTP status and error code, and the
// middleware that bounds, logs and measures every request.
//
// A credentials request runs, in order: extract and bound the token, verify
// it ([auth.Verifier]), resolve the profile, authorize the identity, render
// the hop plan ([profile.Profile]), get credentials from the cache
// ([chain.Cache]), encode. Each step returns a typed error; only errors.go
// decides what the client sees.
package api
