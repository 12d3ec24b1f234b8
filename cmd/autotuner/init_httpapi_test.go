package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/internal/awsfake"
)

// httpAccount is an account with HTTP APIs: a stage with a default route
// throttle and one route's own, a stage with none, and an API in another
// team's hands.
func httpAccount(t *testing.T) *awsfake.Server {
	fake := awsfake.Start(t)
	rate := func(v float64) *float64 { return &v }
	burst := func(v int) *int { return &v }
	on := true
	fake.APIGatewayV2.AddAPI("a1b2c3d4", "shop", "GET /items", "POST /orders")
	fake.APIGatewayV2.AddStage("a1b2c3d4", "prod", awsfake.HTTPStage{
		Default: awsfake.RouteSettings{ThrottlingRateLimit: rate(500), ThrottlingBurstLimit: burst(1000), DetailedMetricsEnabled: &on},
		Routes:  map[string]awsfake.RouteSettings{"POST /orders": {ThrottlingRateLimit: rate(50), ThrottlingBurstLimit: burst(100)}, "GET /items": {DetailedMetricsEnabled: &on}},
	})
	fake.APIGatewayV2.AddStage("a1b2c3d4", "dev", awsfake.HTTPStage{})
	fake.APIGatewayV2.AddAPI("e5f6g7h8", "billing")
	fake.APIGatewayV2.AddStage("e5f6g7h8", "$default", awsfake.HTTPStage{Default: awsfake.RouteSettings{ThrottlingRateLimit: rate(20), ThrottlingBurstLimit: burst(40)}})
	fake.Tagging.Tag("arn:aws:apigateway:us-east-1::/apis/a1b2c3d4", map[string]string{"autotune": "on"})
	fake.CloudWatch.Value = func(q awsfake.MetricDataQuery, ts time.Time) (float64, bool) {
		if q.Metric().Name == "Count" {
			return 140 * 300, true // 140 requests/s over 5 minutes
		}
		return 0, false
	}
	return fake
}

func TestInitFindsHTTPAPIStages(t *testing.T) {
	fake := httpAccount(t)
	code, out, errs := cli(t, "init")
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	f, err := config.Parse("init.yaml", []byte(out))
	if err != nil {
		t.Fatalf("init's file does not validate: %v\n%s", err, out)
	}
	var names []string
	for _, tg := range f.Targets {
		names = append(names, tg.Name)
	}
	// The dev stage has no throttle and is left out; a route without its
	// own follows the default route and is no knob of its own.
	if got, want := strings.Join(names, " "), "shop:prod shop:prod:POST-orders billing:-default"; got != want {
		t.Errorf("targets %q, want %q\n%s", got, want, out)
	}
	for _, s := range []string{
		"  # HTTP API shop (a1b2c3d4) stage prod, default route throttle 500 requests/s, burst 1000.\n",
		"    kind: apigatewayv2-stage\n    api_id: a1b2c3d4\n    stage: prod\n    min: 50\n    max: 1000\n",
		"  # HTTP API shop (a1b2c3d4) stage prod route POST /orders, throttle 50 requests/s, burst 100.\n",
		"    stage: prod\n    route: \"POST /orders\"\n",
		"    stage: \"$default\"\n",
	} {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks:\n%s\n--- output:\n%s", s, out)
		}
	}
	for _, op := range fake.Ops() {
		if strings.HasPrefix(op, "Update") {
			t.Errorf("init called %s", op)
		}
	}
}

func TestInitHTTPAPIsByTags(t *testing.T) {
	httpAccount(t)
	code, out, errs := cli(t, "init", "--tags", "autotune=on")
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	if strings.Contains(out, "billing") || !strings.Contains(out, "name: shop:prod\n") {
		t.Errorf("tags not applied:\n%s", out)
	}
}

// A selector entry picks stages by name pattern; its route key says which
// knob of each stage.
func TestSelectHTTPAPIStages(t *testing.T) {
	fake := httpAccount(t)
	p := writePolicies(t, `version: 1
defaults: {region: us-east-1}
targets:
  - name: shop
    kind: apigatewayv2-stage
    select: {name: "shop:*"}
    route: POST /orders
    min: 5
    max: 400
`)
	if code, out, errs := cli(t, "validate", p); code != exitOK || !strings.HasSuffix(out, "valid, 2 target(s)\n") {
		t.Fatalf("validate: exit %d, %q, %q", code, out, errs)
	}
	code, out, errs := cli(t, "explain", "-c", p, "shop/shop:prod")
	if code != exitOK || !strings.Contains(out, "api_id: a1b2c3d4\n") || !strings.Contains(out, "route: POST /orders\n") || !strings.Contains(out, "metric: 4xx") {
		t.Fatalf("explain: exit %d, %q, %q", code, out, errs)
	}
	// A new resource runs in dry-run: once reads, changes nothing.
	code, _, errs = cli(t, "once", "-c", p, "--state", filepath.Join(t.TempDir(), "s.json"), "--json")
	if code != exitOK {
		t.Fatalf("once: exit %d, %s", code, errs)
	}
	if n := len(fake.Calls("GetStage")); n == 0 {
		t.Error("once did not read the stages")
	}
	if n := len(fake.Calls("UpdateStage")); n != 0 {
		t.Errorf("%d UpdateStage calls in probation", n)
	}
}
