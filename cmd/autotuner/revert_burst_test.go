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

const burstPolicies = `version: 1
defaults: {region: us-east-1}
targets:
  - name: public-api-plan
    kind: apigateway-usage-plan
    usage_plan: p1
    min: 50
    max: 2000
    signals:
      requests: {namespace: AWS/ApiGateway, metric: Count, dimensions: {ApiName: public, Stage: prod}, stat: Sum, per_second: true}
    policy:
      autotuner:
        utilization: {signal: requests, target: 70%}
        up: {max_step: 30%, after: 1, cooldown: 0s}
`

// A plan at 100/333 (burst_ratio 2), raised by 30%: the increase keeps
// the burst of 333, although ceil(130 × 2) = 260. A plan at 100/150 raised
// the same way gets a burst of 260, following the rate. revert puts back
// both the rate and the burst in each case.
func TestRevertRestoresTheBurst(t *testing.T) {
	for _, tc := range []struct {
		burst, raisedBurst int
	}{
		{burst: 333, raisedBurst: 333},
		{burst: 150, raisedBurst: 260},
	} {
		fake := awsfake.Start(t)
		fake.APIGateway.AddUsagePlan("p1", awsfake.UsagePlan{Throttle: &awsfake.Throttle{Rate: 100, Burst: tc.burst}})
		fake.CloudWatch.Value = func(q awsfake.MetricDataQuery, ts time.Time) (float64, bool) {
			return 1000 * 60, true // 1000 requests/s against a limit of 100: up
		}
		dir := t.TempDir()
		cfg := filepath.Join(dir, "p.yaml")
		statePath := filepath.Join(dir, "s.json")
		if err := os.WriteFile(cfg, []byte(burstPolicies), 0o644); err != nil {
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

		cmd("once")
		th := *fake.APIGateway.UsagePlan("p1").Throttle
		if th.Rate != 130 || th.Burst != tc.raisedBurst {
			t.Errorf("100/%d raised by 30%%: %v/%v, want 130/%d", tc.burst, th.Rate, th.Burst, tc.raisedBurst)
		}
		out := cmd("revert")
		th = *fake.APIGateway.UsagePlan("p1").Throttle
		if th.Rate != 100 || th.Burst != tc.burst {
			t.Errorf("after revert: %v/%v, want 100/%d\n%s", th.Rate, th.Burst, tc.burst, out)
		}
		if !strings.Contains(out, "burst") {
			t.Errorf("revert does not say what it did with the burst:\n%s", out)
		}
	}
}
