package ststest

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const (
	sigV4Algorithm = "AWS4-HMAC-SHA256"
	amzDateFormat  = "20060102T150405Z"
	maxClockSkew   = 15 * time.Minute
	maxSigHeaders  = 64
)

// authorization is a parsed SigV4 Authorization header.
type authorization struct {
	accessKeyID, date, region, service string
	signedHeaders                      []string
	signature                          string
}

func parseAuthorization(h string) (authorization, *apiError) {
	rest, ok := strings.CutPrefix(h, sigV4Algorithm+" ")
	if !ok {
		return authorization{}, errIncompleteSignature("Unsupported AWS 'algorithm': the Authorization header must start with '%s'", sigV4Algorithm)
	}
	fields := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return authorization{}, errIncompleteSignature("Authorization header requires each component to be of the form key=value")
		}
		fields[k] = v
	}
	var missing []string
	for _, k := range []string{"Credential", "SignedHeaders", "Signature"} {
		if fields[k] == "" {
			missing = append(missing, "Authorization header requires '"+k+"' parameter.")
		}
	}
	if len(missing) > 0 {
		return authorization{}, errIncompleteSignature("%s", strings.Join(missing, " "))
	}
	scope := strings.Split(fields["Credential"], "/")
	if len(scope) != 5 || scope[0] == "" || len(scope[1]) != 8 || scope[2] == "" {
		return authorization{}, errIncompleteSignature("Credential must have the form <access key id>/<date>/<region>/<service>/aws4_request")
	}
	if scope[4] != "aws4_request" {
		return authorization{}, errSignatureDoesNotMatch("Credential should be scoped with a valid terminator: 'aws4_request', not '" + scope[4] + "'.")
	}
	if scope[3] != "sts" {
		return authorization{}, errSignatureDoesNotMatch("Credential should be scoped to correct service: 'sts'. ")
	}
	signed := strings.Split(fields["SignedHeaders"], ";")
	if len(signed) > maxSigHeaders {
		return authorization{}, errIncompleteSignature("Too many signed headers")
	}
	return authorization{
		accessKeyID: scope[0], date: scope[1], region: scope[2], service: scope[3],
		signedHeaders: signed, signature: fields["Signature"],
	}, nil
}

// authenticate verifies the SigV4 signature of r and returns who signed it.
func (s *Server) authenticate(ctx context.Context, r *http.Request, body []byte, rec *Request) (*caller, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		if r.URL.Query().Get("X-Amz-Algorithm") != "" {
			return nil, errIncompleteSignature("Query-string (presigned) authentication is not supported by this emulator")
		}
		return nil, newError(http.StatusForbidden, "MissingAuthenticationToken", msgMissingAuth)
	}
	a, aerr := parseAuthorization(h)
	if aerr != nil {
		return nil, aerr
	}
	rec.AccessKeyID = a.accessKeyID
	amzDate := r.Header.Get("X-Amz-Date")
	if amzDate == "" {
		return nil, errIncompleteSignature("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
	}
	signedAt, err := time.Parse(amzDateFormat, amzDate)
	if err != nil {
		return nil, errIncompleteSignature("Date must be in ISO-8601 'basic format'. Got '%s'.", amzDate)
	}

	c, secret, token, cerr := s.lookupSigner(a.accessKeyID, r.Header.Get("X-Amz-Security-Token"))
	if cerr != nil {
		return nil, cerr
	}
	now := s.now().UTC()
	if c.session != nil && !now.Before(c.session.expires) {
		return nil, newError(http.StatusForbidden, "ExpiredToken", msgExpiredToken)
	}
	if d := now.Sub(signedAt); d > maxClockSkew {
		return nil, errSignatureDoesNotMatch("Signature expired: " + amzDate + " is now earlier than " +
			now.Add(-maxClockSkew).Format(amzDateFormat) + " (" + now.Format(amzDateFormat) + " - 15 min.)")
	} else if d < -maxClockSkew {
		return nil, errSignatureDoesNotMatch("Signature not yet current: " + amzDate + " is still later than " +
			now.Add(maxClockSkew).Format(amzDateFormat) + " (" + now.Format(amzDateFormat) + " + 15 min.)")
	}
	if a.date != signedAt.Format("20060102") {
		return nil, errSignatureDoesNotMatch("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '" + a.date + "' != '" + signedAt.Format("20060102") + "', from '" + amzDate + "'.")
	}
	want, err := expectedSignature(ctx, r, body, a, aws.Credentials{AccessKeyID: a.accessKeyID, SecretAccessKey: secret, SessionToken: token}, signedAt)
	if err != nil || subtle.ConstantTimeCompare([]byte(want), []byte(a.signature)) != 1 {
		return nil, errSignatureDoesNotMatch(msgSignatureDoesNotMatch)
	}
	rec.CallerARN = c.arn
	return c, nil
}

// lookupSigner finds the key: a base key, or a session issued here whose token must be
// the one presented.
func (s *Server) lookupSigner(keyID, presentedToken string) (*caller, string, string, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if k, ok := s.baseKeys[keyID]; ok {
		if presentedToken != "" {
			return nil, "", "", errInvalidClientTokenID()
		}
		return &caller{
			arn: k.principal.arn, principalARN: k.principal.arn, account: k.principal.account,
			userID: k.userID, accessKeyID: k.id, roleKey: k.principal.isRole,
		}, k.secret, "", nil
	}
	se, ok := s.sessions[keyID]
	if !ok || subtle.ConstantTimeCompare([]byte(presentedToken), []byte(se.token)) != 1 {
		return nil, "", "", errInvalidClientTokenID()
	}
	return &caller{
		arn: se.arn(), principalARN: se.role.ref.arn, account: se.role.ref.account,
		userID: se.userID(), accessKeyID: se.id, session: se,
	}, se.secret, se.token, nil
}

// expectedSignature re-signs a copy of r that carries only the signed headers, using the
// SDK's own SigV4 signer, and returns the signature it computes.
func expectedSignature(ctx context.Context, r *http.Request, body []byte, a authorization, creds aws.Credentials, signedAt time.Time) (string, error) {
	cp := &http.Request{
		Method: r.Method,
		URL:    &url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery},
		Host:   r.Host,
		Header: http.Header{},
	}
	for _, name := range a.signedHeaders {
		switch name {
		case "host":
		case "content-length":
			cp.ContentLength = r.ContentLength
		default:
			vals := r.Header.Values(name)
			if len(vals) == 0 {
				return "", errSignatureDoesNotMatch("signed header missing")
			}
			cp.Header[http.CanonicalHeaderKey(name)] = vals
		}
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(ctx, creds, cp, hex.EncodeToString(sum[:]), "sts", a.region, signedAt); err != nil {
		return "", err
	}
	_, sig, ok := strings.Cut(cp.Header.Get("Authorization"), "Signature=")
	if !ok {
		return "", errSignatureDoesNotMatch("no signature")
	}
	return sig, nil
}
