package main

import (
	"context"

	"github.com/autotuner/autotuner/actuators"
	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/internal/awsclient"
	"github.com/autotuner/autotuner/sensors"
)

// Connect the AWS sensor and actuators. Everything about the connection
// comes from the SDK's usual sources (credentials chain, AWS_REGION,
// AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE>), plus the policies
// file's region and AUTOTUNER_CLOUDWATCH_PROTOCOL.
func init() {
	newBackend = awsBackend
}

func awsBackend(ctx context.Context, e *env, f *config.File) (*backend, error) {
	fac, err := awsclient.New(ctx, awsclient.Options{
		Region:             f.Defaults.Region,
		CloudWatchProtocol: e.getenv(awsclient.ProtocolEnv),
	})
	if err != nil {
		return nil, err
	}
	return &backend{
		sensor:     &sensors.CloudWatch{Clients: sensors.FromFactory(fac), Region: fac.Region(), Logger: e.logger},
		actuators:  actuators.All(fac.For),
		checkEvery: actuators.CheckEvery(f.Targets, fac.Rates(), actuators.DefaultReadTime),
	}, nil
}
