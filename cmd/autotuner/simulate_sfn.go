package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/autotuner/autotuner/sim"
)

// runSimulateSFN compares policies on a topology (c) scenario: the Map as
// deployed (static), every static MaxConcurrency up to 40 (the best that
// causes no third-party 429 is shown), target tracking on the Lambda and
// the table, and autotuner.
func runSimulateSFN(ctx context.Context, e *env, scenario, policies, traces, format string) int {
	sc, err := sim.SFNScenarioByName(scenario)
	if err != nil {
		fmt.Fprintf(e.stderr, "autotuner simulate: %v\n", err)
		return exitUsage
	}
	var pname string
	var pdata []byte
	if policies != "" {
		if pdata, err = os.ReadFile(policies); err != nil {
			fmt.Fprintf(e.stderr, "autotuner simulate: %v\n", err)
			return exitUsage
		}
		pname = policies
	}
	s, err := sim.PrepareSFN(sc, pname, pdata, traces)
	if err != nil {
		fmt.Fprintf(e.stderr, "autotuner simulate: %v\n", err)
		if errors.Is(err, sim.ErrNoTraces) {
			return exitFailure
		}
		return exitUsage
	}
	var rows []*sim.SFNResult
	for _, name := range []string{sim.SFNStatic, sim.SFNTargetTracking, sim.SFNAutotuner} {
		r, err := s.Run(ctx, name, 0)
		if err != nil {
			fmt.Fprintf(e.stderr, "autotuner simulate: %s: %v\n", name, err)
			return exitFailure
		}
		rows = append(rows, r)
	}
	if sc.Batch > 0 {
		best, _, err := s.BestStatic(ctx, 40)
		if err != nil {
			fmt.Fprintf(e.stderr, "autotuner simulate: %v\n", err)
			return exitFailure
		}
		if best != nil {
			best.Policy = fmt.Sprintf("best-static(%v)", best.MaxConcurrency)
			rows = append(rows[:1], append([]*sim.SFNResult{best}, rows[1:]...)...)
		}
	}
	if format == "json" {
		b, _ := json.MarshalIndent(struct {
			Scenario string           `json:"scenario"`
			Results  []*sim.SFNResult `json:"results"`
		}{sc.Name, rows}, "", "  ")
		fmt.Fprintln(e.stdout, string(b))
		return exitOK
	}
	fmt.Fprintf(e.stdout, "%s: %s\n\n", sc.Name, sc.Description)
	w := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "policy\tbatch_s\texec_p50_s\texec_p99_s\tfailed\titems_retried\tthird_party_429\tlambda_throttles\tmax_map\tmax_reserved")
	for _, r := range rows {
		fmt.Fprintf(w, "%s\t%d\t%.0f\t%.0f\t%d\t%d\t%d\t%d\t%v\t%v\n", r.Policy, r.BatchFinishS, r.ExecutionP50S, r.ExecutionP99S,
			r.ExecutionsFailed, r.ItemsRetried, r.ThirdParty429, r.LambdaThrottles, r.MaxMapConcurrency, r.MaxReserved)
	}
	w.Flush()
	return exitOK
}
