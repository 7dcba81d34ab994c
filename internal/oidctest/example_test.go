package oidctest_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/stsbroker/broker/internal/oidctest"
)

func Example() {
	iss, err := oidctest.NewServer(oidctest.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer iss.Close()

	ctx := context.Background()
	provider, err := oidc.NewProvider(ctx, iss.URL())
	if err != nil {
		fmt.Println(err)
		return
	}
	verifier := provider.Verifier(&oidc.Config{ClientID: "sts.amazonaws.com"})

	token, err := iss.Mint(oidctest.GitHubActionsClaims("myorg/app", "refs/heads/main"))
	if err != nil {
		fmt.Println(err)
		return
	}
	id, err := verifier.Verify(ctx, token)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(id.Subject)

	expired, err := iss.MintBroken(oidctest.Expired, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = verifier.Verify(ctx, expired)
	var tokenExpired *oidc.TokenExpiredError
	fmt.Println(errors.As(err, &tokenExpired))
	// Output:
	// repo:myorg/app:ref:refs/heads/main
	// true
}
