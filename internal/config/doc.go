// Package config loads, expands and validates the broker's YAML configuration.
//
// It is the only package that knows YAML. [Load] reads a file (at most
// [MaxFileSize] bytes) and hands it to [Parse], which
//
//  1. decodes exactly one YAML document strictly: an unknown or misspelt key is
//     an error that names the file, the line and the key
//     ("configs/prod.yaml: line 12: server.tsl: unknown key (known here: addr, …)");
//  2. applies defaults (server.addr 127.0.0.1:8080, aws.region us-east-1,
//     cache 10000 entries / refresh_before 30m / min_remaining 20m, hop
//     duration 1h, source web_identity, audit sink stderr);
//  3. resolves each hop's ExternalId into a [chain.Secret]: a literal, a
//     ${env:VAR} reference or an external_id_file. ${env:…} is expanded in
//     external_id and nowhere else, so no other value can pull a secret out of
//     the environment by surprise (decoding refuses ${env:…} elsewhere,
//     where it would be taken literally);
//  4. runs [Config.Validate], which reports every problem at once, one line
//     each, naming the key path:
//     "profiles.prod-deploy.chain[1].duration: 2h exceeds the 1h role-chaining limit".
//
// Validate is pure (no I/O, no globals, no logging); the network checks
// (discovery, JWKS) happen at start-up in the auth package.
//
// Secrets never reach an error message or a dump of [Config]: a resolved
// ExternalId lives only in [Hop.ExternalID], whose type prints "[redacted]",
// and [Hop.RawExternalID] is cleared once resolved.
//
// Only cmd/broker imports this package; it translates a Config into the types
// of auth, profile and chain at start-up.
package config
