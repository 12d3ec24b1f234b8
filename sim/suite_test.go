package sim

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// guardedGoals are the goals the default policy meets today on the short,
// synthetic scenarios (no trace files needed), with the suite's seed. The
// regression test fails if one of them is lost. Issue 6 wants every goal
// met everywhere; a goal joins this table when the policy meets it, and
// leaves it only by a deliberate trade, named here. The goals missed today
// are listed in docs/bakeoff.md.
//
// Traded: spike-train's "cost ≤ 1.3× oracle" (1.40× now) and nasa-diurnal's
// "cost ≤ 1.10× target-tracking" and Pareto, for the stabilization window
// that grows when decreases flap (policy.Guards.StabilizationMax): over
// seeds 1–8 it cut spike-train's reversals by 86% and nasa-diurnal's
// throttles by 90%, for 12% and 28% more DynamoDB capacity.
//
// Lost to the warm-up: brownout's back-pressure cut comes 240 s after the
// brownout once the run starts warm (it came within 180 s from a cold
// start, when the limits were still climbing); a finding for the policy.
var guardedGoals = map[string][]string{
	"steady":      {GoalThrottledVsTT, GoalNoQuotaViolations, GoalReversals, GoalCostVsTT, GoalOverload, GoalNearOracleThr, GoalNearOracleCost, GoalActuations},
	"diurnal":     {GoalThrottledVsTT, GoalNoQuotaViolations, GoalReversals, GoalCostVsTT, GoalOverload, GoalPareto, GoalNearOracleThr, GoalNearOracleCost, GoalActuations},
	"flash-crowd": {GoalThrottledVsTT, GoalThrottledHalfTT, GoalNoQuotaViolations, GoalReversals, GoalPareto, GoalNearOracleCost, GoalActuations},
	"spike-train": {GoalThrottledVsTT, GoalThrottledHalfTT, GoalNoQuotaViolations, GoalOverload, GoalPareto, GoalReversals, GoalActuations},
	"brownout":    {GoalNoQuotaViolations, GoalCostVsTT, GoalPareto, GoalReversals, GoalActuations},
}

// azure-bursty's cost goals (≤ 1.10× target tracking, ≤ 1.3× the oracle)
// were lost when the model followed AWS's documentation and runs began
// warm: 1.33× and 1.31× now.
//
// guardedTraceGoals are likewise the goals met today on the scenarios that
// replay the real traces of ../shared/traces; they are checked when the
// traces are there.
var guardedTraceGoals = map[string][]string{
	"azure-bursty": {GoalThrottledVsTT, GoalThrottledHalfTT, GoalNoQuotaViolations, GoalReversals, GoalOverload, GoalPareto, GoalActuations},
	"nasa-diurnal": {GoalThrottledVsTT, GoalNoQuotaViolations, GoalReversals, GoalOverload, GoalNearOracleThr, GoalNearOracleCost, GoalActuations},
}

// suiteSeed is the seed of the bake-off (make bakeoff).
const suiteSeed = 1

func runShortSuite(t *testing.T) []*ScenarioRun {
	t.Helper()
	var names []string
	for _, n := range BuiltinScenarios() {
		if _, ok := guardedGoals[n]; ok {
			names = append(names, n)
		}
	}
	if len(names) != len(guardedGoals) {
		t.Fatalf("guardedGoals names a scenario that is not built in: have %v, built in %v", guardedGoals, BuiltinScenarios())
	}
	runs, err := RunSuite(context.Background(), SuiteOptions{Scenarios: names, Seed: suiteSeed, TracesDir: "testdata"})
	if err != nil {
		t.Fatal(err)
	}
	return runs
}

func TestSuiteRegression(t *testing.T) {
	checkGuarded(t, runShortSuite(t), guardedGoals)
}

func TestTraceSuiteRegression(t *testing.T) {
	if _, err := os.Stat(realTraces); err != nil {
		t.Skip("no ../shared/traces here")
	}
	var names []string
	for n := range guardedTraceGoals {
		names = append(names, n)
	}
	slices.Sort(names)
	runs, err := RunSuite(context.Background(), SuiteOptions{Scenarios: names, Seed: suiteSeed, TracesDir: realTraces})
	if err != nil {
		t.Fatal(err)
	}
	checkGuarded(t, runs, guardedTraceGoals)
}

// checkGuarded fails for every guarded goal a run no longer meets.
func checkGuarded(t *testing.T, runs []*ScenarioRun, guarded map[string][]string) {
	t.Helper()
	for _, r := range runs {
		name := r.Setup.Scenario.Name
		t.Run(name, func(t *testing.T) {
			if len(r.Results) != len(SuitePolicies) {
				t.Fatalf("%d results, want %d", len(r.Results), len(SuitePolicies))
			}
			for _, res := range r.Results {
				if res.KPIs.Offered == 0 {
					t.Errorf("%s: nothing offered", res.Policy)
				}
			}
			got := map[string]Goal{}
			for _, g := range r.Goals {
				got[g.Name] = g
			}
			for _, want := range guarded[name] {
				g, ok := got[want]
				switch {
				case !ok:
					t.Errorf("goal %q was not checked", want)
				case !g.Pass:
					t.Errorf("goal %q lost: measured %v, threshold %v (%s)", want, g.Measured, g.Threshold, g.Detail)
				}
			}
			if len(r.Story) == 0 {
				t.Error("no narrative")
			}
		})
	}
}

