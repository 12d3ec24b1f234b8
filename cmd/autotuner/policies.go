package main

import (
	"context"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/discover"
	"github.com/autotuner/autotuner/internal/awsclient"
)

// loadPolicies reads a policies file, expanding its selector entries from
// the account when it has any (and offline is false): a file without
// selectors never touches AWS here.
func loadPolicies(ctx context.Context, e *env, path string, offline bool) (*config.File, error) {
	f, err := config.Load(path)
	if err != nil || f.Selectors == 0 || offline {
		return f, err
	}
	return config.LoadWith(path, config.Options{Selector: newSelector(ctx, e, f.Defaults.Region), Context: ctx})
}

// newSelector finds selected resources with the SDK's usual connection.
func newSelector(ctx context.Context, e *env, region string) *discover.Selector {
	var fac *awsclient.Factory
	return &discover.Selector{Clients: func(r, role string) (*discover.Clients, error) {
		if fac == nil {
			var err error
			if fac, err = awsclient.New(ctx, awsclient.Options{Region: region, CloudWatchProtocol: e.getenv(awsclient.ProtocolEnv)}); err != nil {
				return nil, err
			}
		}
		cl, err := fac.For(r, role)
		if err != nil {
			return nil, err
		}
		return discover.FromAWS(cl, e.getenv(discover.TaggingProtocolEnv)), nil
	}}
}
