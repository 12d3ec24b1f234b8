package actuators

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/internal/awsclient"
	"github.com/autotuner/autotuner/internal/testenv"
)

// A second opinion from moto, a third-party emulator, on the usage-plan
// burst rules: a plan at 100/333 raised to 130 keeps its burst of 333,
// and RestoreBurst puts back 100/333. (moto answers a fractional rate with
// HTTP 500, so the rates here are whole.)
func TestUsagePlanBurstOnMoto(t *testing.T) {
	if testing.Short() {
		t.Skip("starts moto")
	}
	url := testenv.Moto(t)
	t.Setenv("AWS_ENDPOINT_URL", url)
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/config")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/credentials")
	f, err := awsclient.New(ctx, awsclient.Options{NoRateLimits: true})
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.For("", "")
	if err != nil {
		t.Fatal(err)
	}
	plan, err := c.APIGateway.CreateUsagePlan(ctx, &apigateway.CreateUsagePlanInput{Name: aws.String("public"), Throttle: &types.ThrottleSettings{RateLimit: 100, BurstLimit: 333}})
	if err != nil {
		t.Fatal(err)
	}
	u := NewUsagePlan(f.For)
	tg := &config.Target{Name: "plan", Kind: config.APIGatewayUsagePlan, UsagePlan: aws.ToString(plan.Id), Limit: "rate", BurstRatio: 2, Min: 1, Max: 1000}
	st, err := u.Current(ctx, tg, t0)
	if err != nil {
		t.Fatal(err)
	}
	if st.Value != 100 || st.Burst != 333 || !st.HaveBurst {
		t.Fatalf("state %+v, want 100 with burst 333", st)
	}
	if err := u.Apply(ctx, tg, 100, 130, t0); err != nil {
		t.Fatal(err)
	}
	got := func() types.ThrottleSettings {
		out, err := c.APIGateway.GetUsagePlan(ctx, &apigateway.GetUsagePlanInput{UsagePlanId: plan.Id})
		if err != nil {
			t.Fatal(err)
		}
		return *out.Throttle
	}
	if th := got(); th.RateLimit != 130 || th.BurstLimit != 333 {
		t.Errorf("raised: %v/%v, want 130/333", th.RateLimit, th.BurstLimit)
	}
	if err := u.RestoreBurst(ctx, tg, 100, 333, t0.Add(UsagePlanInterval)); err != nil {
		t.Fatal(err)
	}
	if th := got(); th.RateLimit != 100 || th.BurstLimit != 333 {
		t.Errorf("restored: %v/%v, want 100/333", th.RateLimit, th.BurstLimit)
	}
}
