package actuators

import (
	"testing"
	"time"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/internal/awsclient"
	"github.com/autotuner/autotuner/internal/awsfake"
	"github.com/autotuner/autotuner/policy"
)

type patchBody struct {
	PatchOperations []awsfake.PatchOperation `json:"patchOperations"`
}

func patches(t *testing.T, c awsfake.Call) []awsfake.PatchOperation {
	t.Helper()
	var b patchBody
	if err := jsonUnmarshal(c.Body, &b); err != nil {
		t.Fatal(err)
	}
	return b.PatchOperations
}

func TestUsagePlanPlanWide(t *testing.T) {
	fake, conn := connect(t, awsclient.Options{})
	fake.APIGateway.AddUsagePlan("p1", awsfake.UsagePlan{Throttle: &awsfake.Throttle{Rate: 100, Burst: 200}})
	fake.APIGateway.AddUsagePlan("p2", awsfake.UsagePlan{})
	u := NewUsagePlan(conn)
	tg := &config.Target{Name: "plan", Kind: config.APIGatewayUsagePlan, UsagePlan: "p1", Limit: "rate", BurstRatio: 2, Min: 1, Max: 1000}

	st, err := u.Current(ctx, tg, t0)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "state", controller.State{Value: 100, Constraints: policy.Constraints{Ceiling: AccountRate}, Burst: 200, HaveBurst: true}, st)
	if err := u.Apply(ctx, tg, 100, 12.5, t0); err != nil {
		t.Fatal(err)
	}
	ups := fake.Calls("UpdateUsagePlan")
	if len(ups) != 1 || ups[0].Method != "PATCH" || ups[0].Path != "/usageplans/p1" {
		t.Fatalf("UpdateUsagePlan = %+v", ups)
	}
	// The rate is a decimal; the burst, an integer, follows it by the ratio.
	diff(t, "patch", []awsfake.PatchOperation{
		{Op: "replace", Path: "/throttle/rateLimit", Value: "12.5"},
		{Op: "replace", Path: "/throttle/burstLimit", Value: "25"},
	}, patches(t, ups[0]))
	diff(t, "plan after", awsfake.Throttle{Rate: 12.5, Burst: 25}, *fake.APIGateway.UsagePlan("p1").Throttle)

	// One UpdateUsagePlan per 20 s per account: another plan must wait,
	// and says until when.
	tg2 := &config.Target{Name: "plan2", Kind: config.APIGatewayUsagePlan, UsagePlan: "p2", Limit: "burst", Min: 1, Max: 1000}
	st, err = u.Current(ctx, tg2, t0.Add(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	// p2 has no throttle: the account's limit applies, and the state
	// says there is no setting (nothing to follow, nothing to revert to).
	diff(t, "state of p2", controller.State{Value: AccountBurst, Constraints: policy.Constraints{Ceiling: AccountBurst, NotBefore: t0.Add(UsagePlanInterval)}, Unset: true}, st)
	wantClass(t, u.Apply(ctx, tg2, AccountBurst, 300, t0.Add(5*time.Second)), controller.ClassThrottled)
	if n := len(fake.Calls("UpdateUsagePlan")); n != 1 {
		t.Fatalf("UpdateUsagePlan calls = %d within 20 s, want 1", n)
	}
	if err := u.Apply(ctx, tg2, AccountBurst, 300, t0.Add(UsagePlanInterval)); err != nil {
		t.Fatal(err)
	}
	// A burst target sends the burst alone.
	diff(t, "burst patch", []awsfake.PatchOperation{{Op: "replace", Path: "/throttle/burstLimit", Value: "300"}}, patches(t, fake.Calls("UpdateUsagePlan")[1]))
}

func TestUsagePlanPerMethod(t *testing.T) {
	fake, conn := connect(t, awsclient.Options{})
	fake.APIGateway.AddUsagePlan("p1", awsfake.UsagePlan{
		Throttle: &awsfake.Throttle{Rate: 100, Burst: 200},
		Methods:  map[string]map[string]awsfake.Throttle{"api1:prod": {"/pets/GET": {Rate: 40, Burst: 80}}},
	})
	u := NewUsagePlan(conn)
	tg := &config.Target{Name: "m", Kind: config.APIGatewayUsagePlan, UsagePlan: "p1", APIStage: "api1:prod", Method: "/pets/GET", Limit: "rate", Min: 1, Max: 1000}
	st, err := u.Current(ctx, tg, t0)
	if err != nil {
		t.Fatal(err)
	}
	if st.Value != 40 {
		t.Errorf("per-method rate = %v, want 40", st.Value)
	}
	if err := u.Apply(ctx, tg, 40, 55.25, t0); err != nil {
		t.Fatal(err)
	}
	diff(t, "patch", []awsfake.PatchOperation{{Op: "replace", Path: "/apiStages/api1:prod/throttle/~1pets/GET/rateLimit", Value: "55.25"}}, patches(t, fake.Calls("UpdateUsagePlan")[0]))
	if got := fake.APIGateway.UsagePlan("p1").Methods["api1:prod"]["/pets/GET"]; got.Rate != 55.25 || got.Burst != 80 {
		t.Errorf("method throttle after = %+v", got)
	}
}

func TestStageThrottle(t *testing.T) {
	fake, conn := connect(t, awsclient.Options{})
	fake.APIGateway.AddStage("r1", "prod", awsfake.Stage{MethodSettings: map[string]awsfake.Throttle{"*/*": {Rate: 500, Burst: 1000}}})
	s := &Stage{Conn: conn}
	all := &config.Target{Name: "all", Kind: config.APIGatewayStage, RestAPI: "r1", Stage: "prod", Method: "/*/*", Limit: "rate", BurstRatio: 2, Min: 1, Max: 5000}
	st, err := s.Current(ctx, all, t0)
	if err != nil {
		t.Fatal(err)
	}
	if st.Value != 500 || st.Unset {
		t.Errorf("stage rate = %v (unset %v), want 500, set", st.Value, st.Unset)
	}
	// A stage with no throttling at all: the account's rate, and no
	// setting.
	fake.APIGateway.AddStage("r2", "prod", awsfake.Stage{})
	bare := &config.Target{Name: "bare", Kind: config.APIGatewayStage, RestAPI: "r2", Stage: "prod", Method: "/*/*", Limit: "rate", Min: 1, Max: 5000}
	if st, err := s.Current(ctx, bare, t0); err != nil || st.Value != AccountRate || !st.Unset {
		t.Errorf("an unthrottled stage: %+v %v, want the account's rate, unset", st, err)
	}
	if err := s.Apply(ctx, all, 500, 600, t0); err != nil {
		t.Fatal(err)
	}
	c := fake.Calls("UpdateStage")[0]
	if c.Method != "PATCH" || c.Path != "/restapis/r1/stages/prod" {
		t.Errorf("UpdateStage = %s %s", c.Method, c.Path)
	}
	diff(t, "patch", []awsfake.PatchOperation{
		{Op: "replace", Path: "/*/*/throttling/rateLimit", Value: "600"},
		{Op: "replace", Path: "/*/*/throttling/burstLimit", Value: "1200"},
	}, patches(t, c))

	// One method, with a nested resource path escaped as ~1.
	one := &config.Target{Name: "one", Kind: config.APIGatewayStage, RestAPI: "r1", Stage: "prod", Method: "/pets/items/GET", Limit: "burst", Min: 1, Max: 5000}
	st, err = s.Current(ctx, one, t0)
	if err != nil {
		t.Fatal(err)
	}
	if st.Value != 1200 {
		t.Errorf("a method without its own setting = %v, want the stage-wide 1200", st.Value)
	}
	if err := s.Apply(ctx, one, 1200, 70, t0); err != nil {
		t.Fatal(err)
	}
	diff(t, "method patch", []awsfake.PatchOperation{{Op: "replace", Path: "/~1pets~1items/GET/throttling/burstLimit", Value: "70"}}, patches(t, fake.Calls("UpdateStage")[1]))
	st, _ = s.Current(ctx, one, t0)
	if st.Value != 70 {
		t.Errorf("method burst after = %v, want 70", st.Value)
	}

	// API Gateway's management quota answers 429, retried by the SDK.
	fake.Fail("GetStage", awsfake.APIError{Status: 429, Code: "TooManyRequestsException", Message: "Too Many Requests"})
	if _, err := s.Current(ctx, all, t0); err != nil {
		t.Fatalf("after one 429: %v", err)
	}
	fake.Fail("UpdateStage", awsfake.APIError{Status: 404, Code: "NotFoundException", Message: "Invalid stage identifier specified"})
	wantClass(t, s.Apply(ctx, all, 600, 700, t0), controller.ClassNotFound)
}
