package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/autotuner/autotuner/sim"
)

func init() {
	register(command{name: "tune", summary: "search the autotuner policy's parameters on a scenario or trace; prints a YAML snippet to paste", run: runTune})
}

func runTune(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "tune", "--scenario NAME|FILE [--policies FILE] [--target NAME] [--budget 60s] [--weights throttled=1,cost=1,overload=1,actuations=0.1] [--holdout 30%] [--seed N]")
	scenario := fs.String("scenario", "", "built-in scenario ("+strings.Join(sim.BuiltinScenarios(), ", ")+") or a scenario file; required")
	policies := fs.String("policies", "", "policies file to tune (default: the scenario's, or its topology's built-in one)")
	target := fs.String("target", "", "tune only this target (default: every target whose policy is autotuner)")
	budget := fs.Duration("budget", time.Minute, "wall-time budget of the search")
	maxEvals := fs.Int("max-evals", 0, "stop after this many simulations (0: no cap); with it and --budget 0 the result is deterministic")
	weights := fs.String("weights", "throttled=1,cost=1,overload=1,actuations=0.1", "weights of the normalised KPIs in the objective")
	holdout := fs.String("holdout", "30%", "the last part of the scenario kept for validation")
	seed := fs.Uint64("seed", 0, "random seed (default: the scenario's)")
	traces := fs.String("traces", "", "directory of trace CSVs (default: ../shared/traces from here, then from the module root)")
	out := fs.String("out", "", "also write the whole tuned policies file here")
	parallel := fs.Int("parallel", runtime.GOMAXPROCS(0), "simulations run at once (default: every core); the result does not depend on it")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	usage := func(format string, a ...any) int {
		fmt.Fprintf(e.stderr, "autotuner tune: "+format+"\n", a...)
		return exitUsage
	}
	if fs.NArg() > 0 {
		return usage("unexpected argument %q", fs.Arg(0))
	}
	if *scenario == "" {
		return usage("--scenario is required")
	}
	if *parallel < 1 {
		return usage("--parallel must be at least 1, got %d", *parallel)
	}
	w, err := sim.ParseTuneWeights(*weights)
	if err != nil {
		return usage("--weights: %v", err)
	}
	h, err := parsePercent(*holdout)
	if err != nil {
		return usage("--holdout: %v", err)
	}
	if *budget <= 0 && *maxEvals <= 0 {
		return usage("give --budget or --max-evals")
	}
	sc, err := sim.LoadScenario(*scenario)
	if err != nil {
		return usage("%v", err)
	}
	if *seed != 0 {
		sc.Seed = *seed
	}
	pname, pdata, err := sim.LoadPolicies(sc, *policies)
	if err != nil {
		return usage("%v", err)
	}
	opt := sim.TuneOptions{Scenario: sc, PoliciesName: pname, Policies: pdata, TracesDir: tracesDir(*traces),
		Weights: w, Holdout: h, Budget: *budget, MaxEvals: *maxEvals, Workers: *parallel}
	if *target != "" {
		opt.Targets = []string{*target}
	}
	if e.isTerminal {
		opt.Progress = tuneBar(e.stderr, *budget, *maxEvals)
	}
	res, err := sim.Tune(ctx, opt)
	if e.isTerminal {
		fmt.Fprintf(e.stderr, "\r%s\r", strings.Repeat(" ", 100))
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "autotuner tune: %v\n", err)
		return exitFailure
	}
	writeTuneReport(e.stdout, sc, pname, res)
	if *out != "" {
		if err := os.WriteFile(*out, res.Policies, 0o644); err != nil {
			fmt.Fprintf(e.stderr, "autotuner tune: %v\n", err)
			return exitFailure
		}
		fmt.Fprintf(e.stdout, "\nwrote the tuned policies file to %s\n", *out)
	}
	return exitOK
}

func parsePercent(s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(s), "%"), 64)
	if err != nil || !strings.HasSuffix(strings.TrimSpace(s), "%") {
		return 0, fmt.Errorf("want a percentage such as 30%%, got %q", s)
	}
	return v / 100, nil
}

// tuneBar draws the search's progress against its budget or its cap.
func tuneBar(w io.Writer, budget time.Duration, maxEvals int) func(sim.TuneProgress) {
	return func(p sim.TuneProgress) {
		frac := 0.0
		if budget > 0 {
			frac = p.Elapsed.Seconds() / budget.Seconds()
		}
		if maxEvals > 0 {
			frac = max(frac, float64(p.Evals)/float64(maxEvals))
		}
		frac = min(frac, 1)
		const width = 30
		fill := int(frac * width)
		fmt.Fprintf(w, "\rtuning [%s%s] %3.0f%%  %d runs, best %.4f  %-40.40s", strings.Repeat("#", fill), strings.Repeat("-", width-fill), 100*frac, p.Evals, p.Best, p.Param)
	}
}

func writeTuneReport(w io.Writer, sc *sim.Scenario, pname string, r *sim.TuneResult) {
	fmt.Fprintf(w, "scenario %s, policies %s: trained on the first %s, validated on the last %s; %d simulations, stopped: %s\n\n",
		sc.Name, pname, time.Duration(r.TrainS)*time.Second, time.Duration(r.ValidationS)*time.Second, r.Evals, r.Stopped)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\tTRAIN SCORE\tVALIDATION SCORE\tTRAIN THROTTLED\tVAL THROTTLED\tTRAIN COST $\tVAL COST $\tTRAIN OVERLOAD S\tVAL OVERLOAD S\tTRAIN ACTUATIONS\tVAL ACTUATIONS\t")
	for _, row := range []struct {
		name string
		s    sim.TuneScore
	}{{"defaults", r.Defaults}, {"best", r.Best}} {
		t, v := row.s.TrainKPIs, row.s.ValidationKPIs
		fmt.Fprintf(tw, "%s\t%.4f\t%.4f\t%d\t%d\t%.4f\t%.4f\t%d\t%d\t%d\t%d\t\n", row.name, row.s.Train, row.s.Validation,
			t.Throttled, v.Throttled, t.CostUSD, v.CostUSD, t.OverloadS, v.OverloadS, t.Actuations, v.Actuations)
	}
	tw.Flush()
	fmt.Fprintln(w, "\nScores are weighted sums of each KPI divided by the defaults' on the same window: lower is better.")
	if len(r.Settings) == 0 {
		fmt.Fprintln(w, "\nNo change beat the policies file as written.")
		return
	}
	fmt.Fprintln(w, "\nChanged parameters:")
	for _, s := range r.Settings {
		def := s.Default
		if def == "" {
			def = s.Effective + " (default)"
		}
		fmt.Fprintf(w, "  %s: policy.autotuner.%s %s → %s\n", s.Target, s.Param, def, s.Best)
	}
	if r.Best.Validation > r.Defaults.Validation {
		fmt.Fprintln(w, "\nWarning: the best parameters score worse than the defaults on the held-out part; they may fit the training part only.")
	}
	fmt.Fprintln(w, "\nPaste in place of each target's policy block:")
	for _, s := range r.Snippets {
		fmt.Fprintf(w, "\n# target %s\n%s", s.Target, s.YAML)
	}
}
