package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/autotuner/autotuner/sim"
)

func init() {
	register(command{name: "bakeoff", summary: "run every scenario under every policy and write the bake-off report (docs/bakeoff.md)", run: runBakeoff})
}

func runBakeoff(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "bakeoff", "[--out docs/bakeoff.md] [--seed N] [--scenarios LIST] [--traces DIR]")
	out := fs.String("out", "docs/bakeoff.md", "the report; its charts go to a directory of the same name beside it, its headline table to NAME-headline.md")
	seed := fs.Uint64("seed", 1, "random seed for every scenario and policy")
	scen := fs.String("scenarios", "", "scenarios to run, comma-separated (default: every built-in one)")
	traces := fs.String("traces", "", "directory of trace CSVs (default: ../shared/traces from here, then from the module root)")
	readme := fs.String("readme", "", "also replace the headline table in this file, between the markers "+headlineStart+" and "+headlineEnd)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(e.stderr, "autotuner bakeoff: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	// A README without its markers, or one the run itself writes, is
	// refused before any work.
	if *readme != "" {
		base := strings.TrimSuffix(*out, filepath.Ext(*out))
		same := func(a, b string) bool {
			if x, err := os.Stat(a); err == nil {
				if y, err := os.Stat(b); err == nil {
					return os.SameFile(x, y) // links too
				}
			}
			x, err1 := filepath.Abs(a)
			y, err2 := filepath.Abs(b)
			return err1 == nil && err2 == nil && x == y
		}
		b, err := os.ReadFile(*readme)
		if err == nil {
			_, err = spliceHeadline(b, "")
		}
		if err == nil && (same(*readme, *out) || same(*readme, base+"-headline.md")) {
			err = fmt.Errorf("%s is a file the bake-off writes itself", *readme)
		}
		if err != nil {
			fmt.Fprintf(e.stderr, "autotuner bakeoff: --readme: %v\n", err)
			return exitUsage
		}
	}
	opt := sim.SuiteOptions{Scenarios: splitList(*scen), Seed: *seed, TracesDir: tracesDir(*traces)}
	names := opt.Scenarios
	if len(names) == 0 {
		names = sim.BuiltinScenarios()
	}
	var total int64
	for _, n := range names {
		sc, err := sim.LoadScenario(n)
		if err != nil {
			fmt.Fprintf(e.stderr, "autotuner bakeoff: %v\n", err)
			return exitUsage
		}
		total += sc.Duration.Seconds() * int64(len(sim.SuitePolicies)) // a whole-trace scenario counts 0: the bar ends early
	}
	var bar *progressBar
	if e.isTerminal {
		bar = &progressBar{w: e.stderr, total: total, label: "bake-off"}
		opt.Progress = bar.add
	}
	started := time.Now()
	runs, err := sim.RunSuite(ctx, opt)
	bar.done()
	if err != nil {
		fmt.Fprintf(e.stderr, "autotuner bakeoff: %v\n", err)
		return exitFailure
	}

	base := strings.TrimSuffix(*out, filepath.Ext(*out))
	chartDir := base
	headline := base + "-headline.md"
	if err := os.MkdirAll(chartDir, 0o755); err != nil {
		fmt.Fprintf(e.stderr, "autotuner bakeoff: %v\n", err)
		return exitFailure
	}
	charts := map[string]string{}
	for _, r := range runs {
		name := r.Setup.Scenario.Name + ".png"
		var b bytes.Buffer
		if err := r.WriteChartPNG(&b); err != nil {
			fmt.Fprintf(e.stderr, "autotuner bakeoff: chart %s: %v\n", name, err)
			return exitFailure
		}
		if err := os.WriteFile(filepath.Join(chartDir, name), b.Bytes(), 0o644); err != nil {
			fmt.Fprintf(e.stderr, "autotuner bakeoff: %v\n", err)
			return exitFailure
		}
		charts[r.Setup.Scenario.Name] = filepath.ToSlash(filepath.Join(filepath.Base(chartDir), name))
	}
	cmdline := "autotuner bakeoff " + strings.Join(args, " ")
	var head, doc bytes.Buffer
	writeHeadline(&head, runs)
	writeBakeoff(&doc, runs, strings.TrimSpace(cmdline), *seed, head.String(), charts)
	if err := writeRateLimitBakeoff(ctx, &doc, *seed); err != nil {
		fmt.Fprintf(e.stderr, "autotuner bakeoff: %v\n", err)
		return exitFailure
	}
	files := map[string][]byte{*out: doc.Bytes(), headline: head.Bytes()}
	if *readme != "" {
		// Read again: the README may have been edited during the run.
		b, err := os.ReadFile(*readme)
		if err == nil {
			b, err = spliceHeadline(b, head.String())
		}
		if err != nil {
			fmt.Fprintf(e.stderr, "autotuner bakeoff: --readme: %v\n", err)
			return exitFailure
		}
		files[*readme] = b
	}
	for p, b := range files {
		if err := os.WriteFile(p, b, 0o644); err != nil {
			fmt.Fprintf(e.stderr, "autotuner bakeoff: %v\n", err)
			return exitFailure
		}
	}
	pass, total := 0, 0
	for _, r := range runs {
		for _, g := range r.Goals {
			total++
			if g.Pass {
				pass++
			}
		}
	}
	fmt.Fprintf(e.stdout, "%d scenarios × %d policies in %.1fs: %d of %d goals met\nwrote %s, %s and %s/\n",
		len(runs), len(sim.SuitePolicies), time.Since(started).Seconds(), pass, total, *out, headline, chartDir)
	return exitOK
}

