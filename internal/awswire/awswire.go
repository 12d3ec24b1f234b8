package awswire

import (
	"context"
	"log/slog"

	"github.com/autotuner/autotuner/actuators"
	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/discover"
	"github.com/autotuner/autotuner/internal/awsclient"
	"github.com/autotuner/autotuner/sensors"
)

// Backend is the outside world a tick talks to.
type Backend struct {
	Sensor    controller.Sensor
	Actuators map[config.Kind]controller.Actuator
	Close     func() // may be nil
	// CheckEvery is the controller's drift-check rotation that keeps a
	// tick within the services' control-plane quotas.
	CheckEvery int
}

// Env is what the wiring reads from its surroundings.
type Env struct {
	Getenv func(string) string // AUTOTUNER_CLOUDWATCH_PROTOCOL, the tagging protocol
	Logger *slog.Logger
}

// New connects the AWS sensor and actuators for a policies file.
// Everything about the connection comes from the SDK's usual sources
// (credentials chain, AWS_REGION, AWS_ENDPOINT_URL and
// AWS_ENDPOINT_URL_<SERVICE>), plus the file's region and
// AUTOTUNER_CLOUDWATCH_PROTOCOL.
func New(ctx context.Context, e Env, f *config.File) (*Backend, error) {
	fac, err := awsclient.New(ctx, awsclient.Options{
		Region:             f.Defaults.Region,
		CloudWatchProtocol: e.Getenv(awsclient.ProtocolEnv),
	})
	if err != nil {
		return nil, err
	}
	return &Backend{
		Sensor:     &sensors.CloudWatch{Clients: sensors.FromFactory(fac), Region: fac.Region(), Logger: e.Logger},
		Actuators:  actuators.All(fac.For),
		CheckEvery: actuators.CheckEvery(f.Targets, fac.Rates(), actuators.DefaultReadTime),
	}, nil
}

// Selector finds selected resources with the SDK's usual connection. The
// connection is made on first use, so a file without selectors never
// touches AWS.
func Selector(ctx context.Context, e Env, region string) *discover.Selector {
	var fac *awsclient.Factory
	return &discover.Selector{Clients: func(r, role string) (*discover.Clients, error) {
		if fac == nil {
			var err error
			if fac, err = awsclient.New(ctx, awsclient.Options{Region: region, CloudWatchProtocol: e.Getenv(awsclient.ProtocolEnv)}); err != nil {
				return nil, err
			}
		}
		cl, err := fac.For(r, role)
		if err != nil {
			return nil, err
		}
		return discover.FromAWS(cl, e.Getenv(discover.TaggingProtocolEnv)), nil
	}}
}
