package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/sim"
)

func init() {
	register(command{name: "simulate", summary: "replay a scenario offline and compare policies; no AWS needed", run: runSimulate})
}

// defaultCompare is what a bare `autotuner simulate` compares.
const defaultCompare = "autotuner,target-tracking,hpa,static,oracle"

func runSimulate(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "simulate", "[--scenario NAME|FILE] [--policies FILE] [--compare LIST] [flags]")
	scenario := fs.String("scenario", sim.DefaultScenario, "built-in scenario ("+strings.Join(sim.BuiltinScenarios(), ", ")+") or a scenario file")
	policies := fs.String("policies", "", "policies file to simulate (default: the scenario's, or its topology's built-in one)")
	compare := fs.String("compare", defaultCompare, "policies to compare: "+strings.Join(sim.PolicyNames(), ","))
	seed := fs.Uint64("seed", 0, "random seed (default: the scenario's)")
	out := fs.String("out", "autotuner-report", "directory for the report; empty writes none")
	format := fs.String("format", "table", "output: table, json or csv")
	traces := fs.String("traces", "", "directory of trace CSVs (default: ../shared/traces from here, then from the module root)")
	auditPath := fs.String("audit", "", "write the audit records of one policy's run (JSON lines, as the daemon writes them) to this file")
	auditPolicy := fs.String("audit-policy", "autotuner", "the policy whose run --audit records")
	baselinesFollow := fs.Bool("baselines-use-policies", false, "baselines take their setpoints from --policies too (by default they keep the scenario's own policies file, so two files compare like for like)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(e.stderr, "autotuner simulate: unexpected argument %q (use --scenario)\n", fs.Arg(0))
		return exitUsage
	}
	switch *format {
	case "table", "json", "csv":
	default:
		fmt.Fprintf(e.stderr, "autotuner simulate: --format must be table, json or csv, got %q\n", *format)
		return exitUsage
	}
	if slices.Contains(sim.SFNScenarios(), *scenario) {
		return runSimulateSFN(ctx, e, *scenario, *policies, tracesDir(*traces), *format)
	}
	names := splitList(*compare)
	if len(names) == 0 {
		fmt.Fprintln(e.stderr, "autotuner simulate: --compare names no policy")
		return exitUsage
	}
	for _, n := range names {
		if !slices.Contains(sim.PolicyNames(), n) {
			fmt.Fprintf(e.stderr, "autotuner simulate: --compare: unknown policy %q (one of %s)\n", n, strings.Join(sim.PolicyNames(), ", "))
			return exitUsage
		}
	}
	sc, err := sim.LoadScenario(*scenario)
	if err != nil {
		fmt.Fprintf(e.stderr, "autotuner simulate: %v\n", err)
		return exitUsage
	}
	if *seed != 0 {
		sc.Seed = *seed
	}
	pname, pdata, err := sim.LoadPolicies(sc, *policies)
	if err != nil {
		fmt.Fprintf(e.stderr, "autotuner simulate: %v\n", err)
		return exitUsage
	}
	setup, err := sim.Prepare(sc, pname, pdata, tracesDir(*traces))
	if err != nil {
		fmt.Fprintf(e.stderr, "autotuner simulate: %v\n", err)
		if errors.Is(err, sim.ErrNoTraces) {
			return exitFailure
		}
		return exitUsage
	}
	if *policies != "" && !*baselinesFollow {
		bn, bd, err := sim.PoliciesFor(sc)
		if err == nil {
			err = setup.BaselinesFrom(bn, bd)
		}
		if err != nil {
			fmt.Fprintf(e.stderr, "autotuner simulate: the scenario's own policies file, which the baselines run: %v\n", err)
			return exitUsage
		}
	}

	var bar *progressBar
	if e.isTerminal {
		bar = &progressBar{w: e.stderr, total: setup.DurationS * int64(len(names)), label: sc.Name}
	}
	started := time.Now()
	results, err := setup.Compare(ctx, names, bar.add)
	bar.done()
	if err != nil {
		fmt.Fprintf(e.stderr, "autotuner simulate: %v\n", err)
		return exitFailure
	}
	if *auditPath != "" {
		if err := writeSimAudit(ctx, setup, *auditPolicy, *auditPath); err != nil {
			fmt.Fprintf(e.stderr, "autotuner simulate: --audit: %v\n", err)
			return exitFailure
		}
	}
	seen := map[string]bool{}
	for _, r := range results {
		for _, n := range r.Notes {
			if !seen[n] {
				seen[n] = true
				fmt.Fprintf(e.stderr, "note: %s\n", n)
			}
		}
	}

	rep := sim.NewReport(setup, results)
	switch *format {
	case "json":
		if err := rep.WriteJSON(e.stdout); err != nil {
			fmt.Fprintf(e.stderr, "autotuner simulate: %v\n", err)
			return exitFailure
		}
	case "csv":
		if err := writeKPICSV(e.stdout, results); err != nil {
			fmt.Fprintf(e.stderr, "autotuner simulate: %v\n", err)
			return exitFailure
		}
	default:
		fmt.Fprintf(e.stdout, "scenario %s (%s), seed %d, policies %s — %s simulated in %s\n",
			sc.Name, sc.Topology.Kind, sc.Seed, pname, time.Duration(setup.DurationS)*time.Second, wallTime(time.Since(started)))
		if setup.BaselinePolicies != nil {
			fmt.Fprintf(e.stdout, "the other policies run %s (--baselines-use-policies to run them on %s)\n", setup.BaselinePoliciesName, pname)
		}
		fmt.Fprintln(e.stdout)
		writeKPITable(e.stdout, results)
	}
	if *out != "" {
		files, err := rep.Write(*out)
		if err != nil {
			fmt.Fprintf(e.stderr, "autotuner simulate: writing the report: %v\n", err)
			return exitFailure
		}
		if *format == "table" {
			fmt.Fprintf(e.stdout, "\nreport: %s\n", files[0])
		}
	}
	return exitOK
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// tracesDir finds the traces: the flag, else ../shared/traces from the
// working directory, else from the module root.
func tracesDir(flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	const rel = "../shared/traces"
	if st, err := os.Stat(rel); err == nil && st.IsDir() {
		return rel
	}
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
				return filepath.Join(d, rel)
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	return rel
}

