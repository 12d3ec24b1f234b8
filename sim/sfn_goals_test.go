package sim

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCheckSFNGoals(t *testing.T) {
	static := &SFNResult{Policy: SFNStatic, BatchFinishS: 3600, ExecutionP99S: 45}
	best := &SFNResult{MaxConcurrency: 12, BatchFinishS: 3000}
	verdicts := func(gs []Goal) map[string]bool {
		out := map[string]bool{}
		for _, g := range gs {
			out[g.Name] = g.Pass
		}
		return out
	}
	for _, c := range []struct {
		name string
		in   SFNGoalInput
		want map[string]bool
	}{{
		name: "a batch 38% sooner, clean",
		in:   SFNGoalInput{Batch: true, Static: static, BestStatic: best, Autotuner: &SFNResult{BatchFinishS: 1860, ExecutionsStarted: 100}},
		want: map[string]bool{GoalBatchSooner: true, GoalNo429: true, GoalNoFailedExecs: true, GoalNoQuotaViolations: true},
	}, {
		name: "a batch 20% sooner with a late 429, a failed execution and a refused limit",
		in: SFNGoalInput{Batch: true, Static: static, BestStatic: best,
			Autotuner: &SFNResult{BatchFinishS: 2400, ThirdParty429: 5, ThirdParty429AfterFirstMinute: 3, ExecutionsFailed: 1, BoundViolations: 1}},
		want: map[string]bool{GoalBatchSooner: false, GoalNo429: false, GoalNoFailedExecs: false, GoalNoQuotaViolations: false},
	}, {
		name: "an unfinished batch misses",
		in:   SFNGoalInput{Batch: true, Static: static, BestStatic: best, Autotuner: &SFNResult{}},
		want: map[string]bool{GoalBatchSooner: false, GoalNo429: true, GoalNoFailedExecs: true, GoalNoQuotaViolations: true},
	}, {
		name: "a stream: 429s in the first minute do not count; p99 against the Map as deployed",
		in:   SFNGoalInput{Static: static, Autotuner: &SFNResult{ThirdParty429: 7, ExecutionP99S: 50}},
		want: map[string]bool{GoalNo429: true, GoalNoFailedExecs: true, GoalExecP99Static: false, GoalNoQuotaViolations: true},
	}} {
		t.Run(c.name, func(t *testing.T) {
			if d := cmp.Diff(c.want, verdicts(CheckSFNGoals(c.in))); d != "" {
				t.Errorf("verdicts (-want +got):\n%s", d)
			}
		})
	}
	if CheckSFNGoals(SFNGoalInput{Static: static}) != nil {
		t.Error("no autotuner result must give no goals")
	}
}
