package sim

import (
	"context"
	"os"
	"testing"
	"time"
)

// TestSFNFanoutGoal runs the batch scenario under the static Map (the
// fixed 10), target tracking on the Lambda and the table, every static
// MaxConcurrency from 1 to 40, and autotuner's default policies: autotuner
// must finish the batch at least 30% sooner than the best static value
// that causes no third-party 429, with no 429 itself, while it also tunes
// the Lambda and the table within their bounds.
func TestSFNFanoutGoal(t *testing.T) {
	sc, err := SFNScenarioByName("stepfunctions-fanout")
	if err != nil {
		t.Fatal(err)
	}
	s, err := PrepareSFN(sc, "", nil, "")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	best, all, err := s.BestStatic(ctx, 40)
	if err != nil {
		t.Fatal(err)
	}
	if best == nil {
		t.Fatal("no static MaxConcurrency finished the batch without 429s")
	}
	for _, r := range all {
		if n := r.ItemsDone + r.ItemsFailed; r.BatchFinishS > 0 && (n < 49999 || n > 50001) {
			t.Errorf("static %v: %d items done and %d failed, want 50000 in all", r.MaxConcurrency, r.ItemsDone, r.ItemsFailed)
		}
	}
	at, err := s.Run(ctx, SFNAutotuner, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("best static: MaxConcurrency %v, batch in %ds; autotuner: batch in %ds (%.0f%% sooner), 429s %d, Lambda up to %v, items retried %d",
		best.MaxConcurrency, best.BatchFinishS, at.BatchFinishS, 100*(1-float64(at.BatchFinishS)/float64(best.BatchFinishS)), at.ThirdParty429, at.MaxReserved, at.ItemsRetried)
	switch {
	case at.BatchFinishS == 0 || at.ItemsDone != 50000:
		t.Fatalf("autotuner did not finish the batch: %+v", at)
	case at.ThirdParty429 != 0:
		t.Errorf("autotuner caused %d third-party 429s", at.ThirdParty429)
	case float64(at.BatchFinishS) > 0.7*float64(best.BatchFinishS):
		t.Errorf("autotuner took %ds, not 30%% less than the best static's %ds", at.BatchFinishS, best.BatchFinishS)
	}
	if at.BoundViolations != 0 || at.ExecutionsFailed != 0 || at.MaxMapConcurrency > 40 || at.MaxReserved > 800 || at.MaxWCU > 1000 {
		t.Errorf("limits not held: %+v", at)
	}
	if at.MaxReserved <= sc.Reserved {
		t.Errorf("the Lambda's reservation was not tuned with the Map (max %v)", at.MaxReserved)
	}
	for _, name := range []string{SFNStatic, SFNTargetTracking} {
		r, err := s.Run(ctx, name, 0)
		if err != nil {
			t.Fatal(err)
		}
		if r.MaxMapConcurrency != 10 || r.BatchFinishS <= at.BatchFinishS {
			t.Errorf("%s: %+v", name, r)
		}
	}
}

// TestSFNChangeReachesNewExecutionsOnly: an execution keeps the
// MaxConcurrency it started with.
func TestSFNChangeReachesNewExecutionsOnly(t *testing.T) {
	sc := &SFNScenario{Duration: time.Hour, Rate: 0, Items: ItemsDist{Median: 100, P99: 100}, MaxConcurrency: 10,
		Retry: RetrySpec{Interval: time.Second, BackoffRate: 2, MaxAttempts: 3}, Reserved: 1000, ItemDuration: 10 * time.Second,
		TableWrite: 1000, ThirdPartyRate: 1000, StartBucket: 10, StartRefill: 1}
	p := newSFNPlant(sc, 100)
	p.startExecutions(0, []float64{100})
	p.step(0, 0)
	p.mapC = 25
	p.startExecutions(1, []float64{100})
	for t := int64(1); t < 5; t++ {
		p.step(t, 0)
	}
	if len(p.running) != 2 || p.running[0].c != 10 || p.running[1].c != 25 {
		t.Fatalf("executions run with %v and %v, want 10 and 25", p.running[0].c, p.running[1].c)
	}
	if got := p.running[0].running; got > 10+1e-9 {
		t.Errorf("the first execution runs %v items at once, over its 10", got)
	}
	if got := p.running[1].running; got < 25-1e-9 {
		t.Errorf("the second execution runs %v items at once, want 25", got)
	}
}

// TestSFNTraceScenario replays the real trace: every policy completes the
// same executions, and the KPIs are reported.
func TestSFNTraceScenario(t *testing.T) {
	if _, err := os.Stat(realTraces); err != nil {
		t.Skip("no ../shared/traces here")
	}
	sc, _ := SFNScenarioByName("stepfunctions-trace")
	s, err := PrepareSFN(sc, "", nil, realTraces)
	if err != nil {
		t.Fatal(err)
	}
	var started int
	for _, name := range []string{SFNStatic, SFNTargetTracking, SFNAutotuner} {
		r, err := s.Run(context.Background(), name, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: p50 %vs p99 %vs, failed %d, retried %d, 429s %d", name, r.ExecutionP50S, r.ExecutionP99S, r.ExecutionsFailed, r.ItemsRetried, r.ThirdParty429)
		if started != 0 && r.ExecutionsStarted != started {
			t.Errorf("%s started %d executions, others %d: the arrivals differ", name, r.ExecutionsStarted, started)
		}
		started = r.ExecutionsStarted
		if r.BoundViolations != 0 || r.ExecutionP50S <= 0 {
			t.Errorf("%s: %+v", name, r)
		}
	}
}

// BenchmarkSFNFanout is one autotuner run of the batch scenario: the
// simulated plant, the controller and its ticks.
func BenchmarkSFNFanout(b *testing.B) {
	sc, _ := SFNScenarioByName("stepfunctions-fanout")
	s, err := PrepareSFN(sc, "", nil, "")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Run(context.Background(), SFNAutotuner, 0); err != nil {
			b.Fatal(err)
		}
	}
}
