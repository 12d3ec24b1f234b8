package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/autotuner/autotuner/internal/awsfake"
)

const httpPolicies = `version: 1
defaults: {region: us-east-1}
targets:
  - name: shop-orders
    kind: apigatewayv2-stage
    api_id: a1b2c3d4
    stage: prod
    route: POST /orders
    min: 10
    max: 2000
    policy:
      autotuner:
        up: {max_step: 30%, after: 1, cooldown: 0s}
`

// Through the whole path (preset signals, the controller, the state file,
// the audit): a route at 100/333 under load is raised by 30% and keeps its
// burst and its detailed metrics; dry-run changes nothing; revert puts
// back both the rate and the burst.
func TestHTTPAPIRouteOnceAndRevert(t *testing.T) {
	fake := awsfake.Start(t)
	rate, burst, on := 100.0, 333, true
	fake.APIGatewayV2.AddAPI("a1b2c3d4", "shop", "POST /orders", "GET /items")
	fake.APIGatewayV2.AddStage("a1b2c3d4", "prod", awsfake.HTTPStage{Routes: map[string]awsfake.RouteSettings{
		"POST /orders": {ThrottlingRateLimit: &rate, ThrottlingBurstLimit: &burst, DetailedMetricsEnabled: &on},
	}})
	fake.CloudWatch.Value = func(q awsfake.MetricDataQuery, ts time.Time) (float64, bool) {
		m := q.Metric()
		if m.Namespace != "AWS/ApiGateway" || m.Dimensions["ApiId"] != "a1b2c3d4" || m.Dimensions["Resource"] != "/orders" || m.Dimensions["Method"] != "POST" {
			return 0, false
		}
		if m.Name == "Count" {
			return 1000 * 60, true // 1000 requests/s against a limit of 100: up
		}
		return 0, true // 4xx: none
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "p.yaml")
	statePath := filepath.Join(dir, "s.json")
	if err := os.WriteFile(cfg, []byte(httpPolicies), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		if code := run(context.Background(), testEnv(&out, &errb), append(args, "-c", cfg, "--state", statePath)); code != exitOK {
			t.Fatalf("%v: exit %d\n%s%s", args, code, out.String(), errb.String())
		}
		return out.String()
	}
	route := func() awsfake.RouteSettings {
		return fake.APIGatewayV2.Stage("a1b2c3d4", "prod").Routes["POST /orders"]
	}

	cmd("plan")
	if n := len(fake.Calls("UpdateStage")); n != 0 {
		t.Fatalf("plan made %d UpdateStage calls", n)
	}
	out := cmd("once")
	r := route()
	if *r.ThrottlingRateLimit != 130 || *r.ThrottlingBurstLimit != 333 || r.DetailedMetricsEnabled == nil || !*r.DetailedMetricsEnabled {
		t.Fatalf("raised to %+v, want 130/333 with detailed metrics\n%s", r, out)
	}
	if _, ok := fake.APIGatewayV2.Stage("a1b2c3d4", "prod").Routes["GET /items"]; ok {
		t.Error("another route was given settings")
	}
	out = cmd("revert")
	r = route()
	if *r.ThrottlingRateLimit != 100 || *r.ThrottlingBurstLimit != 333 {
		t.Errorf("after revert: %v/%v, want 100/333\n%s", *r.ThrottlingRateLimit, *r.ThrottlingBurstLimit, out)
	}
	if !strings.Contains(out, "burst") {
		t.Errorf("revert does not say what it did with the burst:\n%s", out)
	}
}
