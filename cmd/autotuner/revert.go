package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/state"
)

func init() {
	register(command{name: "revert", summary: "put every target back to its value before autotuner first touched it", run: runRevert})
}

func runRevert(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "revert", "[-c policies.yaml] [--targets a,b] [--dry-run] [--state-table T [--lease NAME [--force]]]")
	cfgPath := configFlag(fs)
	only := fs.String("targets", "", "comma-separated target names (default: all)")
	dry := fs.Bool("dry-run", false, "say what would be reverted; change nothing")
	leaseName := fs.String("lease", "", "with --state-table: refuse while a replica holds this lease (a running autotuner would undo the revert on its next tick)")
	force := fs.Bool("force", false, "with --lease: revert even while the lease is held")
	sf := &stateOpts{
		path:     fs.String("state", "autotuner-state.json", "state file"),
		table:    fs.String("state-table", "", "read state from this DynamoDB table instead of the file"),
		lease:    new(string),
		leaseTTL: new(time.Duration),
		owner:    new(string),
		auditTTL: new(time.Duration),
	}
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	f, err := loadPolicies(ctx, e, *cfgPath, false)
	if err != nil {
		fmt.Fprintln(e.stderr, err)
		return exitUsage
	}
	targets := f.Targets
	if *only != "" {
		targets = nil
		for _, n := range strings.Split(*only, ",") {
			t := f.Target(n)
			if t == nil {
				fmt.Fprintf(e.stderr, "autotuner revert: no target named %q in %s\n", n, f.Path)
				return exitUsage
			}
			if !slices.Contains(targets, t) {
				targets = append(targets, t)
			}
		}
	}
	// The file store's lock also keeps revert from racing a running
	// daemon: stop the daemon (or disable the schedule) first.
	st, err := sf.open(ctx, f.Defaults.Region)
	if err != nil {
		fmt.Fprintf(e.stderr, "autotuner revert: %v\n", err)
		return exitFailure
	}
	defer st.close()
	if *force && *leaseName == "" {
		fmt.Fprintln(e.stderr, "autotuner revert: --force goes with --lease: it overrides a held lease")
		return exitUsage
	}
	if *leaseName != "" {
		if st.ddb == nil {
			fmt.Fprintln(e.stderr, "autotuner revert: --lease needs --state-table: the lease lives in the state table")
			return exitUsage
		}
		l := &state.Lease{Client: st.ddb, Table: *sf.table, Name: *leaseName}
		h, err := l.Holder(ctx)
		if err != nil {
			fmt.Fprintf(e.stderr, "autotuner revert: reading the lease: %v\n", err)
			return exitFailure
		}
		var problem string
		switch now := daemonClock.Now(); {
		case h == nil:
			problem = fmt.Sprintf("there is no lease %q in table %s: check the name (the daemon's --lease, the function's AUTOTUNER_LEASE)", *leaseName, *sf.table)
		case h.Expires.After(now):
			problem = fmt.Sprintf("lease %q is held by %s until %s: that autotuner would undo the revert on its next tick. Stop it (or disable its schedule) first",
				*leaseName, h.Owner, h.Expires.UTC().Format(time.RFC3339))
		}
		switch {
		case problem == "":
		case *dry:
			fmt.Fprintf(e.stdout, "warning: %s\n", problem)
		case !*force:
			fmt.Fprintf(e.stderr, "autotuner revert: %s, or pass --force\n", problem)
			return exitFailure
		default:
			fmt.Fprintf(e.stdout, "%s; reverting anyway (--force)\n", problem)
		}
	}
	be, err := newBackend(ctx, e, f)
	if err != nil {
		fmt.Fprintf(e.stderr, "autotuner revert: %v\n", err)
		return exitFailure
	}
	if be.close != nil {
		defer be.close()
	}
	r := reverter{store: st.store, actuators: be.actuators, now: daemonClock.Now(), dry: *dry, w: e}
	for _, t := range targets {
		r.revert(ctx, t)
	}
	if cm, ok := st.store.(controller.Committer); ok && !*dry {
		if err := cm.Commit(ctx); err != nil {
			fmt.Fprintf(e.stderr, "autotuner revert: saving state: %v\n", err)
			r.failed++
		}
	}
	switch {
	case r.failed > 0:
		fmt.Fprintf(e.stdout, "%d target(s) could not be reverted; see above\n", r.failed)
		return exitFailure
	case r.waiting > 0:
		fmt.Fprintf(e.stdout, "%d target(s) must wait for the service; run revert again at or after %s\n", r.waiting, r.earliest.UTC().Format(time.RFC3339))
		return exitFailure
	}
	return exitOK
}

type reverter struct {
	store     controller.Store
	actuators map[config.Kind]controller.Actuator
	now       time.Time
	dry       bool
	w         *env

	failed, waiting int
	earliest        time.Time
}

