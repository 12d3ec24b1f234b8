package daemon

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/internal/buildinfo"
	"github.com/autotuner/autotuner/policy"
)

func TestBuildInfo(t *testing.T) {
	m := NewMetrics()
	in := buildinfo.Get()
	want := `# HELP autotuner_build_info Always 1; the labels say which build is running.
# TYPE autotuner_build_info gauge
autotuner_build_info{commit="` + in.Commit + `",goversion="` + in.GoVersion + `",version="` + in.Version + `"} 1
`
	if err := testutil.GatherAndCompare(m.Registry, strings.NewReader(want), "autotuner_build_info"); err != nil {
		t.Fatal(err)
	}
	if in.GoVersion == "" || in.Version == "" {
		t.Fatalf("empty labels: %+v", in)
	}
}

// wantsTooMuch proposes a fixed value, whatever the signals say.
type wantsTooMuch float64

func (w wantsTooMuch) Name() string { return "fixed" }
func (w wantsTooMuch) Recommend(*policy.Input, *policy.Memory) policy.Proposal {
	return policy.Proposal{Value: float64(w)}
}

func TestGuardsAndDriftAreCounted(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	e := &policy.Engine{Rec: wantsTooMuch(500)}
	d, _ := e.Decide(policy.Input{Now: now, Current: 90, Min: 10, Max: 100}, policy.NewMemory())
	if len(d.Steps()) == 0 || d.Steps()[0].Guard != policy.GuardBounds {
		t.Fatalf("the engine did not cut 500 to the max: %s", d.Explain())
	}
	m := NewMetrics()
	res := &controller.Result{At: now, Records: []*controller.Record{
		{Target: "fn", Decision: &d},
		{Target: "fn", Decision: &d},
		{Target: "tbl", Drift: &controller.Drift{Expected: 40, Actual: 55}},
	}}
	m.observe(res, nil, time.Second, now)
	if got := testutil.ToFloat64(m.guarded.WithLabelValues("fn", policy.GuardBounds)); got != 2 {
		t.Errorf("autotuner_guard_limited_total{target=fn,guard=bounds} = %v, want 2", got)
	}
	if got := testutil.ToFloat64(m.drift.WithLabelValues("tbl")); got != 1 {
		t.Errorf("autotuner_drift_total{target=tbl} = %v, want 1", got)
	}
	if got := testutil.ToFloat64(m.drift.WithLabelValues("fn")); got != 0 {
		t.Errorf("autotuner_drift_total{target=fn} = %v, want 0", got)
	}
}
