package sim

import (
	"strings"
	"testing"
	"time"
)

// warmScenario starts a function far below its need: without a warm-up,
// every policy is scored on how fast it climbs out of the cold start.
const warmScenario = `
duration: 20m
warmup: %s
topology:
  kind: api-lambda-dynamodb
  api: {rate: 5000, burst: 5000}
  lambda: {name: fn, reserved: 1, duration: {median: 200ms, p99: 800ms}}
traffic: {rate: 50}
cloudwatch: {delay_min: 1m, delay_max: 1m}
`

// The warm-up runs at the first rate and is not scored: the run's offered
// load, timeline and audit records cover the scenario's duration only,
// and a policy that climbs out of the cold start in the warm-up is scored
// on the warm system.
func TestWarmupIsRunButNotScored(t *testing.T) {
	cold := setup(t, strings.Replace(warmScenario, "%s", "0s", 1), fnPolicies)
	warm := setup(t, strings.Replace(warmScenario, "%s", "30m", 1), fnPolicies)
	if got := warm.Scenario.WarmupS(); got != 1800 {
		t.Fatalf("warm-up %d s, want 1800", got)
	}
	rc, _ := run(t, cold, PolicyAutotuner)
	rw, recs := run(t, warm, PolicyAutotuner)
	for _, r := range []*Result{rc, rw} {
		if o := float64(r.KPIs.Offered); o < 50*1200*0.97 || o > 50*1200*1.03 {
			t.Errorf("offered %v, want about 50/s × 20 min = 60000", o)
		}
		if len(r.Timeline.Offered) != 20 {
			t.Errorf("timeline of %d minutes, want 20", len(r.Timeline.Offered))
		}
	}
	for _, r := range recs {
		if r.Time.Before(warm.Scenario.Start) {
			t.Fatalf("a record at %v, before the scenario's start %v", r.Time, warm.Scenario.Start)
		}
	}
	if rc.KPIs.Lost < 1000 {
		t.Fatalf("cold start lost %d: the scenario should start short of capacity", rc.KPIs.Lost)
	}
	if 10*rw.KPIs.Lost > rc.KPIs.Lost {
		t.Errorf("after a warm-up lost %d, cold %d: the warm-up did not settle the limit", rw.KPIs.Lost, rc.KPIs.Lost)
	}
	if rw.KPIs.Actuations >= rc.KPIs.Actuations {
		t.Errorf("actuations warm %d, cold %d: the warm-up's changes are counted", rw.KPIs.Actuations, rc.KPIs.Actuations)
	}
}

// static keeps its sizing through the warm-up: it is set once, before the
// warm-up, and never moves.
func TestWarmupKeepsStaticSizing(t *testing.T) {
	s := setup(t, strings.Replace(warmScenario, "%s", "1h", 1), fnPolicies)
	res, recs := run(t, s, PolicyStatic)
	want := s.staticValue(s.mustTarget(t, "fn"), kReserved)
	for m, l := range res.Timeline.LambdaLimit {
		if l != want {
			t.Fatalf("minute %d: limit %v, want the static sizing %v", m, l, want)
		}
	}
	if res.KPIs.Actuations != 0 || len(recs) == 0 {
		t.Errorf("static: %d actuations, %d records", res.KPIs.Actuations, len(recs))
	}
	if s.Scenario.Start.Sub(recs[0].Time) > 0 || recs[0].Time.Sub(s.Scenario.Start) >= time.Minute {
		t.Errorf("first record at %v, want the scenario's first tick %v", recs[0].Time, s.Scenario.Start)
	}
}

// A warm-up is whole minutes from 0 to 6 h; anything else is an error that
// names the key.
func TestWarmupValidation(t *testing.T) {
	base := "duration: 1h\ntopology: {kind: api-lambda-dynamodb, api: {rate: 1}}\ntraffic: {rate: 1}\n"
	for _, tc := range []struct {
		warmup string
		want   int64 // seconds; -1: an error
	}{
		{"", 1800}, {"warmup: 0s\n", 0}, {"warmup: 45m\n", 2700}, {"warmup: 6h\n", 21600},
		{"warmup: 90s\n", -1}, {"warmup: 7h\n", -1}, {"warmup: -1m\n", -1},
	} {
		sc, err := ParseScenario("t", []byte(base+tc.warmup))
		switch {
		case tc.want < 0 && (err == nil || !strings.Contains(err.Error(), "warmup") && !strings.Contains(err.Error(), "line 4")):
			t.Errorf("%q: error %v, want one naming warmup", tc.warmup, err)
		case tc.want >= 0 && err != nil:
			t.Errorf("%q: %v", tc.warmup, err)
		case tc.want >= 0 && sc.WarmupS() != tc.want:
			t.Errorf("%q: warm-up %d s, want %d", tc.warmup, sc.WarmupS(), tc.want)
		}
	}
}