func writeKPITable(w io.Writer, results []*sim.Result) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	// DOWNSTREAM_ERR: calls the overloaded dependency failed. They are not
	// throttles, but behind a queue each is a retry a limit could have
	// spared (on brownout, the price of a limit that does not back off).
	// LOST: requests that never succeed; DELAYED: requests that failed
	// at least once, then succeeded on a retry. THROTTLED counts throttle
	// events at every layer, however often one request met them.
	fmt.Fprintln(tw, "POLICY\tOFFERED\tSERVED\tSERVED%\tLOST\tDELAYED\tTHROTTLED\tDOWNSTREAM_ERR\tOVERLOAD_S\tMAX_AGE_S\tP99_AGE_S\tCOST_USD\tACTUATIONS\tREVERSALS\tQUOTA_VIOL\t")
	for _, r := range results {
		k := r.KPIs
		pct := 0.0
		if k.Offered > 0 {
			pct = 100 * float64(k.Served) / float64(k.Offered)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.2f\t%d\t%d\t%d\t%d\t%d\t%.0f\t%.0f\t%.2f\t%d\t%d\t%d\t\n",
			r.Policy, k.Offered, k.Served, pct, k.Lost, k.Delayed, k.Throttled, r.Layers.Downstream, k.OverloadS, k.MaxQueueAgeS, k.P99QueueAgeS, k.CostUSD, k.Actuations, k.Reversals, k.QuotaViolations)
	}
	tw.Flush()
}

func writeKPICSV(w io.Writer, results []*sim.Result) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"policy", "offered", "served", "throttled", "overload_s", "max_queue_age_s", "p99_queue_age_s", "cost_usd", "actuations", "reversals", "quota_violations",
		"throttled_api_gateway", "throttled_lambda", "throttled_dynamodb", "downstream_errors",
		"lost", "delayed", "lost_throttled", "lost_failed", "lost_dead_letter", "lost_expired"})
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	i := func(v int64) string { return strconv.FormatInt(v, 10) }
	for _, r := range results {
		k, l, lo := r.KPIs, r.Layers, r.Losses
		cw.Write([]string{r.Policy, i(k.Offered), i(k.Served), i(k.Throttled), i(k.OverloadS), f(k.MaxQueueAgeS), f(k.P99QueueAgeS), f(k.CostUSD),
			i(int64(k.Actuations)), i(int64(k.Reversals)), i(int64(k.QuotaViolations)), i(l.APIGateway), i(l.Lambda), i(l.DynamoDB), i(l.Downstream),
			i(k.Lost), i(k.Delayed), i(lo.Throttled), i(lo.Failed), i(lo.DeadLetter), i(lo.Expired)})
	}
	cw.Flush()
	return cw.Error()
}

// progressBar draws on a terminal only; a nil bar does nothing.
type progressBar struct {
	w     io.Writer
	total int64
	done_ int64
	shown int
	label string
}

func (b *progressBar) add(sec int64) {
	if b == nil || b.total <= 0 {
		return
	}
	b.done_ += sec
	pct := int(100 * b.done_ / b.total)
	if pct == b.shown {
		return
	}
	b.shown = pct
	const width = 30
	fill := width * pct / 100
	fmt.Fprintf(b.w, "\rsimulating %s [%s%s] %3d%%", b.label, strings.Repeat("#", fill), strings.Repeat("-", width-fill), pct)
}

func (b *progressBar) done() {
	if b == nil {
		return
	}
	fmt.Fprintf(b.w, "\r%s\r", strings.Repeat(" ", 60))
}

// writeSimAudit runs one policy again on the same seed, writing every
// audit record: the simulation is deterministic, so these are the
// decisions behind the row the table shows, explained guard by guard.
func writeSimAudit(ctx context.Context, setup *sim.Setup, policyName, path string) error {
	if !slices.Contains(sim.PolicyNames(), policyName) {
		return fmt.Errorf("unknown policy %q (one of %s)", policyName, strings.Join(sim.PolicyNames(), ", "))
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	_, runErr := setup.Run(ctx, policyName, sim.RunOptions{Audit: controller.NewJSONLines(w)})
	if err := w.Flush(); err != nil && runErr == nil {
		runErr = err
	}
	if err := f.Close(); err != nil && runErr == nil {
		runErr = err
	}
	return runErr
}

// wallTime shows how long a run took with two significant digits, so a
// fast run reads "40ms", never "0.0s".
func wallTime(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return d.Round(time.Second).String()
	case d >= time.Second:
		return d.Round(100 * time.Millisecond).String()
	case d >= 10*time.Millisecond:
		return d.Round(time.Millisecond).String()
	case d >= 10*time.Microsecond:
		return d.Round(time.Microsecond).String()
	}
	return d.String()
}
