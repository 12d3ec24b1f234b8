package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/policy"
)

// The same seed gives byte-identical output, however the runs interleave.
func TestSameSeedSameBytes(t *testing.T) {
	out := func(seed uint64) ([]byte, []byte) {
		sc, err := LoadScenario("brownout")
		if err != nil {
			t.Fatal(err)
		}
		sc.Seed = seed
		pn, pd, _ := PoliciesFor(sc)
		s, err := Prepare(sc, pn, pd, "")
		if err != nil {
			t.Fatal(err)
		}
		res, err := s.Compare(context.Background(), PolicyNames(), nil)
		if err != nil {
			t.Fatal(err)
		}
		var j, c bytes.Buffer
		r := NewReport(s, res)
		if err := r.WriteJSON(&j); err != nil {
			t.Fatal(err)
		}
		if err := r.WriteTimelineCSV(&c); err != nil {
			t.Fatal(err)
		}
		return j.Bytes(), c.Bytes()
	}
	j1, c1 := out(7)
	j2, c2 := out(7)
	if !bytes.Equal(j1, j2) || !bytes.Equal(c1, c2) {
		t.Fatalf("two runs with seed 7 differ:\n%s", cmp.Diff(string(j1), string(j2)))
	}
	if j3, _ := out(8); bytes.Equal(j1, j3) {
		t.Error("seeds 7 and 8 gave the same results: the seed is not used")
	}
}

// stepScenario offers 10 requests/s, steps to 60 at 30m30s and back at
// 60m30s, with CloudWatch publishing each minute one minute late.
const stepScenario = `
duration: 100m
warmup: 0s
topology:
  kind: api-lambda-dynamodb
  api: {rate: 5000, burst: 5000}
  lambda: {name: fn, reserved: 20, duration: {median: 200ms, p99: 800ms}}
traffic: {rate: 10}
faults:
  - {kind: surge, at: 1830s, for: 30m, factor: 6}
cloudwatch: {delay_min: 1m, delay_max: 1m}
`

const fnPolicies = `
version: 1
defaults: {interval: 1m, metric_delay: 2m}
targets:
  - name: fn
    kind: lambda-reserved-concurrency
    function: fn
    min: 1
    max: 500
    signals:
      busy:      {namespace: AWS/Lambda, metric: ConcurrentExecutions, dimensions: {FunctionName: fn}, stat: Maximum}
      throttles: {namespace: AWS/Lambda, metric: Throttles, dimensions: {FunctionName: fn}, stat: Sum, missing: zero}
    policy:
      autotuner:
        utilization: {signal: busy, target: 70%}
        throttles: throttles
`

func actions(recs []*controller.Record, dir policy.Action) []time.Time {
	var out []time.Time
	for _, r := range recs {
		if r.Applied && r.Decision.Action == dir {
			out = append(out, r.Time)
		}
	}
	return out
}

// Target tracking, derived from the autotuner's utilization signal,
// behaves as AWS documents: it first scales out 2–4 minutes after a step
// (two datapoints plus the reporting delay), and scales in only after 15
// datapoints below the target.
func TestTargetTrackingTimingInSimulation(t *testing.T) {
	s := setup(t, stepScenario, fnPolicies)
	_, recs := run(t, s, "target-tracking")
	start := s.Scenario.Start
	step := start.Add(1830 * time.Second)
	drop := step.Add(30 * time.Minute)

	var firstUpAfterStep time.Time
	for _, at := range actions(recs, policy.Up) {
		if at.After(step) {
			firstUpAfterStep = at
			break
		}
	}
	if d := firstUpAfterStep.Sub(step); firstUpAfterStep.IsZero() || d < 2*time.Minute || d > 4*time.Minute {
		t.Errorf("first scale-out %v after the step, want 2–4 minutes", d)
	}
	downs := actions(recs, policy.Down)
	if len(downs) == 0 {
		t.Fatal("never scaled in")
	}
	// From the start, the first datapoint [0,1m) is read at 3m; 15 low
	// ones end with [14m,15m), read at 17m.
	if d := downs[0].Sub(start); d < 17*time.Minute || d > 18*time.Minute {
		t.Errorf("first scale-in %v after the start, want after 15 low datapoints (17–18 min)", d)
	}
	// Every scale-in follows 15 consecutive low datapoints.
	for _, r := range recs {
		if r.Applied && r.Decision.Action == policy.Down && r.Decision.Terms.Below < 15 {
			t.Errorf("scale-in at %v after %d low datapoints, want 15", r.Time, r.Decision.Terms.Below)
		}
	}
	if len(downs) < 2 || !downs[len(downs)-1].After(drop) {
		t.Errorf("no scale-in after traffic dropped at %v: %v", drop, downs)
	}
	for _, r := range recs {
		if r.Decision.Policy != "target-tracking" {
			t.Fatalf("record of policy %q in a target-tracking run", r.Decision.Policy)
		}
	}
}

