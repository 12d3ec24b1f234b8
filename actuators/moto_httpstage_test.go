package actuators

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	v2types "github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/internal/awsclient"
	"github.com/autotuner/autotuner/internal/testenv"
	"github.com/autotuner/autotuner/policy"
)

// A second opinion from moto, a third-party emulator, on reading an HTTP
// API stage: the default route's throttle, a route's own, and a route
// that follows the default. moto 5.1.15 serves CreateApi, CreateRoute,
// CreateStage, GetStage and GetStages for API Gateway v2 but not
// UpdateStage: a change is refused there, and the stage is left as it
// was; the write path is checked against the wire fake
// (httpstage_test.go).
func TestHTTPStageOnMoto(t *testing.T) {
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
	f, err := awsclient.New(ctx, awsclient.Options{NoRateLimits: true, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.For("", "")
	if err != nil {
		t.Fatal(err)
	}
	gw := c.APIGatewayV2
	api, err := gw.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("shop"), ProtocolType: v2types.ProtocolTypeHttp})
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"GET /items", "POST /orders"} {
		if _, err := gw.CreateRoute(ctx, &apigatewayv2.CreateRouteInput{ApiId: api.ApiId, RouteKey: aws.String(key)}); err != nil {
			t.Fatal(err)
		}
	}
	_, err = gw.CreateStage(ctx, &apigatewayv2.CreateStageInput{ApiId: api.ApiId, StageName: aws.String("prod"),
		DefaultRouteSettings: &v2types.RouteSettings{ThrottlingRateLimit: aws.Float64(100), ThrottlingBurstLimit: aws.Int32(200), DetailedMetricsEnabled: aws.Bool(true)},
		RouteSettings:        map[string]v2types.RouteSettings{"POST /orders": {ThrottlingRateLimit: aws.Float64(30), ThrottlingBurstLimit: aws.Int32(60)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	s := &HTTPStage{Conn: f.For}
	target := func(route string) *config.Target {
		tg := httpTarget(route, "rate")
		tg.APIID = aws.ToString(api.ApiId)
		return tg
	}
	for _, c := range []struct {
		route string
		want  controller.State
	}{
		{"", controller.State{Value: 100, Burst: 200, HaveBurst: true}},
		{"POST /orders", controller.State{Value: 30, Burst: 60, HaveBurst: true}},
		{"GET /items", controller.State{Value: 100, Unset: true}},
	} {
		st, err := s.Current(ctx, target(c.route), t0)
		if err != nil {
			t.Fatalf("route %q: %v", c.route, err)
		}
		c.want.Constraints = policy.Constraints{Ceiling: AccountRate}
		diff(t, "state of route "+c.route, c.want, st)
	}

	// The gap: moto has no UpdateStage for HTTP APIs. The change fails
	// with an error that names the call, and nothing moves.
	err = s.Apply(ctx, target("POST /orders"), 30, 45, t0)
	if err == nil || !strings.Contains(err.Error(), "UpdateStage") {
		t.Fatalf("Apply on moto: %v, want UpdateStage refused", err)
	}
	t.Logf("moto refuses the change: %v", err)
	st, err := s.Current(ctx, target("POST /orders"), t0)
	if err != nil || st.Value != 30 || st.Burst != 60 {
		t.Fatalf("after the refused change: %+v, %v", st, err)
	}
}
