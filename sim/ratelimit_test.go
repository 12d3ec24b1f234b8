package sim

import (
	"context"
	"os"
	"strings"
	"testing"
)

func partnerScenario() *RateLimitScenario { return PartnerScenario(1) }

func staticBucket(t *testing.T, example string) []byte {
	t.Helper()
	return StaticBucket([]byte(example), "partner-api-bucket", 400)
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

// The bake-off's rows are the same runs on the built-in policies, which
// are the example's.
func TestRateLimitBakeoff(t *testing.T) {
	builtin, _ := builtins.ReadFile("policies/ratelimit-partner.yaml")
	example, err := os.ReadFile("../policies.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	block := string(builtin[strings.Index(string(builtin), "  # A partner's API"):])
	if !strings.Contains(string(example), block) {
		t.Fatal("sim/policies/ratelimit-partner.yaml no longer holds the example's partner-api-bucket target")
	}
	rows, err := RateLimitBakeoff(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		t.Logf("%-28s granted %.0f served %.0f 429s %.0f (%.0f after minute 1, %.2f%% of granted) efficiency %.3f actuations %d",
			r.Policy, r.R.Granted, r.R.Served, r.R.Throttled, r.R.ThrottledAfterFirstMinute, 100*r.R.Throttled/r.R.Granted, r.R.Efficiency, r.R.Actuations)
	}
	if len(rows) != 3 || rows[1].R.Actuations == 0 || rows[2].R.Actuations != 0 || rows[1].R.Throttled >= rows[2].R.Throttled {
		t.Fatalf("rows: %+v %+v %+v", rows[0].R, rows[1].R, rows[2].R)
	}
	// The fast loop sees a fall one second after it, not two minutes:
	// the 429s of that second are all that remain, and it serves more
	// than the minutes alone do. (The goal is no 429 at all and 90% of
	// capacity: docs/simulator.md says what stands between.)
	if f, m := rows[0].R, rows[1].R; f.ThrottledAfterFirstMinute > m.ThrottledAfterFirstMinute/100 || f.Efficiency < m.Efficiency {
		t.Errorf("fast loop: %v 429s after the first minute, efficiency %.3f; minutes alone: %v, %.3f", f.ThrottledAfterFirstMinute, f.Efficiency, m.ThrottledAfterFirstMinute, m.Efficiency)
	}
}

// The fast loop's file is the example's target with only the latency
// guard moved above the loop's own target.
func TestRateLimitFastPolicies(t *testing.T) {
	slow, _ := builtins.ReadFile("policies/ratelimit-partner.yaml")
	fast, _ := builtins.ReadFile("policies/ratelimit-partner-fast.yaml")
	for _, key := range []string{"utilization: {signal: acquired, target: 90%}", "up: {max_step: 10%, cooldown: 2m}", "{signal: partner_429s, warn: 1, critical: 20, cut: 30%}", "min: 50", "max: 1000"} {
		if !strings.Contains(string(slow), key) || !strings.Contains(string(fast), key) {
			t.Errorf("%q is not in both partner files", key)
		}
	}
}
