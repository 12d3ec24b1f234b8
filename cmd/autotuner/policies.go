package main

import (
	"context"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/discover"
	"github.com/autotuner/autotuner/internal/awswire"
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
	return awswire.Selector(ctx, awswire.Env{Getenv: e.getenv, Logger: e.logger}, region)
}
