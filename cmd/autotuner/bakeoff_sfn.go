package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/autotuner/autotuner/sim"
)

// sfnSection is one topology (c) scenario of the bake-off, run once and
// written twice: its goals in the goals table, its rows in its section.
type sfnSection struct {
	sc      *sim.SFNScenario
	skipped error // the scenario's trace is missing
	rows    []*sim.SFNResult
	best    *sim.SFNResult
	goals   []sim.Goal
}

// runSFNBakeoff runs each Step Functions scenario under the Map as
// deployed, target tracking on the Lambda and autotuner, finds the best
// static MaxConcurrency of a batch, and checks the goals.
func runSFNBakeoff(ctx context.Context, traces string) ([]sfnSection, error) {
	var out []sfnSection
	for _, name := range sim.SFNScenarios() {
		sc, err := sim.SFNScenarioByName(name)
		if err != nil {
			return nil, err
		}
		s, err := sim.PrepareSFN(sc, "", nil, traces)
		if errors.Is(err, sim.ErrNoTraces) {
			out = append(out, sfnSection{sc: sc, skipped: err})
			continue
		}
		if err != nil {
			return nil, err
		}
		sec := sfnSection{sc: sc}
		for _, p := range []string{sim.SFNStatic, sim.SFNTargetTracking, sim.SFNAutotuner} {
			r, err := s.Run(ctx, p, 0)
			if err != nil {
				return nil, fmt.Errorf("%s %s: %w", name, p, err)
			}
			sec.rows = append(sec.rows, r)
		}
		if sc.Batch > 0 {
			if sec.best, _, err = s.BestStatic(ctx, 40); err != nil {
				return nil, err
			}
		}
		sec.goals = sim.CheckSFNGoals(sim.SFNGoalInput{Scenario: name, Static: sec.rows[0], Autotuner: sec.rows[2], BestStatic: sec.best, Batch: sc.Batch > 0})
		out = append(out, sec)
	}
	return out, nil
}

// sfnGlance is what the goals table needs of the sections: their names
// and their goals, in order.
func sfnGlance(secs []sfnSection) (names []string, goals []sim.GoalSummary) {
	for _, s := range secs {
		if s.skipped != nil {
			continue
		}
		names = append(names, s.sc.Name)
		goals = append(goals, sim.SFNGoalSummaries(s.sc.Name, s.sc.Seed, s.goals)...)
	}
	return names, goals
}

// writeSFNBakeoff runs and appends topology (c) to the bake-off.
func writeSFNBakeoff(ctx context.Context, w io.Writer, traces string) error {
	secs, err := runSFNBakeoff(ctx, traces)
	if err != nil {
		return err
	}
	writeSFNSections(w, secs)
	return nil
}

// writeSFNSections appends topology (c): each scenario's rows and goals.
func writeSFNSections(w io.Writer, secs []sfnSection) {
	fmt.Fprintf(w, "\n## Topology (c): Step Functions\n\n")
	fmt.Fprintf(w, "A Map fanning out to a Lambda that calls a third party with a hard limit and writes a table (see docs/simulator.md). ")
	fmt.Fprintf(w, "Goals: the batch finishes at least 30%% sooner than the best static `MaxConcurrency` that causes no third-party 429; no 429 after the first minute; no failed execution; on a stream, an execution p99 no worse than the Map as deployed; no limit refused by a service's bound.\n\n")
	for _, s := range secs {
		if s.skipped != nil {
			fmt.Fprintf(w, "### %s\n\nnot run: %v\n\n", s.sc.Name, s.skipped)
			continue
		}
		rows := s.rows
		if s.best != nil {
			b := *s.best
			b.Policy = fmt.Sprintf("best static (%v)", s.best.MaxConcurrency)
			rows = append(rows[:len(rows):len(rows)], &b)
		}
		fmt.Fprintf(w, "### %s\n\n%s\n\n", s.sc.Name, s.sc.Description)
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
		fmt.Fprintf(w, "\n| goal | met | measured | threshold | detail |\n|---|---|--:|--:|---|\n")
		for _, g := range s.goals {
			met := "❌"
			if g.Pass {
				met = "✅"
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", g.Name, met, fnum(g.Measured), fnum(g.Threshold), g.Detail)
		}
		fmt.Fprintln(w)
	}
}
