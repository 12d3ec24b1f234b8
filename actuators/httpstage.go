package actuators

import (
	"context"
	"math"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/internal/awsclient"
)

// HTTPStage sets an HTTP API stage's throttling (apigatewayv2-stage): the
// stage's default route settings, or one route's settings. A route
// without its own throttle follows the default route's, and that the
// account's (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-throttling.html).
//
// UpdateStage takes route settings whole, not as patch operations, so a
// change reads the stage and writes the knob's settings back with only
// the throttle changed: detailed metrics and logging stay as they were,
// and the rate and the burst are both always sent, so neither is left for
// the service to default. HTTP APIs are not Application Auto Scaling
// targets: there is nothing to coexist with.
type HTTPStage struct {
	Conn Conn

	bursts burstMemo
	// stages serializes changes to one stage: each is a read and a
	// write, and two knobs of one route (its rate and its burst) changed
	// in parallel would otherwise write back each other's old value.
	stages keyed
}

var _ controller.Actuator = (*HTTPStage)(nil)

// httpThrottle is the throttle in force for a knob and what it is read
// from.
type httpThrottle struct {
	rate  float64
	burst int32
	// unset says the knob's own level sets nothing (for its limit): the
	// value in force is inherited.
	unset bool
	// own are the knob's settings as read, to be written back changed.
	own types.RouteSettings
}

// readHTTPThrottle resolves a target's throttle from a stage's settings:
// the account's, overridden by the default route's, overridden by the
// route's own.
func readHTTPThrottle(t *config.Target, def *types.RouteSettings, routes map[string]types.RouteSettings) httpThrottle {
	th := httpThrottle{rate: AccountRate, burst: AccountBurst, unset: true}
	levels := []*types.RouteSettings{def}
	if !t.DefaultRoute() {
		if rs, ok := routes[t.Route]; ok {
			levels = append(levels, &rs)
		} else {
			levels = append(levels, nil)
		}
	}
	for i, s := range levels {
		own := i == len(levels)-1
		if s == nil {
			continue
		}
		if own {
			th.own = *s
		}
		if s.ThrottlingRateLimit != nil {
			th.rate = *s.ThrottlingRateLimit
			if own && t.Limit != "burst" {
				th.unset = false
			}
		}
		if s.ThrottlingBurstLimit != nil {
			th.burst = *s.ThrottlingBurstLimit
			if own && t.Limit == "burst" {
				th.unset = false
			}
		}
	}
	return th
}

func (s *HTTPStage) read(ctx context.Context, c *awsclient.Clients, t *config.Target, now time.Time) (httpThrottle, error) {
	res := t.Identity()
	if err := spend(c, awsclient.PlaneAPIGateway, 1, now, "GetStage", res); err != nil {
		return httpThrottle{}, err
	}
	out, err := c.APIGatewayV2.GetStage(ctx, &apigatewayv2.GetStageInput{ApiId: aws.String(t.APIID), StageName: aws.String(t.Stage)})
	if err != nil {
		return httpThrottle{}, awsclient.Wrap("GetStage", res, err)
	}
	return readHTTPThrottle(t, out.DefaultRouteSettings, out.RouteSettings), nil
}

func (s *HTTPStage) Current(ctx context.Context, t *config.Target, now time.Time) (controller.State, error) {
	c, err := s.Conn(t.Region, t.RoleARN)
	if err != nil {
		return controller.State{}, err
	}
	th, err := s.read(ctx, c, t, now)
	if err != nil {
		return controller.State{}, err
	}
	return s.state(t, th), nil
}

// state is the knob's state from its throttle, remembering the burst in
// force when it follows the rate.
func (s *HTTPStage) state(t *config.Target, th httpThrottle) controller.State {
	st := s.bursts.withBurst(t, controller.State{Value: th.rate, Unset: th.unset}, th.burst)
	st.Constraints.Ceiling = AccountRate
	if t.Limit == "burst" {
		st.Value = float64(th.burst)
		st.Constraints.Ceiling = AccountBurst
	}
	return st
}

