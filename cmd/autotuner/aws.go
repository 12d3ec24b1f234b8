package main

import (
	"context"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/internal/awswire"
)

// Connect the AWS sensor and actuators (internal/awswire, shared with the
// Lambda bootstrap).
func init() {
	newBackend = awsBackend
}

func awsBackend(ctx context.Context, e *env, f *config.File) (*backend, error) {
	be, err := awswire.New(ctx, awswire.Env{Getenv: e.getenv, Logger: e.logger}, f)
	if err != nil {
		return nil, err
	}
	return &backend{sensor: be.Sensor, actuators: be.Actuators, close: be.Close, checkEvery: be.CheckEvery}, nil
}