// The README carries the headline table between these markers.
const (
	headlineStart = "<!-- bakeoff-headline:start -->"
	headlineEnd   = "<!-- bakeoff-headline:end -->"
)

// spliceHeadline replaces what lies between the headline markers of doc
// with table. It fails, naming the line, when a marker is missing,
// repeated or out of order, so a hand-edited README is never half
// overwritten.
func spliceHeadline(doc []byte, table string) ([]byte, error) {
	s := string(doc)
	find := func(marker string) (int, error) {
		i := strings.Index(s, marker)
		if i < 0 {
			return 0, fmt.Errorf("no %s marker", marker)
		}
		if j := strings.Index(s[i+len(marker):], marker); j >= 0 {
			return 0, fmt.Errorf("line %d: a second %s marker", strings.Count(s[:i+len(marker)+j], "\n")+1, marker)
		}
		return i, nil
	}
	start, err := find(headlineStart)
	if err != nil {
		return nil, err
	}
	end, err := find(headlineEnd)
	if err != nil {
		return nil, err
	}
	if end < start {
		return nil, fmt.Errorf("line %d: %s comes before %s", strings.Count(s[:end], "\n")+1, headlineEnd, headlineStart)
	}
	from := start + len(headlineStart)
	return []byte(s[:from] + "\n" + table + s[end:]), nil
}