// Apply moves the knob from → to. The stage is read first (UpdateStage
// replaces the knob's settings), which also refreshes the burst in force.
func (s *HTTPStage) Apply(ctx context.Context, t *config.Target, from, to float64, now time.Time) error {
	return s.write(ctx, t, now, func(th httpThrottle) (float64, int64) {
		if t.Limit == "burst" {
			return th.rate, int64(math.Round(to))
		}
		if burst, tied := s.bursts.nextBurst(t, from, to); tied {
			return to, burst
		}
		return to, int64(th.burst)
	})
}

// RestoreBurst sets the rate and the burst together: revert puts back
// both values autotuner changed.
func (s *HTTPStage) RestoreBurst(ctx context.Context, t *config.Target, rate float64, burst int64, now time.Time) error {
	return s.write(ctx, t, now, func(httpThrottle) (float64, int64) { return rate, burst })
}

// write reads the knob's settings, lets next choose the rate and burst
// from the throttle in force, and writes the settings back.
func (s *HTTPStage) write(ctx context.Context, t *config.Target, now time.Time, next func(httpThrottle) (float64, int64)) error {
	res := t.Identity()
	c, err := s.Conn(t.Region, t.RoleARN)
	if err != nil {
		return err
	}
	// Both calls are taken from the budget at once: a change never stops
	// between its read and its write for want of budget.
	if err := spend(c, awsclient.PlaneAPIGateway, 2, now, "UpdateStage", res); err != nil {
		return err
	}
	defer s.stages.lock(resourceKey(c, t.APIID, t.Stage))()
	out, err := c.APIGatewayV2.GetStage(ctx, &apigatewayv2.GetStageInput{ApiId: aws.String(t.APIID), StageName: aws.String(t.Stage)})
	if err != nil {
		return awsclient.Wrap("GetStage", res, err)
	}
	th := readHTTPThrottle(t, out.DefaultRouteSettings, out.RouteSettings)
	s.state(t, th) // remembers the burst in force for nextBurst
	rate, burst := next(th)
	in, err := httpStageUpdate(t, th.own, rate, burst)
	if err != nil {
		return err
	}
	_, err = c.APIGatewayV2.UpdateStage(ctx, in)
	if err == nil && tiesBurst(t) {
		s.bursts.note(t, burst)
	}
	return awsclient.Wrap("UpdateStage", res, err)
}

// httpStageUpdate is the UpdateStage request that sets the knob's rate
// and burst, keeping its other settings. It refuses values the service
// would reject or that exceed the account's limits.
func httpStageUpdate(t *config.Target, own types.RouteSettings, rate float64, burst int64) (*apigatewayv2.UpdateStageInput, error) {
	res := t.Identity()
	r := math.Round(rate*100) / 100
	if math.IsNaN(rate) || r < 0 || r > AccountRate {
		return nil, awsclient.Refuse(awsclient.ClassInvalid, "UpdateStage", res, "rate %v is outside 0..%d, the account's limit", rate, AccountRate)
	}
	if burst < 0 || burst > AccountBurst {
		return nil, awsclient.Refuse(awsclient.ClassInvalid, "UpdateStage", res, "burst %d is outside 0..%d, the account's limit", burst, AccountBurst)
	}
	own.ThrottlingRateLimit = aws.Float64(r)
	own.ThrottlingBurstLimit = aws.Int32(int32(burst))
	// Execution logging is for WebSocket APIs only; an HTTP API refuses an
	// update that carries it ("Execution logs are not supported on
	// protocolType HTTP"), so what was read is not sent back.
	// https://docs.aws.amazon.com/apigatewayv2/latest/api-reference/apis-apiid-stages-stagename.html
	own.LoggingLevel, own.DataTraceEnabled = "", nil
	in := &apigatewayv2.UpdateStageInput{ApiId: aws.String(t.APIID), StageName: aws.String(t.Stage)}
	if t.DefaultRoute() {
		in.DefaultRouteSettings = &own
	} else {
		// Only this route's key is sent: the others are left alone.
		in.RouteSettings = map[string]types.RouteSettings{t.Route: own}
	}
	return in, nil
}
