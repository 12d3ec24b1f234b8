package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/state"
)

func init() {
	register(command{name: "plan", summary: "decide once for every target and print the plan; change nothing (exit 0, 1 if a target had an error, 2 for bad input)", run: func(ctx context.Context, e *env, a []string) int { return runTick(ctx, e, a, true) }})
	register(command{name: "once", summary: "run one tick: decide and apply, then exit (exit 0, 1 if a target had an error, 2 for bad input)", run: func(ctx context.Context, e *env, a []string) int { return runTick(ctx, e, a, false) }})
}

// backend is the outside world a tick talks to.
type backend struct {
	sensor    controller.Sensor
	actuators map[config.Kind]controller.Actuator
	close     func()
	// checkEvery is the controller's drift-check rotation (CheckEvery)
	// that keeps a tick within the services' control-plane quotas.
	checkEvery int
}

// newBackend connects to AWS. The AWS sensors and actuators replace this
// when they are built in.
var newBackend = func(ctx context.Context, e *env, f *config.File) (*backend, error) {
	return nil, errors.New("this build has no AWS sensors or actuators; use 'autotuner simulate' to try policies offline")
}

func runTick(ctx context.Context, e *env, args []string, plan bool) int {
	name := "once"
	if plan {
		name = "plan"
	}
	fs := newFlags(e, name, "[-c policies.yaml] [flags]\n\nExit status: 0 when every target was evaluated without error; 1 when a\ntarget had an error (the plan is still printed, the error beside it) or\nAWS could not be reached; 2 for bad flags or an invalid policies file.")
	cfgPath := configFlag(fs)
	statePath := fs.String("state", "autotuner-state.json", "state file")
	asJSON := fs.Bool("json", false, "print the decisions as JSON lines (the audit records)")
	only := fs.String("targets", "", "comma-separated target names (default: all)")
	dry := fs.Bool("dry-run", false, "decide and remember, apply nothing (once only; plan refuses it)")
	auditPath := fs.String("audit", "", "append audit records to this file (once only; plan refuses it)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(e.stderr, "autotuner %s: unexpected arguments %q (the policies file goes with -c)\n", name, fs.Args())
		return exitUsage
	}
	// plan changes nothing and records nothing: a flag that promises
	// otherwise is refused rather than silently ignored.
	if plan && (*dry || *auditPath != "") {
		fmt.Fprintln(e.stderr, "autotuner plan: --dry-run and --audit are for once: plan never applies and writes no audit; use once --dry-run --audit FILE to decide, remember and record without applying")
		return exitUsage
	}
	f, err := loadPolicies(ctx, e, *cfgPath, false)
	if err != nil {
		fmt.Fprintln(e.stderr, err)
		return exitUsage
	}
	be, err := newBackend(ctx, e, f)
	if err != nil {
		fmt.Fprintf(e.stderr, "autotuner %s: %v\n", name, err)
		return exitFailure
	}
	if be.close != nil {
		defer be.close()
	}
	var store controller.Store
	if plan {
		// plan reads state but never writes it, and takes no lock.
		store, err = readOnlyState(*statePath)
	} else {
		var fsStore *state.File
		fsStore, err = state.OpenFile(*statePath)
		if fsStore != nil {
			defer fsStore.Close()
			store = fsStore
		}
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "autotuner %s: %v\n", name, err)
		return exitFailure
	}
	c := &controller.Controller{Config: f, Sensor: be.sensor, Actuators: be.actuators, Store: store, Logger: e.logger, CheckEvery: be.checkEvery}
	if *auditPath != "" && !plan {
		sink, af, err := controller.OpenAuditFile(*auditPath)
		if err != nil {
			fmt.Fprintf(e.stderr, "autotuner %s: %v\n", name, err)
			return exitFailure
		}
		defer af.Close()
		c.Audit = sink
	}
	opt := controller.TickOptions{Plan: plan, DryRun: *dry}
	if *only != "" {
		opt.Only = strings.Split(*only, ",")
	}
	res, err := c.Tick(ctx, time.Now(), opt)
	if err != nil {
		fmt.Fprintf(e.stderr, "autotuner %s: %v\n", name, err)
		if res == nil {
			return exitUsage
		}
	}
	if *asJSON {
		sink := controller.NewJSONLines(e.stdout)
		for _, r := range res.Records {
			sink.Write(r)
		}
	} else {
		printPlan(e.stdout, res)
	}
	if res.Errors() > 0 || err != nil {
		return exitFailure
	}
	return exitOK
}

// readOnlyState loads the state file without locking or writing it.
func readOnlyState(path string) (controller.Store, error) {
	mem := state.NewMem()
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return mem, nil
	}
	snap, err := state.ReadSnapshot(path)
	if err != nil {
		return nil, err
	}
	for name, m := range snap {
		mem.Save(context.Background(), name, m)
	}
	return mem, nil
}

// printPlan writes one row per target, then each decision's explanation.
func printPlan(w io.Writer, res *controller.Result) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TARGET\tMODE\tCURRENT\tPROPOSED\tFINAL\tACTION\tSIGNALS")
	for _, r := range res.Records {
		action, proposed := "hold", "-"
		if r.Decision != nil {
			action = string(r.Decision.Action)
			proposed = strconv.FormatFloat(r.Decision.Proposed, 'g', 6, 64)
		}
		if r.Error != "" {
			action = "error"
		}
		// Without a decision the value in force was never learned (the
		// read failed, or a follower had nothing to plan from): "-", not 0.
		current, final := "-", "-"
		if r.Decision != nil {
			current, final = strconv.FormatFloat(r.Current, 'g', -1, 64), strconv.FormatFloat(r.Final, 'g', -1, 64)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Target, r.Mode, current, proposed, final, action, signalSummary(r))
	}
	tw.Flush()
	for _, r := range res.Records {
		switch {
		case r.Error != "":
			fmt.Fprintf(w, "%s: %s error (%s): %s\n", r.Target, r.Stage, r.ErrorClass, r.Error)
		case r.Decision != nil:
			fmt.Fprintf(w, "%s: %s\n", r.Target, r.Decision.Explain())
		}
		if r.Drift != nil {
			fmt.Fprintf(w, "%s: drift: autotuner set %v, the service reports %v\n", r.Target, r.Drift.Expected, r.Drift.Actual)
		}
	}
}

func signalSummary(r *controller.Record) string {
	names := make([]string, 0, len(r.Signals))
	for n := range r.Signals {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, 0, len(names))
	for _, n := range names {
		s := r.Signals[n]
		if s.Present() {
			parts = append(parts, fmt.Sprintf("%s=%.4g", n, s.Value))
		} else {
			parts = append(parts, n+"=missing")
		}
	}
	return strings.Join(parts, " ")
}
