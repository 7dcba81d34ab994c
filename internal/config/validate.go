package config

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Validate reports every problem in c, one error per problem, joined with
// errors.Join. Each reads "<key path>: <what is wrong>", e.g.
// "profiles.prod-deploy.chain[1].duration: 2h exceeds the 1h role-chaining
// limit". It is pure: no I/O, no globals, no logging. Messages never contain
// a resolved ExternalId.
func (c *Config) Validate() error {
	return errors.Join(c.problems()...)
}

// problems is Validate's list, in file order: server, aws, issuers, cache,
// audit, then profiles by name.
func (c *Config) problems() []error {
	var ps problems
	ps.server(&c.Server)
	ps.aws(&c.AWS)
	issuers := ps.issuers(c.Issuers)
	ps.cache(&c.Cache, c.Profiles)
	if c.Audit.Sink == "" {
		ps.add("audit.sink", "required (stderr, stdout or a file path)")
	}
	if len(c.Profiles) == 0 {
		ps.add("profiles", "at least one profile is required")
	}
	for _, name := range slices.Sorted(maps.Keys(c.Profiles)) {
		ps.profile(name, c.Profiles[name], issuers)
	}
	return ps
}

// problems collects validation errors.
type problems []error

// add records that the key at path is wrong; msg is a fmt format.
func (ps *problems) add(path, msg string, args ...any) {
	*ps = append(*ps, fmt.Errorf("%s: %s", path, fmt.Sprintf(msg, args...)))
}

func (ps *problems) server(s *Server) {
	loopback, ok := ps.addr("server.addr", s.Addr)
	if ok && !loopback && s.TLS == nil && !s.InsecurePlaintext {
		ps.add("server.addr", "%s is not a loopback address: configure server.tls, or set server.insecure_plaintext: true if TLS ends in front of the broker", s.Addr)
	}
	if s.TLS != nil {
		if s.TLS.CertFile == "" {
			ps.add("server.tls.cert_file", "required when server.tls is set")
		}
		if s.TLS.KeyFile == "" {
			ps.add("server.tls.key_file", "required when server.tls is set")
		}
		if s.InsecurePlaintext {
			ps.add("server.insecure_plaintext", "contradicts server.tls: remove one")
		}
	}
	if s.MetricsAddr != "" {
		if _, ok := ps.addr("server.metrics_addr", s.MetricsAddr); ok && s.MetricsAddr == s.Addr && !strings.HasSuffix(s.Addr, ":0") {
			ps.add("server.metrics_addr", "must differ from server.addr")
		}
	}
	if s.RequestTimeout <= 0 {
		ps.add("server.request_timeout", "%s must be positive", s.RequestTimeout)
	}
	if s.MaxInflight < 1 {
		ps.add("server.max_inflight", "%d must be at least 1", s.MaxInflight)
	}
	if s.MaxConnections < 1 {
		ps.add("server.max_connections", "%d must be at least 1", s.MaxConnections)
	}
	ps.rate("server.rate_limit.per_identity", s.RateLimit.PerIdentity, s.RateLimit.PerIdentityBurst)
	ps.rate("server.rate_limit.global", s.RateLimit.Global, s.RateLimit.GlobalBurst)
}

// rate checks one token bucket: a negative rate is an error, and an enabled
// rate needs a burst of at least 1.
func (ps *problems) rate(path string, r float64, burst Count) {
	switch {
	case r < 0:
		ps.add(path, "%g must not be negative (0 disables the limit)", r)
	case r > 0 && burst < 1:
		ps.add(path+"_burst", "%d must be at least 1 when %s is set", burst, path)
	}
}

// addr checks that a is host:port with a numeric port, and reports whether
// its host is loopback. An empty host means every interface.
func (ps *problems) addr(path, a string) (loopback, ok bool) {
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		ps.add(path, "%q is not host:port", a)
		return false, false
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		ps.add(path, "%q: port must be a number from 0 to 65535", a)
		return false, false
	}
	return IsLoopback(host), true
}

func (ps *problems) aws(a *AWS) {
	if a.Region == "" {
		ps.add("aws.region", "required")
	}
	if a.STSEndpoint != "" {
		if err := CheckSTSEndpoint(a.STSEndpoint, a.Region); err != nil {
			ps.add("aws.sts_endpoint", "%v", err)
		}
	}
	if a.MaxConcurrentChains < 1 {
		ps.add("aws.max_concurrent_chains", "%d must be at least 1", a.MaxConcurrentChains)
	}
	if a.CallTimeout <= 0 {
		ps.add("aws.call_timeout", "%s must be positive", a.CallTimeout)
	}
}

