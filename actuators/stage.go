package actuators

import (
	"context"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/internal/awsclient"
)

// Stage sets a REST API stage's method throttling, for every method (/*/*)
// or one (apigateway-stage). A method without its own setting follows the
// stage-wide one, and that the account's limit.
type Stage struct {
	Conn Conn

	bursts burstMemo
}

var _ controller.Actuator = (*Stage)(nil)

// settingKeys are the spellings a method's key may take in a stage's
// MethodSettings: "*/*" for all, "~1pets/GET" or "pets/GET" for one.
func settingKeys(method string) []string {
	m := strings.TrimPrefix(method, "/")
	if m == "*/*" {
		return []string{"*/*"}
	}
	resource, verb := splitMethod(method)
	return []string{escapePointer(resource) + "/" + verb, strings.TrimPrefix(resource, "/") + "/" + verb, method}
}

func stageThrottle(t *config.Target, ms map[string]types.MethodSetting) (rate float64, burst int32, unset bool) {
	rate, burst, unset = AccountRate, AccountBurst, true
	for _, keys := range [][]string{{"*/*"}, settingKeys(t.Method)} {
		for _, k := range keys {
			if s, ok := ms[k]; ok {
				if s.ThrottlingRateLimit >= 0 {
					rate = s.ThrottlingRateLimit
					if t.Limit != "burst" {
						unset = false
					}
				}
				if s.ThrottlingBurstLimit >= 0 {
					burst = s.ThrottlingBurstLimit
					if t.Limit == "burst" {
						unset = false
					}
				}
				break
			}
		}
	}
	return rate, burst, unset
}

func (s *Stage) Current(ctx context.Context, t *config.Target, now time.Time) (controller.State, error) {
	res := t.Identity()
	c, err := s.Conn(t.Region, t.RoleARN)
	if err != nil {
		return controller.State{}, err
	}
	if err := spend(c, awsclient.PlaneAPIGateway, 1, now, "GetStage", res); err != nil {
		return controller.State{}, err
	}
	out, err := c.APIGateway.GetStage(ctx, &apigateway.GetStageInput{RestApiId: aws.String(t.RestAPI), StageName: aws.String(t.Stage)})
	if err != nil {
		return controller.State{}, awsclient.Wrap("GetStage", res, err)
	}
	rate, burst, unset := stageThrottle(t, out.MethodSettings)
	st := s.bursts.withBurst(t, controller.State{Value: rate, Unset: unset}, burst)
	st.Constraints.Ceiling = AccountRate
	if t.Limit == "burst" {
		st.Value = float64(burst)
		st.Constraints.Ceiling = AccountBurst
	}
	return st, nil
}

// stagePrefix is the patch path of a method's throttling settings:
// "/*/*/throttling" or "/~1pets/GET/throttling".
func stagePrefix(method string) string {
	if strings.TrimPrefix(method, "/") == "*/*" {
		return "/*/*/throttling"
	}
	resource, verb := splitMethod(method)
	return "/" + escapePointer(resource) + "/" + verb + "/throttling"
}

func (s *Stage) Apply(ctx context.Context, t *config.Target, from, to float64, now time.Time) error {
	return s.update(ctx, t, s.bursts.throttleOps(t, stagePrefix(t.Method), from, to), now)
}

// RestoreBurst sets the rate and the burst together: revert puts back
// both values autotuner changed.
func (s *Stage) RestoreBurst(ctx context.Context, t *config.Target, rate float64, burst int64, now time.Time) error {
	return s.update(ctx, t, rateOps(stagePrefix(t.Method), rate, burst, true), now)
}

func (s *Stage) update(ctx context.Context, t *config.Target, ops []types.PatchOperation, now time.Time) error {
	res := t.Identity()
	c, err := s.Conn(t.Region, t.RoleARN)
	if err != nil {
		return err
	}
	if err := spend(c, awsclient.PlaneAPIGateway, 1, now, "UpdateStage", res); err != nil {
		return err
	}
	_, err = c.APIGateway.UpdateStage(ctx, &apigateway.UpdateStageInput{
		RestApiId:       aws.String(t.RestAPI),
		StageName:       aws.String(t.Stage),
		PatchOperations: ops,
	})
	if err == nil {
		s.bursts.noteOps(t, ops)
	}
	return awsclient.Wrap("UpdateStage", res, err)
}
