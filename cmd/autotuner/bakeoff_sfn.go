package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/autotuner/autotuner/sim"
)

// writeSFNBakeoff appends topology (c) to the bake-off: each Step
// Functions scenario under the Map as deployed, the best static
// MaxConcurrency, target tracking on the Lambda and autotuner, with the
// batch goal's verdict.
func writeSFNBakeoff(ctx context.Context, w io.Writer, traces string) error {
	fmt.Fprintf(w, "\n## Topology (c): Step Functions\n\n")
	fmt.Fprintf(w, "A Map fanning out to a Lambda that calls a third party with a hard limit and writes a table (see docs/simulator.md). ")
	fmt.Fprintf(w, "Goal: the batch finishes at least 30%% sooner than the best static `MaxConcurrency` that causes no third-party 429, with no 429.\n\n")
	for _, name := range sim.SFNScenarios() {
		sc, err := sim.SFNScenarioByName(name)
		if err != nil {
			return err
		}
		s, err := sim.PrepareSFN(sc, "", nil, traces)
		if errors.Is(err, sim.ErrNoTraces) {
			fmt.Fprintf(w, "### %s\n\nnot run: %v\n\n", name, err)
			continue
		}
		if err != nil {
			return err
		}
		var rows []*sim.SFNResult
		for _, p := range []string{sim.SFNStatic, sim.SFNTargetTracking, sim.SFNAutotuner} {
			r, err := s.Run(ctx, p, 0)
			if err != nil {
				return fmt.Errorf("%s %s: %w", name, p, err)
			}
			rows = append(rows, r)
		}
		var best *sim.SFNResult
		if sc.Batch > 0 {
			if best, _, err = s.BestStatic(ctx, 40); err != nil {
				return err
			}
			if best != nil {
				b := *best
				b.Policy = fmt.Sprintf("best static (%v)", best.MaxConcurrency)
				rows = append(rows, &b)
			}
		}
		fmt.Fprintf(w, "### %s\n\n%s\n\n", name, sc.Description)
		fmt.Fprintln(w, "| policy | batch | exec p50 | exec p99 | failed | items retried | third-party 429s | Lambda throttles | max MaxConcurrency | max reservation |")
		fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|")
		for _, r := range rows {
			batch := "–"
			if r.BatchFinishS > 0 {
				batch = fmt.Sprintf("%d s", r.BatchFinishS)
			}
			fmt.Fprintf(w, "| %s | %s | %.0f s | %.0f s | %d | %d | %d | %d | %v | %v |\n", r.Policy, batch, r.ExecutionP50S, r.ExecutionP99S,
				r.ExecutionsFailed, r.ItemsRetried, r.ThirdParty429, r.LambdaThrottles, r.MaxMapConcurrency, r.MaxReserved)
		}
		if at := rows[2]; best != nil && at.BatchFinishS > 0 {
			gain := 1 - float64(at.BatchFinishS)/float64(best.BatchFinishS)
			verdict := "FAIL"
			if gain >= 0.3 && at.ThirdParty429 == 0 {
				verdict = "pass"
			}
			fmt.Fprintf(w, "\nGoal: %s — autotuner finishes %.0f%% sooner than the best static value, with %d third-party 429s.\n", verdict, 100*gain, at.ThirdParty429)
		}
		fmt.Fprintln(w)
	}
	return nil
}
