package sim

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/autotuner/autotuner/config"
)

// tuneOptions tunes one target of the flash crowd, shortened to 90
// minutes, with a cap on simulations instead of a clock.
func tuneOptions(t *testing.T, maxEvals int) TuneOptions {
	t.Helper()
	sc, err := LoadScenario("flash-crowd")
	if err != nil {
		t.Fatal(err)
	}
	sc.Duration = Duration(100 * time.Minute)
	sc.Faults[0].At = Duration(30 * time.Minute)
	pname, pdata, err := PoliciesFor(sc)
	if err != nil {
		t.Fatal(err)
	}
	return TuneOptions{Scenario: sc, PoliciesName: pname, Policies: pdata, TracesDir: "testdata", Targets: []string{"orders-fn"},
		Weights: DefaultTuneWeights(), Holdout: 0.3, MaxEvals: maxEvals, Workers: 2}
}

func TestTuneDeterministicAndPastable(t *testing.T) {
	a, err := Tune(context.Background(), tuneOptions(t, 30))
	if err != nil {
		t.Fatal(err)
	}
	// The second runs one simulation at a time: the worker count changes
	// the wall time only, never the result.
	one := tuneOptions(t, 30)
	one.Workers = 1
	b, err := Tune(context.Background(), one)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(a, b); diff != "" {
		t.Fatalf("two searches with the same seed and cap differ (-2 workers +1 worker):\n%s", diff)
	}
	if a.Evals != 30 || a.Stopped != "evaluation cap" {
		t.Errorf("evals %d, stopped %q; want 30 and the cap", a.Evals, a.Stopped)
	}
	if a.TrainS != 70*60 || a.ValidationS != 30*60 {
		t.Errorf("windows %d s + %d s, want 4200 + 1800", a.TrainS, a.ValidationS)
	}
	if a.Best.Train > a.Defaults.Train {
		t.Errorf("best train score %v above the defaults' %v", a.Best.Train, a.Defaults.Train)
	}
	if len(a.Settings) == 0 || len(a.Snippets) != 1 || a.Snippets[0].Target != "orders-fn" {
		t.Fatalf("settings %v, snippets %v", a.Settings, a.Snippets)
	}

	// Paste the snippet in place of the target's policy block of the
	// original file: it must parse, and carry the best values.
	opt := tuneOptions(t, 1)
	pasted := pasteSnippet(t, opt.Policies, "orders-fn", a.Snippets[0].YAML)
	f, err := config.Parse("pasted.yaml", pasted)
	if err != nil {
		t.Fatalf("the pasted snippet does not parse: %v\n%s", err, pasted)
	}
	var tgt *config.Target
	for _, x := range f.Targets {
		if x.Name == "orders-fn" {
			tgt = x
		}
	}
	for _, s := range a.Settings {
		was := s.Default
		if was == "" {
			was = s.Effective
		}
		if sameSetting(was, s.Best) {
			t.Errorf("%s listed as changed, but it ended at its original value %s", s.Param, was)
		}
		for _, p := range TuneParams {
			if p.Name() == s.Param {
				if got := p.effective(tgt); got != normalise(s.Best) {
					t.Errorf("%s: pasted file has %s, the search chose %s", s.Param, got, s.Best)
				}
			}
		}
	}
	// The whole tuned file also parses and scores what the search said.
	if _, err := config.Parse("tuned.yaml", a.Policies); err != nil {
		t.Fatal(err)
	}
}

// normalise writes a grid value the way effective() reads it back.
func normalise(v string) string {
	if strings.HasSuffix(v, "m") || strings.HasSuffix(v, "s") {
		d, _ := time.ParseDuration(v)
		return durString(d)
	}
	return v
}