func (r *reverter) say(t *config.Target, format string, args ...any) {
	fmt.Fprintf(r.w.stdout, "%s (%s): %s\n", t.Name, t.Identity(), fmt.Sprintf(format, args...))
}

func (r *reverter) fail(t *config.Target, stage string, err error) {
	r.failed++
	r.say(t, "%s failed (%s): %v", stage, controller.Classify(err), err)
}

func (r *reverter) wait(t *config.Target, until time.Time, why string) {
	r.waiting++
	if r.earliest.IsZero() || until.Before(r.earliest) {
		r.earliest = until
	}
	r.say(t, "%s; revert it at or after %s", why, until.UTC().Format(time.RFC3339))
}

func (r *reverter) revert(ctx context.Context, t *config.Target) {
	mem, err := r.store.Load(ctx, t.Name)
	if err != nil {
		r.fail(t, "loading state", err)
		return
	}
	if !mem.Actuation.HaveOriginal {
		r.say(t, "autotuner never read or changed it; nothing to revert")
		return
	}
	orig := mem.Actuation.Original
	if mem.Actuation.OriginalUnset {
		// Setting the value the service allowed without a setting is not
		// the same thing: for a function it would reserve the account's
		// whole unreserved pool and starve every other function.
		r.failed++
		r.say(t, "had no setting before autotuner (recorded %s); remove the setting instead of reverting to a number: %s",
			mem.Actuation.OriginalAt.UTC().Format(time.RFC3339), unsetHint(t))
		return
	}
	act := r.actuators[t.Kind]
	if act == nil {
		r.fail(t, "reading", fmt.Errorf("no actuator for kind %s", t.Kind))
		return
	}
	cur, err := act.Current(ctx, t, r.now)
	if err != nil {
		r.fail(t, "reading", err)
		return
	}
	burst := r.burstToRestore(t, mem.Actuation, cur, act)
	if cur.Value == orig && burst.none() {
		r.say(t, "already at its original value %v%s (recorded %s)", orig, burst.note, mem.Actuation.OriginalAt.UTC().Format(time.RFC3339))
		return
	}
	c := cur.Constraints
	if c.Blocked != "" {
		r.failed++
		r.say(t, "cannot change now: %s; run revert again later", c.Blocked)
		return
	}
	if !c.NotBefore.IsZero() && r.now.Before(c.NotBefore) {
		r.wait(t, c.NotBefore, "the service allows the next change only later")
		return
	}
	if orig < cur.Value && c.Decreases.Enforced {
		if ok, when := c.Decreases.Allowed(r.now); !ok {
			r.wait(t, when, fmt.Sprintf("going back from %v to %v is a DynamoDB decrease, and the table's decrease quota is spent for now (%d today)", cur.Value, orig, c.Decreases.Today))
			return
		}
	}
	note := burst.note
	if r.dry {
		r.say(t, "would set %v → %v, its value before autotuner first touched it at %s%s", cur.Value, orig, mem.Actuation.OriginalAt.UTC().Format(time.RFC3339), note)
		return
	}
	var err2 error
	if burst.set {
		err2 = burst.restorer.RestoreBurst(ctx, t, orig, burst.to, r.now)
	} else {
		err2 = act.Apply(ctx, t, cur.Value, orig, r.now)
	}
	if err2 != nil {
		r.fail(t, "applying", err2)
		return
	}
	mem.Actuation.LastSet, mem.Actuation.HaveLastSet, mem.Actuation.LastSetAt = orig, true, r.now
	if err := r.store.Save(ctx, t.Name, mem); err != nil {
		r.say(t, "reverted, but saving state failed: %v", err)
	}
	r.say(t, "reverted %v → %v%s", cur.Value, orig, note)
}

// unsetHint says how to remove a setting that did not exist before
// autotuner.
func unsetHint(t *config.Target) string {
	switch t.Kind {
	case config.LambdaReservedConcurrency:
		return "aws lambda delete-function-concurrency --function-name " + t.Function
	case config.LambdaSQSMaxConcurrency:
		return "aws lambda update-event-source-mapping --uuid " + t.EventSourceMapping + " --scaling-config '{}'"
	case config.DynamoDBOnDemandMax:
		return "aws dynamodb update-table --table-name " + t.Table + " with MaxReadRequestUnits/MaxWriteRequestUnits -1"
	case config.StepFunctionsMap, config.Parameter:
		if h := publishedUnsetHint(t); h != "" {
			return h
		}
	case config.APIGatewayUsagePlan:
		if t.Method == "" {
			return "aws apigateway update-usage-plan --usage-plan-id " + t.UsagePlan + " --patch-operations op=remove,path=/throttle"
		}
	}
	return "remove it by hand"
}