// writeHeadline writes the short table the README includes: per scenario,
// throttled requests and cost of the autotuner against the AWS-style
// baselines and the oracle, and how many goals are met.
func writeHeadline(w io.Writer, runs []*sim.ScenarioRun) {
	cols := []string{sim.PolicyAutotuner, "target-tracking", "hpa", "threshold", sim.PolicyOracle}
	fmt.Fprintf(w, "| scenario | topology | throttled: %s | cost: autotuner / target-tracking | goals met |\n", strings.Join(cols, " / "))
	fmt.Fprintf(w, "|---|---|---|---|---|\n")
	for _, r := range runs {
		var thr []string
		for _, c := range cols {
			if res := r.Result(c); res != nil {
				thr = append(thr, fmt.Sprintf("%d", res.KPIs.Throttled))
			} else {
				thr = append(thr, "–")
			}
		}
		cost := "–"
		if a, t := r.Result(sim.PolicyAutotuner), r.Result("target-tracking"); a != nil && t != nil {
			cost = fmt.Sprintf("$%.2f / $%.2f", a.KPIs.CostUSD, t.KPIs.CostUSD)
		}
		pass := 0
		for _, g := range r.Goals {
			if g.Pass {
				pass++
			}
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %d / %d |\n", r.Setup.Scenario.Name, topologyShort(r.Setup.Scenario.Topology.Kind), strings.Join(thr, " / "), cost, pass, len(r.Goals))
	}
}

func writeBakeoff(w io.Writer, runs []*sim.ScenarioRun, cmdline string, seed uint64, headline string, charts map[string]string) {
	fmt.Fprintf(w, "# Bake-off: autotuner's defaults against the baselines\n\n")
	fmt.Fprintf(w, "<!-- GENERATED by `%s` (via `make bakeoff`). Do not edit: every number below comes from the run. -->\n\n", cmdline)
	fmt.Fprintf(w, "Generated by `%s` with seed %d: every built-in scenario under every policy, the same seed for all. ", cmdline, seed)
	fmt.Fprintf(w, "`autotuner` runs the built-in policies file of the scenario's topology as written; the baselines replace every target's policy (see `docs/simulator.md`); `static` holds the mean demand × 1.2; `oracle` sees the future. ")
	fmt.Fprintf(w, "The goals are issue 6's, checked by `sim.CheckGoals`; the paragraphs are written by the rules in `sim/narrative.go` from the numbers and the audit records. Rerunning the command with nothing changed gives a byte-identical file.\n\n")

	fmt.Fprintf(w, "## Headline\n\n%s\n", headline)

	fmt.Fprintf(w, "## Goals at a glance\n\n")
	fmt.Fprintf(w, "| goal |")
	for _, r := range runs {
		fmt.Fprintf(w, " %s |", r.Setup.Scenario.Name)
	}
	fmt.Fprintf(w, "\n|---|")
	for range runs {
		fmt.Fprintf(w, "---|")
	}
	fmt.Fprintln(w)
	for _, name := range sim.GoalNames {
		fmt.Fprintf(w, "| %s |", name)
		for _, r := range runs {
			cell := "–"
			for _, g := range r.Goals {
				if g.Name == name {
					cell = verdict(g)
				}
			}
			fmt.Fprintf(w, " %s |", cell)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "\n✅ met, ❌ missed, – not applicable. The numbers are in each scenario's goal table.\n\n")

	for _, r := range runs {
		sc := r.Setup.Scenario
		fmt.Fprintf(w, "## %s\n\n", sc.Name)
		fmt.Fprintf(w, "%s Topology `%s`, %s simulated, seed %d, policies `%s`.\n\n", strings.TrimSpace(sc.Description), sc.Topology.Kind,
			time.Duration(r.Setup.DurationS)*time.Second, sc.Seed, r.Setup.PoliciesName)
		fmt.Fprintf(w, "%s\n\n", strings.Join(r.Story, " "))
		fmt.Fprintf(w, "| policy | offered | served | throttled | API GW | Lambda | DynamoDB | overload s | max age s | p99 age s | cost $ | actuations | reversals | quota viol. |\n")
		fmt.Fprintf(w, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
		for _, res := range r.Results {
			k, l := res.KPIs, res.Layers
			fmt.Fprintf(w, "| %s | %d | %d | %d | %d | %d | %d | %d | %.0f | %.0f | %.4f | %d | %d | %d |\n", res.Policy, k.Offered, k.Served, k.Throttled,
				l.APIGateway, l.Lambda, l.DynamoDB, k.OverloadS, k.MaxQueueAgeS, k.P99QueueAgeS, k.CostUSD, k.Actuations, k.Reversals, k.QuotaViolations)
		}
		fmt.Fprintf(w, "\n| goal | measured | threshold | | detail |\n|---|--:|--:|---|---|\n")
		for _, g := range r.Goals {
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", g.Name, fnum(g.Measured), fnum(g.Threshold), verdict(g), g.Detail)
		}
		if c, ok := charts[sc.Name]; ok {
			fmt.Fprintf(w, "\n![%s: autotuner, target-tracking and the oracle](%s)\n", sc.Name, c)
		}
		fmt.Fprintln(w)
	}

	fmt.Fprintf(w, "## How the goals are measured\n\n")
	fmt.Fprintf(w, "- **Throttled** is the sum over layers (API Gateway 429s, Lambda throttles, DynamoDB-throttled requests); downstream errors are not counted in it.\n")
	fmt.Fprintf(w, "- **Cost** is `cost_usd`: the simulator prices only DynamoDB capacity, so the total is the DynamoDB part.\n")
	fmt.Fprintf(w, "- **Overload** compares `overload_s` with the lowest of every baseline (`static` included, the oracle excluded).\n")
	fmt.Fprintf(w, "- **Back-pressure** looks in the autotuner's audit records for an applied decrease in which a `back_pressure` guard step lowered the value, at most %d s after each brownout fault begins.\n", sim.BackPressureDeadlineS)
	fmt.Fprintf(w, "- **Pareto** places each policy on two axes normalised by target tracking's values: throttled ÷ TT's throttled, and cost ÷ TT's cost + overload_s ÷ TT's overload_s (so an overload second is priced at TT's cost ÷ TT's overload seconds, and TT sits at (1, 2)). A reference below a floor is raised to it (0.1%% of offered requests, $0.0001, 1%% of the scenario's seconds). The goal fails if a baseline is strictly lower on both axes.\n")
	fmt.Fprintf(w, "- **Reversals** are the `reversals` KPI summed over the targets of the policies file, divided by the simulated hours.\n")
}

// topologyShort names a topology as the issue does: (a) or (b).
func topologyShort(kind string) string {
	switch kind {
	case sim.TopologyAPI:
		return "(a) API GW → Lambda → DynamoDB"
	case sim.TopologyQueue:
		return "(b) SQS → Lambda → DynamoDB → API"
	}
	return kind
}

func verdict(g sim.Goal) string {
	if g.Pass {
		return "✅"
	}
	return "❌"
}

// fnum prints a measured value compactly.
func fnum(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "∞"
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) < 0.1:
		return fmt.Sprintf("%.4f", v)
	}
	return fmt.Sprintf("%.2f", v)
}
