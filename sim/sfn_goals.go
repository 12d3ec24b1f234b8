package sim

import "fmt"

// Goals of topology (c), a batch or a stream of workflow executions in
// front of a third party that cannot scale. They join the goals table
// (GoalNames) as rows the service topologies leave empty; the service
// topologies' goals other than quota violations do not apply to them.
const (
	GoalBatchSooner    = "batch ≥ 30% sooner than the best static MaxConcurrency without 429s"
	GoalNo429          = "third-party 429s after the first minute = 0"
	GoalNoFailedExecs  = "executions failed = 0"
	GoalExecP99Static  = "execution p99 ≤ the Map as deployed"
	batchSoonerPercent = 0.3
)

// SFNGoalInput is one topology (c) scenario's results.
type SFNGoalInput struct {
	Scenario string
	// Autotuner and Static (the Map as deployed) are required;
	// BestStatic, the fastest static MaxConcurrency with no 429 and no
	// failed execution, is nil when the scenario is no batch or no static
	// value finished it cleanly.
	Autotuner, Static, BestStatic *SFNResult
	Batch                         bool
}

// CheckSFNGoals checks the goals of one topology (c) scenario. It is pure.
func CheckSFNGoals(in SFNGoalInput) []Goal {
	at, st := in.Autotuner, in.Static
	if at == nil || st == nil {
		return nil
	}
	var out []Goal
	if in.Batch {
		g := Goal{Name: GoalBatchSooner, Threshold: batchSoonerPercent}
		switch {
		case at.BatchFinishS <= 0:
			g.Detail = "autotuner did not finish the batch"
		case in.BestStatic == nil || in.BestStatic.BatchFinishS <= 0:
			g.Detail = "no static MaxConcurrency finished the batch without a 429: nothing to beat"
			g.Pass = true
		default:
			b := in.BestStatic
			g.Measured = 1 - float64(at.BatchFinishS)/float64(b.BatchFinishS)
			g.Pass = g.Measured >= batchSoonerPercent
			g.Detail = fmt.Sprintf("%d s vs %d s at %v: %.0f%% sooner", at.BatchFinishS, b.BatchFinishS, b.MaxConcurrency, 100*g.Measured)
		}
		out = append(out, g)
	}
	out = append(out,
		Goal{Name: GoalNo429, Measured: float64(at.ThirdParty429AfterFirstMinute), Pass: at.ThirdParty429AfterFirstMinute == 0,
			Detail: fmt.Sprintf("%d (%d in all; the Map as deployed: %d)", at.ThirdParty429AfterFirstMinute, at.ThirdParty429, st.ThirdParty429)},
		Goal{Name: GoalNoFailedExecs, Measured: float64(at.ExecutionsFailed), Pass: at.ExecutionsFailed == 0,
			Detail: fmt.Sprintf("%d of %d (%d items gave up)", at.ExecutionsFailed, at.ExecutionsStarted, at.ItemsFailed)})
	if !in.Batch {
		out = append(out, Goal{Name: GoalExecP99Static, Measured: at.ExecutionP99S, Threshold: st.ExecutionP99S, Pass: at.ExecutionP99S <= st.ExecutionP99S,
			Detail: fmt.Sprintf("%.0f s vs %.0f s", at.ExecutionP99S, st.ExecutionP99S)})
	}
	out = append(out, Goal{Name: GoalNoQuotaViolations, Measured: float64(at.BoundViolations), Pass: at.BoundViolations == 0,
		Detail: fmt.Sprintf("%d limits refused by a service's bound (StartExecution throttled %d executions: the arrivals', not a limit autotuner set)", at.BoundViolations, at.ExecutionThrottled)})
	return out
}

// SFNGoalSummaries are one run's goals as the goals table reads them.
func SFNGoalSummaries(scenario string, seed uint64, goals []Goal) []GoalSummary {
	out := make([]GoalSummary, 0, len(goals))
	for _, g := range goals {
		s := GoalSummary{Scenario: scenario, Name: g.Name, Runs: 1, Worst: g, WorstSeed: seed}
		if g.Pass {
			s.Passed = 1
		}
		out = append(out, s)
	}
	return out
}
