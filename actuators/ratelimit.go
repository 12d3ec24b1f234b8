package actuators

import (
	"context"
	"errors"
	"math"
	"time"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/internal/awsclient"
	"github.com/autotuner/autotuner/ratelimit"
)

// RateLimitBucket sets the rate of a shared token bucket (ratelimit-bucket)
// and its burst as burst_ratio seconds of that rate. The bucket keeps its
// shard count; the change takes effect at each shard's next refill, and
// is made lower-first so the shards' rates never sum above the larger of
// the old and new rate (ratelimit.Limiter.Configure).
type RateLimitBucket struct {
	Conn Conn
	// API overrides the DynamoDB client of Conn (tests, the simulator).
	API func(t *config.Target) (ratelimit.API, error)
}

var _ controller.Actuator = (*RateLimitBucket)(nil)

func (b *RateLimitBucket) limiter(t *config.Target, now time.Time) (*ratelimit.Limiter, error) {
	var api ratelimit.API
	if b.API != nil {
		var err error
		if api, err = b.API(t); err != nil {
			return nil, err
		}
	} else {
		c, err := b.Conn(t.Region, t.RoleARN)
		if err != nil {
			return nil, err
		}
		api = c.DynamoDB
	}
	// The controller's now is the clock of the refill that the change
	// starts from: time before it was earned at the old rate.
	return ratelimit.New(api, t.Table, ratelimit.Options{Clock: func() time.Time { return now }}), nil
}

func (b *RateLimitBucket) Current(ctx context.Context, t *config.Target, now time.Time) (controller.State, error) {
	l, err := b.limiter(t, now)
	if err != nil {
		return controller.State{}, err
	}
	lim, _, err := l.Describe(ctx, t.Bucket)
	if err != nil {
		return controller.State{}, bucketError("GetItem", t, err)
	}
	return controller.State{Value: lim.Rate}, nil
}

func (b *RateLimitBucket) Apply(ctx context.Context, t *config.Target, from, to float64, now time.Time) error {
	if math.IsNaN(to) || math.IsInf(to, 0) || to <= 0 || to > config.MaxBucketRate {
		return awsclient.Refuse(awsclient.ClassInvalid, "UpdateItem", t.Identity(), "rate %v is not in (0, %v]", to, config.MaxBucketRate)
	}
	l, err := b.limiter(t, now)
	if err != nil {
		return err
	}
	lim, _, err := l.Describe(ctx, t.Bucket)
	if err != nil {
		return bucketError("GetItem", t, err)
	}
	// Someone else set the rate since the decision: do not overwrite it
	// with a change computed from the old value.
	if math.Abs(lim.Rate-from) > 0.005+1e-9*from {
		return awsclient.Refuse(awsclient.ClassConflict, "UpdateItem", t.Identity(), "the rate is %v, not %v as when the change was decided; it is read again next tick", lim.Rate, from)
	}
	err = l.Configure(ctx, t.Bucket, ratelimit.Limits{Rate: to, Burst: to * t.BurstRatio, Shards: lim.Shards})
	return bucketError("UpdateItem", t, err)
}

func bucketError(op string, t *config.Target, err error) error {
	if errors.Is(err, ratelimit.ErrNoBucket) {
		return awsclient.Refuse(awsclient.ClassNotFound, op, t.Identity(), "%v; create it with `autotuner limiter configure`", err)
	}
	return awsclient.Wrap(op, t.Identity(), err)
}