// TestSuiteDeterministic: the same seed gives the same numbers, the same
// story and the same chart, whatever the interleaving of the runs.
func TestSuiteDeterministic(t *testing.T) {
	run := func(workers int) *ScenarioRun {
		runs, err := RunSuite(context.Background(), SuiteOptions{Scenarios: []string{"flash-crowd"}, Seed: 7, Workers: workers,
			Override: func(sc *Scenario) { sc.Duration = Duration(90 * 60 * 1e9) }})
		if err != nil {
			t.Fatal(err)
		}
		return runs[0]
	}
	a, b := run(1), run(2)
	if a.Setup.DurationS != 90*60 {
		t.Fatalf("override ignored: %d s", a.Setup.DurationS)
	}
	for i := range a.Results {
		if a.Results[i].KPIs != b.Results[i].KPIs {
			t.Errorf("%s: %+v then %+v", a.Results[i].Policy, a.Results[i].KPIs, b.Results[i].KPIs)
		}
	}
	if sa, sb := strings.Join(a.Story, " "), strings.Join(b.Story, " "); sa != sb {
		t.Errorf("narrative differs:\n%s\n%s", sa, sb)
	}
	var pa, pb bytes.Buffer
	if err := a.WriteChartPNG(&pa); err != nil {
		t.Fatal(err)
	}
	if err := b.WriteChartPNG(&pb); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pa.Bytes(), pb.Bytes()) || !bytes.HasPrefix(pa.Bytes(), []byte("\x89PNG")) {
		t.Errorf("charts differ or are not PNG (%d and %d bytes)", pa.Len(), pb.Len())
	}
}

// TestSuiteDigest: the audit digest sees the brownout's back-pressure cut
// and the narrative quotes the run's own numbers.
func TestSuiteDigest(t *testing.T) {
	runs, err := RunSuite(context.Background(), SuiteOptions{Scenarios: []string{"brownout"}, Seed: suiteSeed,
		Policies: []string{PolicyAutotuner, "target-tracking", PolicyOracle}})
	if err != nil {
		t.Fatal(err)
	}
	r := runs[0]
	d := r.Digest(PolicyAutotuner)
	if d == nil || len(d.Changes) != r.Result(PolicyAutotuner).KPIs.Actuations {
		t.Fatalf("digest changes %d, actuations %d", len(d.Changes), r.Result(PolicyAutotuner).KPIs.Actuations)
	}
	if len(d.BackPressureCuts) == 0 {
		t.Fatal("no back-pressure cut in brownout")
	}
	for _, c := range d.BackPressureCuts {
		if c.To >= c.From || c.Action != "down" {
			t.Errorf("a cut that does not lower: %+v", c)
		}
	}
	story := strings.Join(r.Story, " ")
	at, tt := r.Result(PolicyAutotuner).KPIs, r.Result("target-tracking").KPIs
	for _, want := range []string{itoa(at.Throttled), itoa(tt.Throttled), "surge ×3", "Back-pressure cut"} {
		if !strings.Contains(story, want) {
			t.Errorf("narrative lacks %q:\n%s", want, story)
		}
	}
	// Policies not run are absent from the goals, not failed.
	for _, g := range r.Goals {
		if g.Name == GoalOverload && !strings.Contains(g.Detail, "target-tracking") {
			t.Errorf("overload compared with %s; only target-tracking ran", g.Detail)
		}
	}
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

// BenchmarkSuiteShort is the regression test's suite: five synthetic
// scenarios (37 simulated hours) under eight policies, on every core.
func BenchmarkSuiteShort(b *testing.B) {
	var names []string
	for n := range guardedGoals {
		names = append(names, n)
	}
	for b.Loop() {
		if _, err := RunSuite(context.Background(), SuiteOptions{Scenarios: names, Seed: suiteSeed}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestHoldoutTraces replays real traces that no built-in scenario uses
// and that no default was tuned on (testdata/holdout): other Azure
// Functions, the Azure LLM trace per second, and NASA's August with its
// outage. On each, the default policy throttles no more than target
// tracking and never breaks a quota. A default that wins the bake-off
// only through tuning on its traces would fail here first. (The calm goal
// is not asserted: on azure-379519b2 autotuner makes 16 changes to target
// tracking's 10, while both turn most of the traffic away.)
func TestHoldoutTraces(t *testing.T) {
	if _, err := os.Stat(realTraces); err != nil {
		t.Skip("no ../shared/traces here")
	}
	files, err := filepath.Glob("testdata/holdout/*.yaml")
	if err != nil || len(files) < 5 {
		t.Fatalf("hold-out scenarios: %v %v", files, err)
	}
	runs, err := RunSuite(context.Background(), SuiteOptions{Scenarios: files, Seed: suiteSeed, TracesDir: realTraces,
		Policies: []string{PolicyAutotuner, "target-tracking"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range runs {
		a, tt := r.Result(PolicyAutotuner).KPIs, r.Result("target-tracking").KPIs
		name := r.Setup.Scenario.Name
		if a.Offered == 0 {
			t.Errorf("%s: nothing offered", name)
		}
		if a.Throttled > tt.Throttled {
			t.Errorf("%s: autotuner throttled %d, target tracking %d", name, a.Throttled, tt.Throttled)
		}
		if a.QuotaViolations != 0 {
			t.Errorf("%s: %d quota violations", name, a.QuotaViolations)
		}
	}
}
