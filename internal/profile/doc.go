// Package profile is where a verified caller meets a chain of roles.
//
// A [Profile] joins three things: the claim conditions of package auth that
// decide who may use it ([Profile.Authorize]), Go text/template strings over
// the verified claims (session name, source identity, session tags, session
// policy), and the hops of package chain. [Profile.Render] turns a verified
// [auth.Identity] into a [chain.Plan]: a pure function with no I/O, so the
// whole mapping from claims to STS parameters is table-tested and fuzzed here
// rather than through HTTP handlers or the STS layer.
//
// Templates are parsed once by [New] with missingkey=error, so a template
// that names a claim the token does not carry, or one that is null, fails
// with a [*RenderError] instead of rendering "<no value>". The data a
// template sees is
//
//	.claims   the verified token payload (numbers are json.Number)
//	.issuer   the configured issuer name
//	.subject  the token's sub
//	.profile  the profile name
//
// No functions are added to text/template's built-ins: index (for claim names
// such as "https://aws.amazon.com/tags") and printf cover what the
// configuration needs, and a smaller language is easier to reason about.
// index is replaced by a strict one over decoded JSON (objects by string key,
// lists by integer) that fails on a missing key, an index out of range or a
// null, as field access does, where the built-in would render "<no value>".
// One case still renders "<no value>": a null element of a list claim
// printed as it comes out of range.
//
// Everything rendered is made to fit STS before it leaves this package:
// session names and the source identity go through [SanitizeSessionName], tag
// values are reduced to STS's tag-value charset and length. A session policy
// is JSON and claims are free text a caller may choose, so a policy template
// is parsed by package [policy]: New refuses a policy with an action outside
// a JSON string value, and one STS would refuse whatever the claims (not a
// session policy in IAM's grammar, or text over STS's 2048 characters, which
// count the hop's policy ARNs too, or outside its character set); every
// action's output is escaped as JSON string content (by a function appended
// to the action's pipeline, as html/template does); and a rendered policy
// whose JSON structure is not the template's, or that claims made too long
// (alone or with the hop's policy ARNs) or put a character STS refuses
// into, is a [*RenderError]: refused, not cut to fit, since what was cut
// would change what the policy allows.
//
// Dependencies point down: api → profile → {auth, chain}.
package profile
