package actuators

import (
	"context"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/internal/awsclient"
)

// UsagePlanInterval is API Gateway's quota on UpdateUsagePlan: one call per
// 20 s per account.
const UsagePlanInterval = 20 * time.Second

// UsagePlan sets a usage plan's throttle, plan-wide or for one method of
// one API stage (apigateway-usage-plan). A plan with no throttle runs at
// the account's limit, which is then its current value.
type UsagePlan struct {
	Conn Conn

	mu     sync.Mutex
	last   map[awsclient.Key]time.Time // last UpdateUsagePlan per account
	bursts burstMemo
}

var _ controller.Actuator = (*UsagePlan)(nil)

// NewUsagePlan returns the actuator.
func NewUsagePlan(conn Conn) *UsagePlan {
	return &UsagePlan{Conn: conn, last: map[awsclient.Key]time.Time{}}
}

func planResource(t *config.Target) string {
	return t.Identity()
}

// planThrottle finds the throttle that governs the target in a plan, and
// whether there is none (the account's limits then apply).
func planThrottle(t *config.Target, out *apigateway.GetUsagePlanOutput) (rate float64, burst int32, unset bool) {
	rate, burst, unset = AccountRate, AccountBurst, true
	if out.Throttle != nil {
		rate, burst, unset = out.Throttle.RateLimit, out.Throttle.BurstLimit, false
	}
	if t.Method == "" {
		return rate, burst, unset
	}
	for _, s := range out.ApiStages {
		if aws.ToString(s.ApiId)+":"+aws.ToString(s.Stage) != t.APIStage {
			continue
		}
		if th, ok := s.Throttle[t.Method]; ok {
			return th.RateLimit, th.BurstLimit, false
		}
	}
	return rate, burst, unset
}

func (u *UsagePlan) Current(ctx context.Context, t *config.Target, now time.Time) (controller.State, error) {
	res := planResource(t)
	c, err := u.Conn(t.Region, t.RoleARN)
	if err != nil {
		return controller.State{}, err
	}
	if err := spend(c, awsclient.PlaneAPIGateway, 1, now, "GetUsagePlan", res); err != nil {
		return controller.State{}, err
	}
	out, err := c.APIGateway.GetUsagePlan(ctx, &apigateway.GetUsagePlanInput{UsagePlanId: aws.String(t.UsagePlan)})
	if err != nil {
		return controller.State{}, awsclient.Wrap("GetUsagePlan", res, err)
	}
	rate, burst, unset := planThrottle(t, out)
	st := u.bursts.withBurst(t, controller.State{Value: rate, Unset: unset}, burst)
	if t.Limit == "burst" {
		st.Value = float64(burst)
		st.Constraints.Ceiling = AccountBurst
	} else {
		st.Constraints.Ceiling = AccountRate
	}
	u.mu.Lock()
	if last, ok := u.last[c.Key]; ok {
		if next := last.Add(UsagePlanInterval); now.Before(next) {
			st.Constraints.NotBefore = next
		}
	}
	u.mu.Unlock()
	return st, nil
}

func planPrefix(t *config.Target) string {
	if t.Method == "" {
		return "/throttle"
	}
	resource, verb := splitMethod(t.Method)
	return "/apiStages/" + t.APIStage + "/throttle/" + escapePointer(resource) + "/" + verb
}

func (u *UsagePlan) Apply(ctx context.Context, t *config.Target, from, to float64, now time.Time) error {
	return u.update(ctx, t, u.bursts.throttleOps(t, planPrefix(t), from, to), now)
}

// RestoreBurst sets the rate and the burst together: revert puts back
// both values autotuner changed.
func (u *UsagePlan) RestoreBurst(ctx context.Context, t *config.Target, rate float64, burst int64, now time.Time) error {
	return u.update(ctx, t, rateOps(planPrefix(t), rate, burst, true), now)
}

// update sends one UpdateUsagePlan within the account's quota.
func (u *UsagePlan) update(ctx context.Context, t *config.Target, ops []types.PatchOperation, now time.Time) error {
	res := planResource(t)
	c, err := u.Conn(t.Region, t.RoleARN)
	if err != nil {
		return err
	}
	// The quota is per account: take the slot before calling, so that two
	// plans changed in one tick cannot both spend it.
	u.mu.Lock()
	if last, ok := u.last[c.Key]; ok && now.Before(last.Add(UsagePlanInterval)) {
		u.mu.Unlock()
		return awsclient.Refuse(awsclient.ClassThrottled, "UpdateUsagePlan", res,
			"API Gateway allows one UpdateUsagePlan per %s per account; the next is allowed at %s", UsagePlanInterval, last.Add(UsagePlanInterval).UTC().Format(time.RFC3339))
	}
	prev, had := u.last[c.Key]
	u.last[c.Key] = now
	u.mu.Unlock()
	if err := spend(c, awsclient.PlaneAPIGateway, 1, now, "UpdateUsagePlan", res); err != nil {
		u.release(c.Key, now, prev, had)
		return err
	}
	_, err = c.APIGateway.UpdateUsagePlan(ctx, &apigateway.UpdateUsagePlanInput{UsagePlanId: aws.String(t.UsagePlan), PatchOperations: ops})
	// A failed call keeps the slot: AWS counts calls, not successes.
	if err == nil {
		u.bursts.noteOps(t, ops)
	}
	return awsclient.Wrap("UpdateUsagePlan", res, err)
}

// release gives back a slot that no call used.
func (u *UsagePlan) release(k awsclient.Key, now, prev time.Time, had bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.last[k].Equal(now) {
		if had {
			u.last[k] = prev
		} else {
			delete(u.last, k)
		}
	}
}
