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
// synthetic scenarios (no trace files needed) on every one of seeds 1–8,
// with the burst bank and without it. The regression test fails if one of
// them is lost. A goal joins this table when the policy meets it, and
// leaves it only by a deliberate trade, named here. The goals missed today
// are listed, with their worst case, in docs/bakeoff.md.
//
// Missed since the score counts lost requests, the oracle gap is measured
// against oracle-causal, cost and overload are compared at equal service
// and every run starts warm (worst case over seeds 1–8 and both banks):
// cost against the cheapest baseline at equal service everywhere (static
// or aimd, 1.14–3.3×) and overload against it; brownout's back-pressure
// cut (240 s), its p99 queue age (2,210 s against target tracking's
// 1,276 s, which dead-letters 42,911 messages to autotuner's none) and its
// Pareto against static without the bank; flash-crowd's and spike-train's
// gap to oracle-causal (2.6%, 1.7%); spike-train's gap to the foresight
// oracle on its recurring spikes (3.95%; on seed 1 every request lost is
// lost in the first hour, before the stabilization window has grown to
// hold capacity between spikes); reversals on flash-crowd,
// spike-train and steady (up to 3.3 an hour); steady's Pareto against
// aimd and threshold.
var guardedGoals = map[string][]string{
	"steady":      {GoalLostVsTT, GoalNearOracle, GoalActuations, GoalNoQuotaViolations},
	"diurnal":     {GoalLostVsTT, GoalPareto, GoalNearOracle, GoalNearOracleCost, GoalReversals, GoalActuations, GoalNoQuotaViolations},
	"flash-crowd": {GoalLostVsTT, GoalLostHalfTT, GoalPareto, GoalActuations, GoalNoQuotaViolations},
	"spike-train": {GoalLostVsTT, GoalLostHalfTT, GoalPareto, GoalActuations, GoalNoQuotaViolations},
	"brownout":    {GoalLostVsTT, GoalNearOracle, GoalReversals, GoalActuations, GoalNoQuotaViolations},
}

// guardedTraceGoals are likewise the goals met today on the scenarios that
// replay the real traces of ../shared/traces, on the bake-off's seed; they
// are checked when the traces are there.
var guardedTraceGoals = map[string][]string{
	"azure-bursty": {GoalLostVsTT, GoalPareto, GoalNearOracle, GoalReversals, GoalActuations, GoalNoQuotaViolations},
	"nasa-diurnal": {GoalLostVsTT, GoalQueueAge, GoalPareto, GoalNearOracle, GoalRecurring, GoalNoQuotaViolations},
	// The scenarios on real traces added with the seasonal profile and
	// the noise-aware band; the goals each meets on every seed and
	// variant of the bake-off.
	"flash-spike":    {GoalLostVsTT, GoalNearOracle, GoalNoQuotaViolations},
	"hourly-cron":    {GoalLostVsTT, GoalLostHalfTT, GoalPareto, GoalNearOracle, GoalNoQuotaViolations},
	"nasa-week":      {GoalLostVsTT, GoalOverload, GoalPareto, GoalNearOracle, GoalNearOracleCost, GoalRecurring, GoalActuations, GoalNoQuotaViolations},
	"noisy-plateau":  {GoalLostVsTT, GoalPareto, GoalNearOracle, GoalNearOracleCost, GoalReversals, GoalActuations, GoalNoQuotaViolations},
	"queue-brownout": {GoalLostVsTT, GoalQueueAge, GoalPareto, GoalNearOracle, GoalNearOracleCost, GoalNoQuotaViolations},
}

// calmScenarios are the noisy plateaus, where the autotuner may make at
// most one reversal per hour per target (twice as calm as elsewhere).
var calmScenarios = []string{"noisy-plateau"}

// suiteSeed is the seed of the bake-off's detailed tables (make bakeoff).
const suiteSeed = 1

// suiteSeeds are the seeds every guarded goal must hold on, each with and
// without the burst bank.
var suiteSeeds = []uint64{1, 2, 3, 4, 5, 6, 7, 8}

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
	seeds := suiteSeeds
	if testing.Short() {
		seeds = seeds[:1]
	}
	runs, err := RunSuite(context.Background(), SuiteOptions{Scenarios: names, Seeds: seeds, Variants: []Variant{NoBurst}, TracesDir: "testdata",
		Detailed: func(r *ScenarioRun) bool { return r.Seed == suiteSeed && r.Variant == "" }})
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
	for _, r := range runs {
		if !slices.Contains(calmScenarios, r.Setup.Scenario.Name) {
			continue
		}
		for _, res := range r.Results {
			if res.Policy != PolicyAutotuner {
				continue
			}
			hours := float64(r.Setup.DurationS) / 3600
			if per := float64(res.KPIs.Reversals) / hours / 3; per > 1 { // its three targets
				t.Errorf("%s: %.2f reversals per hour per target, want at most 1 on a noisy plateau", r.Setup.Scenario.Name, per)
			}
		}
	}
}

// checkGuarded fails for every guarded goal that some seed or variant of
// its scenario no longer meets, naming the worst case.
func checkGuarded(t *testing.T, runs []*ScenarioRun, guarded map[string][]string) {
	t.Helper()
	for _, r := range runs {
		if len(r.Results) != len(SuitePolicies) {
			t.Fatalf("%s: %d results, want %d", r.Setup.Scenario.Name, len(r.Results), len(SuitePolicies))
		}
		for _, res := range r.Results {
			if res.KPIs.Offered == 0 {
				t.Errorf("%s seed %d %s: %s: nothing offered", r.Setup.Scenario.Name, r.Seed, r.Variant, res.Policy)
			}
		}
		if r.Seed == suiteSeed && r.Variant == "" && len(r.Story) == 0 {
			t.Errorf("%s: no narrative", r.Setup.Scenario.Name)
		}
	}
	got := map[string]GoalSummary{}
	for _, g := range SummarizeGoals(runs) {
		got[g.Scenario+"/"+g.Name] = g
	}
	for name, goals := range guarded {
		t.Run(name, func(t *testing.T) {
			for _, want := range goals {
				g, ok := got[name+"/"+want]
				switch {
				case !ok:
					t.Errorf("goal %q was not checked", want)
				case !g.Met():
					w := g.Worst
					t.Errorf("goal %q lost on %d of %d runs; worst seed %d %s: measured %v, threshold %v (%s)", want, g.Runs-g.Passed, g.Runs, g.WorstSeed, g.WorstVariant, w.Measured, w.Threshold, w.Detail)
				}
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
// outage. On each, the default policy loses no more than target tracking
// and never breaks a quota. A default that wins the bake-off
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
		if a.Lost > tt.Lost {
			t.Errorf("%s: autotuner lost %d, target tracking %d", name, a.Lost, tt.Lost)
		}
		if a.QuotaViolations != 0 {
			t.Errorf("%s: %d quota violations", name, a.QuotaViolations)
		}
	}
}