func (ps *problems) cache(c *Cache, profiles map[string]*Profile) {
	if c.MaxEntries < 1 {
		ps.add("cache.max_entries", "%d must be at least 1", c.MaxEntries)
	}
	if c.RefreshBefore <= 0 {
		ps.add("cache.refresh_before", "%s must be positive", c.RefreshBefore)
	}
	// Zero would serve credentials up to their last second (and the cache
	// would take it for unset and use its default).
	if c.MinRemaining <= 0 {
		ps.add("cache.min_remaining", "%s must be positive", c.MinRemaining)
	}
	if c.MinRemaining >= c.RefreshBefore {
		ps.add("cache.min_remaining", "%s must be shorter than cache.refresh_before (%s)", c.MinRemaining, c.RefreshBefore)
	}
	// Credentials live as long as their hop's duration; a refresh_before at
	// least that long would refresh every entry on every request.
	var shortest Duration
	var at string
	for _, name := range slices.Sorted(maps.Keys(profiles)) {
		if profiles[name] == nil {
			continue
		}
		for i, h := range profiles[name].Chain {
			if h.Duration > 0 && (shortest == 0 || h.Duration < shortest) {
				shortest, at = h.Duration, fmt.Sprintf("profiles.%s.chain[%d].duration", name, i)
			}
		}
	}
	if shortest > 0 && c.RefreshBefore >= shortest {
		ps.add("cache.refresh_before", "%s must be shorter than the shortest hop duration (%s at %s)", c.RefreshBefore, shortest, at)
	}
}

// url checks that raw is an absolute http(s) URL, https unless its host is
// loopback: credentials and keys must not cross a network in the clear. It
// returns the parsed URL, or nil after recording a problem. The URL itself is
// not repeated: it may carry userinfo.
func (ps *problems) url(path, raw string) *url.URL {
	u, err := checkURL(raw)
	if err != nil {
		ps.add(path, "%v", err)
	}
	return u
}

// checkURL parses raw as an absolute http or https URL, refusing http off
// loopback.
func checkURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, errors.New("must be an absolute http or https URL")
	}
	if u.Scheme == "http" && !IsLoopback(u.Hostname()) {
		return nil, errors.New("must use https unless the host is loopback")
	}
	return u, nil
}

// CheckSTSEndpoint returns why raw cannot be the STS endpoint of a broker
// signing for region, or nil: it must be https (http only on a loopback
// host), and an AWS regional or VPC endpoint name must be in region. It is
// aws.sts_endpoint's rule, also applied at start-up to an endpoint the AWS
// SDK takes from its own configuration (AWS_ENDPOINT_URL_STS, endpoint_url).
func CheckSTSEndpoint(raw, region string) error {
	u, err := checkURL(raw)
	if err != nil {
		return err
	}
	if r := endpointRegion(u.Hostname()); r != "" && region != "" && r != region {
		return fmt.Errorf("%s is STS in %s, but aws.region is %s: requests are signed for aws.region, and STS refuses a signature for another region (SignatureDoesNotMatch) on every call; set aws.region: %s", u.Hostname(), r, region, r)
	}
	return nil
}

// stsRegionalHost matches AWS's regional STS host names and captures the
// region: sts.eu-west-1.amazonaws.com, sts-fips.us-east-2.amazonaws.com,
// sts.cn-north-1.amazonaws.com.cn, sts.eu-west-1.api.aws (dual-stack),
// VPC endpoints' vpce-….sts.eu-west-1.vpce.amazonaws.com, and the
// domains of the EU sovereign cloud (amazonaws.eu) and the ISO partitions
// (c2s.ic.gov, sc2s.sgov.gov).
var stsRegionalHost = regexp.MustCompile(`(?:^|\.)sts(?:-fips)?\.([a-z]{2,4}(?:-[a-z]+)+-[0-9]+)\.(?:vpce\.)?(?:amazonaws\.com(?:\.cn)?|amazonaws\.eu|api\.aws|c2s\.ic\.gov|sc2s\.sgov\.gov)$`)

// endpointRegion returns the region of an AWS regional STS host name, or ""
// for any other host (the global endpoint, an emulator, a proxy). A
// trailing dot (a fully qualified name) is the same host.
func endpointRegion(host string) string {
	if m := stsRegionalHost.FindStringSubmatch(strings.TrimSuffix(strings.ToLower(host), ".")); m != nil {
		return m[1]
	}
	return ""
}

// IsLoopback reports whether host is localhost or a loopback IP address.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}
