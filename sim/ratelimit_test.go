package sim

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// partnerScenario: 600 requests/s want a partner API whose capacity is
// 500/s, drops to 300/s at 20 minutes and comes back to 450/s at 40.
func partnerScenario() *RateLimitScenario {
	return &RateLimitScenario{
		Duration: time.Hour, Start: time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC), Seed: 1,
		Demand:   600,
		Capacity: []float64{500, 300, 450}, CapacityAt: []time.Duration{0, 20 * time.Minute, 40 * time.Minute},
		Latency: 80 * time.Millisecond, Rate: 400, MetricDelay: time.Minute,
	}
}

// staticBucket is the example's partner-api-bucket with its rate fixed
// where it starts: the shared limiter without autotuner.
func staticBucket(t *testing.T, example string) []byte {
	t.Helper()
	i := strings.Index(example, "  - name: partner-api-bucket")
	j := strings.Index(example, "  - name: partner-api-us")
	block := example[i:j]
	p := strings.Index(block, "    policy:\n")
	return []byte(example[:i] + block[:p] + "    policy:\n      static: {value: 400}\n\n" + example[j:])
}

// TestRateLimitComponent runs the example file's partner-api-bucket
// target, with the real controller, against a partner API whose capacity
// changes, and compares it with the same bucket at a fixed rate.
func TestRateLimitComponent(t *testing.T) {
	b, err := os.ReadFile("../policies.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tuned, err := RunRateLimit(ctx, partnerScenario(), b, "partner-api-bucket")
	if err != nil {
		t.Fatal(err)
	}
	fixed, err := RunRateLimit(ctx, partnerScenario(), staticBucket(t, string(b)), "partner-api-bucket")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []struct {
		name string
		r    *RateLimitResult
	}{{"autotuner", tuned}, {"static 400/s", fixed}} {
		t.Logf("%-12s offered %.0f granted %.0f served %.0f; 429s %.0f (%.2f%% of granted); served/usable %.3f; %d actuations",
			r.name, r.r.Offered, r.r.Granted, r.r.Served, r.r.Throttled, 100*r.r.Throttled/r.r.Granted, r.r.Efficiency, r.r.Actuations)
	}
	t.Logf("autotuner's rate each minute: %v", tuned.Rates)
	if tuned.Throttled > fixed.Throttled/3 {
		t.Errorf("autotuner let %v 429s through, the fixed rate %v: it should cut them by two thirds at least", tuned.Throttled, fixed.Throttled)
	}
	if tuned.Efficiency < 0.8 {
		t.Errorf("autotuner served %.3f of what the API could serve, want at least 0.8", tuned.Efficiency)
	}
	if fixed.Actuations != 0 || tuned.Actuations == 0 {
		t.Errorf("actuations: tuned %d, fixed %d", tuned.Actuations, fixed.Actuations)
	}
}