func pasteSnippet(t *testing.T, data []byte, target, snippet string) []byte {
	t.Helper()
	doc, err := parsePoliciesDoc(data)
	if err != nil {
		t.Fatal(err)
	}
	var sn yaml.Node
	if err := yaml.Unmarshal([]byte(snippet), &sn); err != nil {
		t.Fatalf("snippet: %v\n%s", err, snippet)
	}
	tn := targetNode(doc, target)
	for i := 0; i+1 < len(tn.Content); i += 2 {
		if tn.Content[i].Value == "policy" {
			tn.Content[i+1] = lookup(sn.Content[0], "policy")
		}
	}
	out, err := encodeYAML(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestTuneStopsAtBudget(t *testing.T) {
	opt := tuneOptions(t, 0)
	opt.Budget = time.Hour
	// A clock that jumps an hour on its second reading: the budget is
	// spent before the first batch.
	calls := 0
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	opt.Now = func() time.Time {
		calls++
		if calls > 1 {
			return base.Add(2 * time.Hour)
		}
		return base
	}
	r, err := Tune(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	if r.Stopped != "time budget" || r.Evals != 2 || len(r.Settings) != 0 || r.Best != r.Defaults {
		t.Errorf("stopped %q after %d simulations with %v; want the budget after the defaults", r.Stopped, r.Evals, r.Settings)
	}
}

func TestTuneRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*TuneOptions)
		want string
	}{
		{"no stop", func(o *TuneOptions) { o.MaxEvals = 0 }, "budget or an evaluation cap"},
		{"holdout", func(o *TuneOptions) { o.Holdout = 0.95 }, "holdout"},
		{"unknown target", func(o *TuneOptions) { o.Targets = []string{"nope"} }, `no target named "nope"`},
		{"too short", func(o *TuneOptions) { o.Scenario.Duration = Duration(time.Minute) }, "too short"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := tuneOptions(t, 5)
			tc.edit(&o)
			if _, err := Tune(context.Background(), o); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// TestWindowShiftsTraffic: second t of a window is second from+t of the
// scenario, for every traffic shape and fault.
func TestWindowShiftsTraffic(t *testing.T) {
	sc, err := ParseScenario("w", []byte(`
duration: 3h
topology: {kind: sqs-lambda-dynamodb-downstream, queue: {name: q}, downstream: {capacity: 100}, table: {write: 10}}
traffic:
  rate: 10
  diurnal: {amplitude: 0.5, period: 1h, peak_at: 20m}
  spikes: {every: 15m, start: 7m, width: 2m, factor: 3}
faults:
  - {kind: surge, at: 50m, ramp: 2m, for: 10m, factor: 4}
  - {kind: brownout, at: 55m, for: 20m, capacity_loss: 0.5}
`))
	if err != nil {
		t.Fatal(err)
	}
	whole := newCurve(sc, nil)
	for _, from := range []int64{0, 61, 3000, 3400} {
		w := Window(sc, from, 3*3600)
		part := newCurve(w, nil)
		for ts := int64(0); ts < 3*3600-from; ts += 7 {
			if a, b := whole.rate(from+ts), part.rate(ts); a != b {
				t.Fatalf("from %d, t %d: rate %v in the window, %v in the scenario", from, ts, b, a)
			}
			if a, b := whole.capacityFactor(from+ts), part.capacityFactor(ts); a != b {
				t.Fatalf("from %d, t %d: capacity %v in the window, %v in the scenario", from, ts, b, a)
			}
		}
		if w.Start != sc.Start.Add(time.Duration(from)*time.Second) {
			t.Errorf("window start %v", w.Start)
		}
	}
	if sc.Faults[0].At.Seconds() != 3000 || sc.Traffic.Spikes.Start.Seconds() != 420 {
		t.Error("Window changed the scenario it was given")
	}
}

func TestWindowShiftsTrace(t *testing.T) {
	sc := &Scenario{Traffic: Traffic{Trace: &TraceSpec{File: "x", Column: "c", Step: Duration(time.Minute), Scale: 1, Compress: 4}}}
	tr := &Trace{Rates: []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, Step: time.Minute}
	whole := newCurve(sc, tr)
	part := newCurve(Window(sc, 60, 180), tr)
	for ts := int64(0); ts < 120; ts++ {
		if a, b := whole.rate(60+ts), part.rate(ts); a != b {
			t.Fatalf("t %d: %v in the window, %v in the trace", ts, b, a)
		}
	}
}

func TestParseTuneWeights(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want TuneWeights
		err  string
	}{
		{in: "", want: DefaultTuneWeights()},
		{in: "throttled=2, cost=0.5", want: TuneWeights{Throttled: 2, Cost: 0.5, Overload: 1, Actuations: 0.1}},
		{in: "actuations=0,overload=3", want: TuneWeights{Throttled: 1, Cost: 1, Overload: 3}},
		{in: "latency=1", err: "unknown KPI"},
		{in: "cost=-1", err: "≥ 0"},
		{in: "cost", err: "NAME=NUMBER"},
		{in: "throttled=0,cost=0,overload=0,actuations=0", err: "at least one"},
	} {
		got, err := ParseTuneWeights(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func FuzzParseTuneWeights(f *testing.F) {
	f.Add("throttled=1,cost=1,overload=1,actuations=0.1")
	f.Add("cost=1e308,throttled=NaN")
	f.Fuzz(func(t *testing.T, s string) {
		w, err := ParseTuneWeights(s)
		if err != nil {
			return
		}
		for _, v := range []float64{w.Throttled, w.Cost, w.Overload, w.Actuations} {
			if v < 0 || v != v {
				t.Fatalf("%q gave weight %v", s, v)
			}
		}
	})
}

func TestSetPath(t *testing.T) {
	const in = `targets:
  - name: a
    policy:
      autotuner:
        utilization: {signal: busy, target: 70%}
        up: {max_step: 100%}
`
	doc, err := parsePoliciesDoc([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	at := autotunerNode(doc, "a")
	setPath(at, []string{"up", "max_step"}, "300%")
	setPath(at, []string{"up", "after"}, "2")
	setPath(at, []string{"pid", "kp"}, "1.2")
	setPath(at, []string{"utilization", "target"}, "60%")
	setPath(at, []string{"band"}, "15%")
	out, err := encodeYAML(doc)
	if err != nil {
		t.Fatal(err)
	}
	want := `targets:
  - name: a
    policy:
      autotuner:
        utilization: {signal: busy, target: 60%}
        up: {max_step: 300%, after: 2}
        pid:
          kp: 1.2
        band: 15%
`
	if diff := cmp.Diff(want, string(out)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestSameSetting(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{"1m", "60s", true}, {"0.50", "0.5", true}, {"10%", "10.0%", true}, {"10%", "0.1", false},
		{"5m", "4m", false}, {"0.9", "0.8", false}, {"abc", "abc", true}, {"", "1", false},
	} {
		if got := sameSetting(tc.a, tc.b); got != tc.same {
			t.Errorf("sameSetting(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.same)
		}
	}
}
