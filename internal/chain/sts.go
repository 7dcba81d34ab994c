package chain

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// STS is the subset of *sts.Client the chain uses. In tests it is satisfied by
// the real client pointed at internal/ststest; the interface narrows and
// documents the dependency.
type STS interface {
	AssumeRoleWithWebIdentity(ctx context.Context, in *sts.AssumeRoleWithWebIdentityInput, optFns ...func(*sts.Options)) (*sts.AssumeRoleWithWebIdentityOutput, error)
	AssumeRole(ctx context.Context, in *sts.AssumeRoleInput, optFns ...func(*sts.Options)) (*sts.AssumeRoleOutput, error)
}
