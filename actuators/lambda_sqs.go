package actuators

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/internal/awsclient"
)

// The range of an SQS event source mapping's ScalingConfig.MaximumConcurrency.
const (
	MinESMConcurrency = 2
	MaxESMConcurrency = 1000
)

// LambdaSQS sets an SQS event source mapping's maximum concurrency
// (lambda-sqs-max-concurrency). A mapping without ScalingConfig has no
// cap of its own; its current value is then reported as 1000, the top of
// the settable range.
type LambdaSQS struct {
	Conn Conn
}

var _ controller.Actuator = (*LambdaSQS)(nil)

func (l *LambdaSQS) read(ctx context.Context, c *awsclient.Clients, t *config.Target, now time.Time) (*lambda.GetEventSourceMappingOutput, error) {
	res := "event source mapping " + t.EventSourceMapping
	if err := spend(c, awsclient.PlaneLambda, 1, now, "GetEventSourceMapping", res); err != nil {
		return nil, err
	}
	out, err := c.Lambda.GetEventSourceMapping(ctx, &lambda.GetEventSourceMappingInput{UUID: aws.String(t.EventSourceMapping)})
	return out, awsclient.Wrap("GetEventSourceMapping", res, err)
}

func esmValue(sc *types.ScalingConfig) int64 {
	if sc == nil || sc.MaximumConcurrency == nil {
		return MaxESMConcurrency
	}
	return int64(*sc.MaximumConcurrency)
}

func (l *LambdaSQS) Current(ctx context.Context, t *config.Target, now time.Time) (controller.State, error) {
	c, err := l.Conn(t.Region, t.RoleARN)
	if err != nil {
		return controller.State{}, err
	}
	out, err := l.read(ctx, c, t, now)
	if err != nil {
		return controller.State{}, err
	}
	st := controller.State{Value: float64(esmValue(out.ScalingConfig))}
	st.Unset = out.ScalingConfig == nil || out.ScalingConfig.MaximumConcurrency == nil
	st.Constraints.Floor, st.Constraints.Ceiling = MinESMConcurrency, MaxESMConcurrency
	if s := aws.ToString(out.State); s != "Enabled" && s != "Disabled" {
		st.Constraints.Blocked = "event source mapping is " + s
	}
	return st, nil
}

func (l *LambdaSQS) Apply(ctx context.Context, t *config.Target, from, to float64, now time.Time) error {
	res := "event source mapping " + t.EventSourceMapping
	n, err := whole(to, "UpdateEventSourceMapping", res)
	if err != nil {
		return err
	}
	if n < MinESMConcurrency || n > MaxESMConcurrency {
		return awsclient.Refuse(awsclient.ClassInvalid, "UpdateEventSourceMapping", res, "MaximumConcurrency must be %d to %d, got %d", MinESMConcurrency, MaxESMConcurrency, n)
	}
	if int64(from) == n && from == float64(n) {
		return nil
	}
	c, err := l.Conn(t.Region, t.RoleARN)
	if err != nil {
		return err
	}
	if err := spend(c, awsclient.PlaneLambda, 1, now, "UpdateEventSourceMapping", res); err != nil {
		return err
	}
	_, err = c.Lambda.UpdateEventSourceMapping(ctx, &lambda.UpdateEventSourceMappingInput{
		UUID:          aws.String(t.EventSourceMapping),
		ScalingConfig: &types.ScalingConfig{MaximumConcurrency: i32(n)},
	})
	return awsclient.Wrap("UpdateEventSourceMapping", res, err)
}