// The static baseline never acts.
func TestStaticNeverActs(t *testing.T) {
	s := setup(t, stepScenario, fnPolicies)
	res, recs := run(t, s, PolicyStatic)
	if res.KPIs.Actuations != 0 || len(actions(recs, policy.Up))+len(actions(recs, policy.Down)) != 0 {
		t.Errorf("static acted %d times", res.KPIs.Actuations)
	}
	for _, r := range recs {
		if r.Final != r.Current {
			t.Fatalf("static moved %v → %v at %v", r.Current, r.Final, r.Time)
		}
	}
	// It is sized at 1.2 × the mean demand, in the knob's units.
	want := s.staticValue(s.mustTarget(t, "fn"), kReserved)
	if got := res.Timeline.LambdaLimit[0]; got != want {
		t.Errorf("static limit %v, want %v", got, want)
	}
}

// A simulated tick goes through the product's controller: its audit
// records are controller.Records with every field the daemon fills.
func TestSimulatedAuditRecordIsTheControllersRecord(t *testing.T) {
	s := setup(t, stepScenario, fnPolicies)
	var buf bytes.Buffer
	var recs []*controller.Record
	_, err := s.Run(context.Background(), PolicyAutotuner, RunOptions{
		Audit:    controller.NewJSONLines(&buf),
		OnRecord: func(r *controller.Record) { recs = append(recs, r) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 100 {
		t.Fatalf("%d records, want one per tick (100)", len(recs))
	}
	var sawUp bool
	for _, r := range recs {
		if r.V != controller.AuditVersion || r.Time.IsZero() || r.Target != "fn" || r.Kind != "lambda-reserved-concurrency" ||
			r.Resource != "function fn" || r.Mode != controller.ModeApply || r.Decision == nil || r.Decision.Policy != "autotuner" || r.Error != "" {
			t.Fatalf("record not filled as the controller fills it: %+v", r)
		}
		if _, ok := r.Signals["busy"]; !ok {
			t.Fatalf("record without the busy signal: %+v", r.Signals)
		}
		if r.Constraints.Ceiling != 900 {
			t.Fatalf("constraints %+v, want the Lambda ceiling of 1000 − 100", r.Constraints)
		}
		if r.Applied && r.Decision.Action == policy.Up {
			sawUp = true
			if r.Decision.Reason.Code == "" || r.Final <= r.Current {
				t.Fatalf("an applied increase without a reason or a rise: %+v", r.Decision)
			}
		}
	}
	if !sawUp {
		t.Error("the autotuner never raised the limit through the step")
	}
	// The JSON lines carry the daemon's schema.
	line, _, _ := bytes.Cut(buf.Bytes(), []byte("\n"))
	var m map[string]any
	if err := json.Unmarshal(line, &m); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := []string{"applied", "constraints", "current", "decision", "final", "kind", "mode", "read_actual", "resource", "signals", "target", "time", "v"}
	if diff := cmp.Diff(want, keys); diff != "" {
		t.Errorf("audit line keys (-want +got):\n%s", diff)
	}
}

// The example policies file in the repository simulates as written.
func TestExamplePoliciesSimulate(t *testing.T) {
	data, err := os.ReadFile("../policies.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	sc, err := LoadScenario("testdata/example-topology.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s, err := Prepare(sc, "policies.example.yaml", data, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, pol := range PolicyNames() {
		res, recs := run(t, s, pol)
		for _, r := range recs {
			if r.Error != "" {
				t.Fatalf("%s: %s at %v: %s error: %s", pol, r.Target, r.Time, r.Stage, r.Error)
			}
		}
		if res.KPIs.QuotaViolations != 0 {
			t.Errorf("%s: %d quota violations", pol, res.KPIs.QuotaViolations)
		}
		if res.KPIs.Offered == 0 || res.KPIs.Served == 0 {
			t.Errorf("%s: offered %d served %d", pol, res.KPIs.Offered, res.KPIs.Served)
		}
		if pol == PolicyAutotuner && res.KPIs.Actuations == 0 {
			t.Errorf("the example's autotuner never acted through a ×3 surge")
		}
	}
}

// Every built-in synthetic scenario runs, and no policy breaks a quota.
func TestBuiltinScenariosRun(t *testing.T) {
	for _, name := range BuiltinScenarios() {
		sc, err := LoadScenario(name)
		if err != nil {
			t.Fatal(err)
		}
		if sc.Traffic.Trace != nil || sc.Topology.Lambda.Duration.Trace != nil {
			continue // trace scenarios: see TestTraceScenarios
		}
		pn, pd, err := PoliciesFor(sc)
		if err != nil {
			t.Fatal(err)
		}
		s, err := Prepare(sc, pn, pd, "")
		if err != nil {
			t.Fatal(err)
		}
		res, err := s.Compare(context.Background(), PolicyNames(), nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, r := range res {
			if r.KPIs.QuotaViolations != 0 {
				t.Errorf("%s/%s: %d quota violations", name, r.Policy, r.KPIs.QuotaViolations)
			}
			if r.KPIs.Served > r.KPIs.Offered {
				t.Errorf("%s/%s: served %d of %d offered", name, r.Policy, r.KPIs.Served, r.KPIs.Offered)
			}
		}
	}
}

func (s *Setup) mustTarget(t *testing.T, name string) *configTarget {
	t.Helper()
	f, err := parsePolicies(s)
	if err != nil {
		t.Fatal(err)
	}
	tg := f.Target(name)
	if tg == nil {
		t.Fatalf("no target %s", name)
	}
	return tg
}

// When a table's UPDATING ends, the controller's next look sees the new
// capacity, as DynamoDB shows it: the same increase is never sent twice
// because the tick ran a second before the change took effect.
func TestATableActiveAgainShowsItsNewCapacity(t *testing.T) {
	sc, err := LoadScenario("flash-crowd")
	if err != nil {
		t.Fatal(err)
	}
	pn, pd, _ := PoliciesFor(sc)
	s, err := Prepare(sc, pn, pd, "")
	if err != nil {
		t.Fatal(err)
	}
	_, recs := run(t, s, PolicyAutotuner)
	type change struct{ from, to float64 }
	last := map[string]change{}
	increases := 0
	for _, r := range recs {
		if !r.Applied || r.Kind != string(config.DynamoDBProvisioned) {
			continue
		}
		c := change{r.Decision.Current, r.Decision.Final}
		if prev, ok := last[r.Target]; ok && prev == c {
			t.Errorf("%s at %s: %v → %v sent again; the first one had already taken effect", r.Target, r.Time.Format("15:04"), c.from, c.to)
		}
		if c.to > c.from {
			increases++
		}
		last[r.Target] = c
	}
	if increases == 0 {
		t.Fatal("the flash crowd raised no table capacity")
	}
}
