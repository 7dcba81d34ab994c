package ststest

import (
	"regexp"
	"strings"
)

var (
	accountRE = regexp.MustCompile(`^\d{12}$`)
	// roleARNRE matches arn:aws:iam::ACCT:role/[path/]name.
	roleARNRE = regexp.MustCompile(`^arn:aws:iam::(\d{12}):role/((?:[\x21-\x7e]+/)*)([\w+=,.@-]{1,64})$`)
	userARNRE = regexp.MustCompile(`^arn:aws:iam::(\d{12}):user/((?:[\x21-\x7e]+/)*)([\w+=,.@-]{1,64})$`)
	rootARNRE = regexp.MustCompile(`^arn:aws:iam::(\d{12}):root$`)
	// assumedRoleARNRE matches arn:aws:sts::ACCT:assumed-role/ROLE/SESSION.
	assumedRoleARNRE = regexp.MustCompile(`^arn:aws:sts::(\d{12}):assumed-role/([\w+=,.@-]{1,64})/([\w+=,.@-]{2,64})$`)
	providerARNRE    = regexp.MustCompile(`^arn:aws:iam::(\d{12}):(oidc-provider|saml-provider)/[\x21-\x7e]+$`)
)

// roleRef is a parsed IAM role ARN.
type roleRef struct {
	arn, account, name string
}

func parseRoleARN(arn string) (roleRef, bool) {
	m := roleARNRE.FindStringSubmatch(arn)
	if m == nil {
		return roleRef{}, false
	}
	return roleRef{arn: arn, account: m[1], name: m[3]}, true
}

// principalInfo describes the IAM principal an access key belongs to.
type principalInfo struct {
	arn, account, name string
	isRole             bool
}

func parsePrincipalARN(arn string) (principalInfo, bool) {
	if r, ok := parseRoleARN(arn); ok {
		return principalInfo{arn: arn, account: r.account, name: r.name, isRole: true}, true
	}
	if m := userARNRE.FindStringSubmatch(arn); m != nil {
		return principalInfo{arn: arn, account: m[1], name: m[3]}, true
	}
	return principalInfo{}, false
}

// assumedRoleARN returns the session ARN: the role path is dropped, as STS does.
func assumedRoleARN(account, roleName, session string) string {
	return "arn:aws:sts::" + account + ":assumed-role/" + roleName + "/" + session
}

// issuerKeyPrefix returns the issuer without its scheme and trailing slash: the provider
// ARN suffix and the condition-key prefix ("127.0.0.1:34567", "token.actions.githubusercontent.com").
func issuerKeyPrefix(issuer string) string {
	s := strings.TrimPrefix(strings.TrimPrefix(issuer, "https://"), "http://")
	return strings.TrimSuffix(s, "/")
}
