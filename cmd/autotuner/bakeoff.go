package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/autotuner/autotuner/sim"
)

func init() {
	register(command{name: "bakeoff", summary: "run every scenario under every policy and write the bake-off report (docs/bakeoff.md)", run: runBakeoff})
}

func runBakeoff(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "bakeoff", "[--out docs/bakeoff.md] [--seed N] [--seeds 1-8] [--scenarios LIST] [--traces DIR]")
	out := fs.String("out", "docs/bakeoff.md", "the report; its charts go to a directory of the same name beside it, its headline table to NAME-headline.md")
	seed := fs.Uint64("seed", 1, "the seed of the detailed tables, charts and headline")
	seedList := fs.String("seeds", "1-8", "the seeds every goal is judged on, with and without the burst bank: a range such as 1-8 or a list")
	noBurst := fs.Bool("no-burst", true, "also run each provisioned-table scenario with burst_seconds: 0")
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
	if err := checkReadme(*readme, *out); err != nil {
		fmt.Fprintf(e.stderr, "autotuner bakeoff: --readme: %v\n", err)
		return exitUsage
	}
	seeds, err := parseSeeds(*seedList, *seed)
	if err != nil {
		fmt.Fprintf(e.stderr, "autotuner bakeoff: --seeds: %v\n", err)
		return exitUsage
	}
	opt := sim.SuiteOptions{Scenarios: splitList(*scen), Seeds: seeds, TracesDir: tracesDir(*traces),
		Detailed: func(r *sim.ScenarioRun) bool { return r.Seed == *seed }}
	if *noBurst {
		opt.Variants = []sim.Variant{sim.NoBurst}
	}
	total, err := suiteSeconds(opt)
	if err != nil {
		fmt.Fprintf(e.stderr, "autotuner bakeoff: %v\n", err)
		return exitUsage
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
	detail := detailRuns(runs, *seed)
	charts, err := writeCharts(detail, chartDir)
	if err != nil {
		fmt.Fprintf(e.stderr, "autotuner bakeoff: %v\n", err)
		return exitFailure
	}
	cmdline := "autotuner bakeoff " + strings.Join(args, " ")
	var head, doc bytes.Buffer
	writeHeadline(&head, detail)
	var sfn []sfnSection
	if len(opt.Scenarios) == 0 {
		if sfn, err = runSFNBakeoff(ctx, opt.TracesDir); err != nil {
			fmt.Fprintf(e.stderr, "autotuner bakeoff: %v\n", err)
			return exitFailure
		}
	}
	d := bakeoffDoc{runs: runs, detail: detail, cmdline: strings.TrimSpace(cmdline), seed: *seed, seeds: seeds, headline: head.String(), charts: charts}
	d.sfnNames, d.sfnGoals = sfnGlance(sfn)
	writeBakeoff(&doc, d)
	if len(opt.Scenarios) == 0 {
		writeSFNSections(&doc, sfn)
	}
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
	pass, goals := goalsMet(runs)
	fmt.Fprintf(e.stdout, "%d scenarios × %d seeds × %d policies (%d runs) in %.1fs: %d of %d goals met on every seed and variant\nwrote %s, %s and %s/\n",
		len(detail), len(seeds), len(sim.SuitePolicies), len(runs)*len(sim.SuitePolicies), time.Since(started).Seconds(), pass, goals, *out, headline, chartDir)
	return exitOK
}

// checkReadme refuses a README without the headline markers, or one that
// is a file the bake-off writes itself.
func checkReadme(readme, out string) error {
	if readme == "" {
		return nil
	}
	base := strings.TrimSuffix(out, filepath.Ext(out))
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
	b, err := os.ReadFile(readme)
	if err == nil {
		_, err = spliceHeadline(b, "")
	}
	if err == nil && (same(readme, out) || same(readme, base+"-headline.md")) {
		err = fmt.Errorf("%s is a file the bake-off writes itself", readme)
	}
	return err
}

// suiteSeconds is the simulated seconds the suite will run, for the
// progress bar; a whole-trace scenario counts 0, so the bar ends early.
func suiteSeconds(opt sim.SuiteOptions) (int64, error) {
	names := opt.Scenarios
	if len(names) == 0 {
		names = sim.BuiltinScenarios()
	}
	var total int64
	for _, n := range names {
		sc, err := sim.LoadScenario(n)
		if err != nil {
			return 0, err
		}
		total += sc.Duration.Seconds() * int64(len(sim.SuitePolicies)*len(opt.Seeds)*(1+len(opt.Variants)))
	}
	return total, nil
}

// writeCharts writes each detailed run's chart into dir and returns the
// charts' paths by scenario, relative to the report.
func writeCharts(detail []*sim.ScenarioRun, dir string) (map[string]string, error) {
	charts := map[string]string{}
	for _, r := range detail {
		name := r.Setup.Scenario.Name + ".png"
		var b bytes.Buffer
		if err := r.WriteChartPNG(&b); err != nil {
			return nil, fmt.Errorf("chart %s: %w", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644); err != nil {
			return nil, err
		}
		charts[r.Setup.Scenario.Name] = filepath.ToSlash(filepath.Join(filepath.Base(dir), name))
	}
	return charts, nil
}

// goalsMet counts the goals met on every seed and variant, of all goals.
func goalsMet(runs []*sim.ScenarioRun) (pass, total int) {
	for _, g := range sim.SummarizeGoals(runs) {
		total++
		if g.Met() {
			pass++
		}
	}
	return pass, total
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

// parseSeeds reads "1-8" or "1,3,5"; the detailed seed is always run.
func parseSeeds(s string, detail uint64) ([]uint64, error) {
	var out []uint64
	for _, part := range splitList(s) {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.ParseUint(strings.TrimSpace(lo), 10, 64)
		if err != nil || a == 0 {
			return nil, fmt.Errorf("%q: want seeds from 1, such as 1-8 or 1,2,3", part)
		}
		b := a
		if isRange {
			if b, err = strconv.ParseUint(strings.TrimSpace(hi), 10, 64); err != nil || b < a || b-a >= 1000 {
				return nil, fmt.Errorf("%q: want a range such as 1-8", part)
			}
		}
		for x := a; x <= b; x++ {
			if !slices.Contains(out, x) {
				out = append(out, x)
			}
		}
	}
	if !slices.Contains(out, detail) {
		out = append([]uint64{detail}, out...)
	}
	return out, nil
}

// detailRuns are the runs of the detailed seed as written, one per
// scenario.
func detailRuns(runs []*sim.ScenarioRun, seed uint64) []*sim.ScenarioRun {
	var out []*sim.ScenarioRun
	for _, r := range runs {
		if r.Seed == seed && r.Variant == "" {
			out = append(out, r)
		}
	}
	return out
}
