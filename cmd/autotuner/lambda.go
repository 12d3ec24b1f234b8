package main

import (
	"context"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/internal/awswire"
	"github.com/autotuner/autotuner/lambdamode"
	"github.com/autotuner/autotuner/lambdamode/boot"
)

// The Lambda mode lives in lambdamode/boot, shared with the slim
// bootstrap (cmd/autotuner-lambda) that deploy/sam ships; this command
// keeps the full binary able to serve Lambda too.
func init() {
	register(command{name: "lambda", summary: "serve as an AWS Lambda function (chosen automatically inside Lambda)", run: runLambda})
	// Inside AWS Lambda (or its emulator) the binary is the bootstrap and
	// is started without arguments: serve the runtime.
	autoCommand = func(e *env) string {
		if e.getenv("AWS_LAMBDA_RUNTIME_API") != "" {
			return "lambda"
		}
		return ""
	}
}

const (
	envPolicies   = boot.EnvPolicies
	envStateTable = boot.EnvStateTable
	envDryRun     = boot.EnvDryRun
)

// startLambda hands the handler to the runtime; tests replace it.
var startLambda = boot.Serve

func runLambda(ctx context.Context, e *env, args []string) int {
	c := boot.Command{
		Name:  "autotuner lambda",
		Serve: func(ctx context.Context, h *lambdamode.Handler) { startLambda(ctx, h) },
		Options: boot.Options{
			Backend: func(ctx context.Context, f *config.File) (*awswire.Backend, error) {
				be, err := newBackend(ctx, e, f)
				if err != nil {
					return nil, err
				}
				return &awswire.Backend{Sensor: be.sensor, Actuators: be.actuators, Close: be.close, CheckEvery: be.checkEvery}, nil
			},
			Selector: newSelector(ctx, e, ""),
		},
	}
	return c.Run(ctx, boot.Env{Stdout: e.stdout, Stderr: e.stderr, Getenv: e.getenv, Logger: e.logger}, args)
}
