package controller_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/policy"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

func steady(v float64) func(time.Time, string) policy.Signals {
	return func(now time.Time, _ string) policy.Signals { return busy(now, v) }
}

func TestIsolation(t *testing.T) {
	f := policies(t, lambdaTarget("a", ""), lambdaTarget("b", ""), lambdaTarget("c", ""), lambdaTarget("d", ""), lambdaTarget("e", ""))
	r := newRig(t, f, map[string]float64{"a": 100, "b": 100, "c": 100, "d": 100}, steady(91))
	r.c.Parallelism = 3
	r.svc.applyErr["b"] = controller.WithClass(controller.ClassThrottled, errors.New("TooManyRequestsException: rate exceeded"))
	r.svc.panicOn["c"] = "current"
	r.svc.panicOn["d"] = "apply"
	// e does not exist in the service: a read error of its own.
	res := r.tick(t, t0, controller.TickOptions{})

	if a := record(t, res, "a"); !a.Applied || a.Final != 130 || a.Error != "" {
		t.Errorf("a: applied=%v final=%v err=%q; want applied 130", a.Applied, a.Final, a.Error)
	}
	if b := record(t, res, "b"); b.Applied || b.Final != 100 || b.Stage != "apply" || b.ErrorClass != controller.ClassThrottled {
		t.Errorf("b: %+v; want an apply error of class throttled, holding 100", b)
	}
	for _, name := range []string{"c", "d"} {
		if rec := record(t, res, name); rec.Applied || rec.ErrorClass != controller.ClassInternal || !strings.Contains(rec.Error, "panic") {
			t.Errorf("%s: %+v; want a recorded panic", name, rec)
		}
	}
	// A panic while applying fails the change, but the call may have
	// landed before it: the memory is saved with what was read and the
	// change's intent, its cooldown in force, until a read settles it.
	if rec := record(t, res, "d"); rec.Stage != "apply" || rec.Final != 100 {
		t.Errorf("d: stage %q final %v; want a failed apply holding 100", rec.Stage, rec.Final)
	}
	if m := r.st.memory(t, "d"); !m.Actuation.HaveOriginal || m.Actuation.Original != 100 || m.Actuation.Pending == nil || !m.LastUp.Equal(t0) {
		t.Errorf("d memory: %+v, last up %v; want saved with the original 100 and the change pending", m.Actuation, m.LastUp)
	}
	// b's throttling is the service refusing: no change, no intent left.
	if m := r.st.memory(t, "b"); m.Actuation.Pending != nil || !m.LastUp.IsZero() {
		t.Errorf("b memory: %+v, last up %v; want no change", m.Actuation, m.LastUp)
	}
	if e := record(t, res, "e"); e.Stage != "read" || e.ErrorClass != controller.ClassNotFound {
		t.Errorf("e: %+v; want a read error of class not_found", e)
	}
	if got := res.Errors(); got != 4 {
		t.Errorf("errors = %d, want 4", got)
	}
	if got, want := r.svc.applies, []applied{{"a", 100, 130}}; !cmp.Equal(got, want) {
		t.Errorf("applies = %v, want %v", got, want)
	}
	// The failed apply leaves no trace of a change: no cooldown starts.
	if m := r.st.memory(t, "b"); !m.LastUp.IsZero() || m.Actuation.LastSet != 100 {
		t.Errorf("b memory: last up %v, last set %v; want none, 100", m.LastUp, m.Actuation.LastSet)
	}
	if m := r.st.memory(t, "a"); !m.LastUp.Equal(t0) || m.Actuation.LastSet != 130 || m.Actuation.Original != 100 {
		t.Errorf("a memory: %+v", m.Actuation)
	}
	// The records keep the order of the policies file.
	var order []string
	for _, rec := range res.Records {
		order = append(order, rec.Target)
	}
	if !cmp.Equal(order, []string{"a", "b", "c", "d", "e"}) {
		t.Errorf("order = %v", order)
	}
}

func TestSensorFailureHoldsEveryTarget(t *testing.T) {
	for _, tc := range []struct {
		name   string
		break_ func(*sensor)
		class  controller.Class
	}{
		{"error", func(s *sensor) {
			s.err = controller.WithClass(controller.ClassThrottled, errors.New("GetMetricData throttled"))
		}, controller.ClassThrottled},
		{"panic", func(s *sensor) { s.panic = true }, controller.ClassInternal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := policies(t, lambdaTarget("a", ""), lambdaTarget("b", ""))
			r := newRig(t, f, map[string]float64{"a": 100, "b": 100}, steady(10))
			tc.break_(r.sen)
			res := r.tick(t, t0, controller.TickOptions{})
			if res.SenseErr == nil {
				t.Fatal("SenseErr not set")
			}
			for _, rec := range res.Records {
				if rec.Stage != "sense" || rec.ErrorClass != tc.class || rec.Decision.Action != policy.Hold || rec.Final != 100 {
					t.Errorf("%s: stage %q class %q action %s final %v; want a hold for want of data", rec.Target, rec.Stage, rec.ErrorClass, rec.Decision.Action, rec.Final)
				}
			}
			if len(r.svc.applies) != 0 {
				t.Errorf("applied %v on missing data", r.svc.applies)
			}
		})
	}
}

func TestDrift(t *testing.T) {
	f := policies(t, lambdaTarget("a", ""))
	level := 91.0
	r := newRig(t, f, map[string]float64{"a": 100}, func(now time.Time, _ string) policy.Signals { return busy(now, level) })
	r.tick(t, t0, controller.TickOptions{})
	if got := r.svc.get("a"); got != 130 {
		t.Fatalf("value = %v, want 130", got)
	}
	// Someone sets 120 by hand; the integral describes the old limit.
	r.svc.set("a", 120)
	m := r.st.memory(t, "a")
	m.Integral = 0.4
	r.st.Mem.Save(context.Background(), "a", m)

	level = 84 // exactly 70% of 120: in the band
	res := r.tick(t, t0.Add(time.Minute), controller.TickOptions{})
	rec := record(t, res, "a")
	if diff := cmp.Diff(&controller.Drift{Expected: 130, Actual: 120}, rec.Drift); diff != "" {
		t.Errorf("drift (-want +got):\n%s", diff)
	}
	if rec.Current != 120 || rec.Decision.Current != 120 || !rec.ReadActual {
		t.Errorf("current = %v / %v, read %v; want the real 120", rec.Current, rec.Decision.Current, rec.ReadActual)
	}
	m = r.st.memory(t, "a")
	if m.Integral != 0 || m.Actuation.LastSet != 120 {
		t.Errorf("memory integral %v last set %v; want 0 (reset, not 0.2) and 120", m.Integral, m.Actuation.LastSet)
	}
	// The next tick sees no drift: autotuner knows the value now.
	res = r.tick(t, t0.Add(2*time.Minute), controller.TickOptions{})
	if d := record(t, res, "a").Drift; d != nil {
		t.Errorf("drift reported again: %+v", d)
	}
}

func TestDryRunAppliesNothing(t *testing.T) {
	for _, tc := range []struct {
		name  string
		extra string
		setup func(*controller.Controller)
		opt   controller.TickOptions
	}{
		{name: "global", setup: func(c *controller.Controller) { c.DryRun = true }},
		{name: "per target", extra: "    dry_run: true\n"},
		{name: "per tick", opt: controller.TickOptions{DryRun: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := policies(t, lambdaTarget("a", tc.extra))
			r := newRig(t, f, map[string]float64{"a": 100}, steady(91))
			if tc.setup != nil {
				tc.setup(r.c)
			}
			for i := range 3 {
				res := r.tick(t, t0.Add(time.Duration(i)*time.Minute), tc.opt)
				rec := record(t, res, "a")
				if rec.Mode != controller.ModeDryRun || rec.Applied || rec.Final != 130 || rec.Decision.Action != policy.Up {
					t.Fatalf("tick %d: mode %s applied %v final %v; want a dry-run of 100 → 130", i, rec.Mode, rec.Applied, rec.Final)
				}
			}
			if len(r.svc.applies) != 0 || r.svc.get("a") != 100 {
				t.Fatalf("dry-run applied %v", r.svc.applies)
			}
			// Decisions are remembered, but no change is: no cooldown runs.
			m := r.st.memory(t, "a")
			if !m.LastUp.IsZero() || m.Actuation.LastSet != 100 || m.Above != 3 {
				t.Fatalf("memory: last up %v, last set %v, above %d", m.LastUp, m.Actuation.LastSet, m.Above)
			}
		})
	}
}

func TestPlanAppliesAndSavesNothing(t *testing.T) {
	f := policies(t, lambdaTarget("a", ""), lambdaTarget("b", ""))
	r := newRig(t, f, map[string]float64{"a": 100, "b": 100}, steady(91))
	g := &gate{ok: true}
	r.c.Gate = g
	res := r.tick(t, t0, controller.TickOptions{Plan: true})
	for _, rec := range res.Records {
		if rec.Mode != controller.ModePlan || rec.Applied || rec.Final != 130 {
			t.Errorf("%s: mode %s applied %v final %v", rec.Target, rec.Mode, rec.Applied, rec.Final)
		}
	}
	if len(r.svc.applies) != 0 || r.st.saves != 0 || r.st.commits != 0 || g.asked != 0 {
		t.Fatalf("plan applied %v, saved %d, committed %d, asked the gate %d times", r.svc.applies, r.st.saves, r.st.commits, g.asked)
	}
}

func TestCheckEveryReadsBeforeAnyChange(t *testing.T) {
	f := policies(t, lambdaTarget("a", ""))
	level := 70.0
	r := newRig(t, f, map[string]float64{"a": 100}, func(now time.Time, _ string) policy.Signals { return busy(now, level) })
	r.c.CheckEvery = 3
	reads := func() int { r.svc.mu.Lock(); defer r.svc.mu.Unlock(); return r.svc.reads["a"] }

	r.tick(t, t0, controller.TickOptions{}) // unknown value: read
	r.tick(t, t0.Add(1*time.Minute), controller.TickOptions{})
	r.tick(t, t0.Add(2*time.Minute), controller.TickOptions{})
	if got := reads(); got != 1 {
		t.Fatalf("reads after 3 quiet ticks = %d, want 1 (the rotation skips the others)", got)
	}
	r.tick(t, t0.Add(3*time.Minute), controller.TickOptions{}) // its turn
	if got := reads(); got != 2 {
		t.Fatalf("reads = %d, want 2", got)
	}

	// Out of turn, someone sets 200 by hand, and demand rises. The
	// remembered 100 would say "up to 130": the real value is read first,
	// and the decision is made from it.
	r.svc.set("a", 200)
	level = 182 // 91% of 200: up 30% from the real value
	res := r.tick(t, t0.Add(4*time.Minute), controller.TickOptions{})
	rec := record(t, res, "a")
	if got := reads(); got != 3 {
		t.Fatalf("reads = %d, want 3", got)
	}
	if !rec.ReadActual || rec.Decision.Current != 200 || rec.Final != 260 || rec.Drift == nil {
		t.Fatalf("record: read %v current %v final %v drift %v; want a decision from the real 200", rec.ReadActual, rec.Decision.Current, rec.Final, rec.Drift)
	}
	if got, want := r.svc.applies, []applied{{"a", 200, 260}}; !cmp.Equal(got, want) {
		t.Fatalf("applies = %v, want %v", got, want)
	}
}

// After its own increase a target is read every tick, whatever the
// rotation, so the policy sees the whole of a lock (a table UPDATING)
// and knows which periods ran under the old limit.
func TestCheckEveryReadsAfterAnIncrease(t *testing.T) {
	f := policies(t, lambdaTarget("a", ""))
	level := 70.0
	r := newRig(t, f, map[string]float64{"a": 100}, func(now time.Time, _ string) policy.Signals { return busy(now, level) })
	r.c.CheckEvery = 5
	reads := func() int { r.svc.mu.Lock(); defer r.svc.mu.Unlock(); return r.svc.reads["a"] }

	r.tick(t, t0, controller.TickOptions{})                  // unknown value: read
	level = 91                                               // up 30%
	r.tick(t, t0.Add(time.Minute), controller.TickOptions{}) // read before the change
	if got := reads(); got != 2 {
		t.Fatalf("reads = %d, want 2 with the increase", got)
	}
	level = 91 // 70% of the new 130: hold
	rec := record(t, r.tick(t, t0.Add(2*time.Minute), controller.TickOptions{}), "a")
	if got := reads(); got != 3 || !rec.ReadActual {
		t.Fatalf("reads = %d, read %v: the tick after an increase must read the knob", got, rec.ReadActual)
	}
	r.tick(t, t0.Add(3*time.Minute), controller.TickOptions{})
	if got := reads(); got != 3 {
		t.Fatalf("reads = %d, want 3: not locked, the rotation resumes", got)
	}
}

func TestGate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		g     *gate
		level float64
	}{
		{"follower, change", &gate{ok: false}, 91},
		{"follower, hold", &gate{ok: false}, 70},
		{"lease error", &gate{err: controller.WithClass(controller.ClassTransient, errors.New("lease table unreachable"))}, 91},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := policies(t, lambdaTarget("a", ""))
			r := newRig(t, f, map[string]float64{"a": 100}, steady(tc.level))
			r.c.Gate = tc.g
			res := r.tick(t, t0, controller.TickOptions{})
			rec := record(t, res, "a")
			if rec.Mode != controller.ModeNotLeader || rec.Applied {
				t.Fatalf("mode %s applied %v", rec.Mode, rec.Applied)
			}
			if tc.g.err != nil && (rec.Stage != "lease" || rec.ErrorClass != controller.ClassTransient) {
				t.Fatalf("stage %q class %q", rec.Stage, rec.ErrorClass)
			}
			if len(r.svc.applies) != 0 || r.st.saves != 0 {
				t.Fatalf("a follower applied %v and saved %d times", r.svc.applies, r.st.saves)
			}
		})
	}
	f := policies(t, lambdaTarget("a", ""))
	r := newRig(t, f, map[string]float64{"a": 100}, steady(91))
	r.c.Gate = &gate{ok: true}
	if rec := record(t, r.tick(t, t0, controller.TickOptions{}), "a"); !rec.Applied || rec.Mode != controller.ModeApply {
		t.Fatalf("leader: %+v", rec)
	}
}

func TestOnlyAndAlarm(t *testing.T) {
	f := policies(t, lambdaTarget("a", ""), lambdaTarget("b", ""))
	r := newRig(t, f, map[string]float64{"a": 100, "b": 100}, steady(70))
	if _, err := r.c.Tick(context.Background(), t0, controller.TickOptions{Only: []string{"nope"}}); !errors.Is(err, controller.ErrUnknownTarget) {
		t.Fatalf("err = %v, want ErrUnknownTarget", err)
	}
	res := r.tick(t, t0, controller.TickOptions{Only: []string{"b", "b"}, Alarm: map[string]bool{"b": true}})
	if len(res.Records) != 1 {
		t.Fatalf("records = %d, want 1", len(res.Records))
	}
	// In the band, yet the alarm pushes up.
	if rec := res.Records[0]; rec.Target != "b" || !rec.Alarm || rec.Final != 120 || rec.Decision.Reason.Code != policy.ReasonAlarm {
		t.Fatalf("record %+v", rec)
	}
}

func TestAuditRecordGolden(t *testing.T) {
	f := policies(t, lambdaTarget("orders-consumer", `    guards:
      - {signal: throttles, warn: 1000, critical: 5000, cut: 30%}
`))
	r := newRig(t, f, map[string]float64{"orders-consumer": 100}, func(now time.Time, _ string) policy.Signals {
		s := busy(now, 91)
		return s
	})
	r.svc.con["orders-consumer"] = policy.Constraints{Ceiling: 120}
	var buf bytes.Buffer
	r.c.Audit = controller.NewJSONLines(&buf)
	var seen []*controller.Record
	r.c.OnRecord = func(rec *controller.Record) { seen = append(seen, rec) }
	r.tick(t, t0, controller.TickOptions{})

	if len(seen) != 1 {
		t.Fatalf("OnRecord saw %d records", len(seen))
	}
	// The intent line comes first, then the outcome: the golden one.
	lines := bytes.SplitAfter(buf.Bytes(), []byte("\n"))
	if len(lines) != 3 || len(lines[2]) != 0 || !bytes.Contains(lines[0], []byte(`"intent":true`)) {
		t.Fatalf("want an intent line and an outcome line, got %q", buf.Bytes())
	}
	line := lines[1]
	// The fast encoder writes the bytes encoding/json would.
	if want, err := json.Marshal(seen[0]); err != nil || !bytes.Equal(line, append(want, '\n')) {
		t.Errorf("audit line\n%s\nencoding/json (%v):\n%s", line, err, want)
	}
	var got any
	if err := json.Unmarshal(line, &got); err != nil {
		t.Fatal(err)
	}
	const golden = "testdata/audit_record.golden.json"
	if *update {
		pretty, _ := json.MarshalIndent(got, "", "  ")
		if err := os.WriteFile(golden, append(pretty, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	var want any
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("audit record (-golden +got):\n%s", diff)
	}
}

// failingCommit is a store whose batched write fails.
type failingCommit struct{ *store }

func (failingCommit) Commit(context.Context) error { return errors.New("disk full") }

func TestCommitFailureIsAuditedAndReported(t *testing.T) {
	f := policies(t, lambdaTarget("a", ""))
	r := newRig(t, f, map[string]float64{"a": 100}, steady(91))
	r.c.Store = failingCommit{r.st}
	var buf bytes.Buffer
	r.c.Audit = controller.NewJSONLines(&buf)
	res, err := r.c.Tick(context.Background(), t0, controller.TickOptions{})
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("err = %v, want the commit error", err)
	}
	// The intent could not be made durable, so the change never went out.
	rec := record(t, res, "a")
	if rec.Applied || rec.Stage != "intent" || !strings.Contains(rec.Error, "disk full") || rec.Final != 100 {
		t.Fatalf("record %+v: want not applied, with an intent error", rec)
	}
	if len(r.svc.applies) != 0 {
		t.Fatalf("applied %v without a durable intent", r.svc.applies)
	}
	if !strings.Contains(buf.String(), `"stage":"intent"`) {
		t.Fatalf("no audit record written: %q", buf.String())
	}
}

// A follower's standby tick plans from what the leader last set and never
// reads the service: N replicas spend the control-plane quota once.
func TestStandbyNeverReads(t *testing.T) {
	f := policies(t, lambdaTarget("a", ""), lambdaTarget("b", ""))
	r := newRig(t, f, map[string]float64{"a": 100, "b": 100}, steady(91))
	// The leader has touched a (its memory knows 100), never b.
	m := policy.NewMemory()
	m.Actuation.LastSet, m.Actuation.HaveLastSet = 100, true
	if err := r.st.Save(context.Background(), "a", m); err != nil {
		t.Fatal(err)
	}
	r.st.saves = 0
	res := r.tick(t, t0, controller.TickOptions{Plan: true, Standby: true})
	if a := record(t, res, "a"); a.Mode != controller.ModePlan || a.ReadActual || a.Final != 130 {
		t.Errorf("a: %+v; want a plan to 130 from the remembered 100, unread", a)
	}
	if b := record(t, res, "b"); b.Mode != controller.ModeNotLeader || b.ReadActual || b.Decision != nil {
		t.Errorf("b: %+v; want skipped, unread", b)
	}
	r.svc.mu.Lock()
	defer r.svc.mu.Unlock()
	if len(r.svc.reads) != 0 || len(r.svc.applies) != 0 || r.st.saves != 0 {
		t.Errorf("standby read %v, applied %v, saved %d", r.svc.reads, r.svc.applies, r.st.saves)
	}
}

// coalescing is a service whose targets named KEY-anything share one call.
type coalescing struct {
	*service
	groups [][]string
	panics bool
	short  bool // answer one result fewer than the changes
}

var _ controller.Coalescer = (*coalescing)(nil)

func (s *coalescing) CoalesceKey(t *config.Target) string {
	key, _, ok := strings.Cut(t.Name, "-")
	if !ok {
		return ""
	}
	return key
}

func (s *coalescing) ApplyGroup(ctx context.Context, changes []controller.Change, now time.Time) []error {
	s.mu.Lock()
	var names []string
	for _, ch := range changes {
		names = append(names, ch.Target.Name)
	}
	s.groups = append(s.groups, names)
	s.mu.Unlock()
	if s.panics {
		panic("group apply exploded")
	}
	errs := make([]error, len(changes))
	for k, ch := range changes {
		errs[k] = s.Apply(ctx, ch.Target, ch.From, ch.To, now)
	}
	if s.short {
		return errs[1:]
	}
	return errs
}

// seqGate answers its answers in turn, then the last one for ever.
type seqGate struct {
	mu      sync.Mutex
	answers []bool
	asked   int
}

func (g *seqGate) MayApply(context.Context) (bool, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	a := g.answers[min(g.asked, len(g.answers)-1)]
	g.asked++
	return a, nil
}

// Inside a group each change gets its own result; a wrong number of
// results fails them all; a lease lost while the group was deciding stops
// the whole group; a dry-run member stays out of the call.
func TestCoalescedGroupEdges(t *testing.T) {
	f := policies(t, lambdaTarget("v-read", ""), lambdaTarget("v-write", ""))
	values := func() map[string]float64 { return map[string]float64{"v-read": 100, "v-write": 100} }

	r := newRig(t, f, values(), steady(91))
	co := &coalescing{service: r.svc}
	r.c.Actuators[config.LambdaReservedConcurrency] = co
	r.svc.applyErr["v-read"] = controller.WithClass(controller.ClassQuota, errors.New("the decrease quota is spent"))
	res := r.tick(t, t0, controller.TickOptions{})
	if len(co.groups) != 1 {
		t.Fatalf("groups = %v, want one call", co.groups)
	}
	if rec := record(t, res, "v-read"); rec.Applied || rec.ErrorClass != controller.ClassQuota {
		t.Errorf("v-read: %+v; want its own quota error", rec)
	}
	if m := r.st.memory(t, "v-read"); !m.LastUp.IsZero() {
		t.Errorf("v-read memory: last up %v after a refused change", m.LastUp)
	}
	if rec := record(t, res, "v-write"); !rec.Applied || rec.Error != "" {
		t.Errorf("v-write: %+v; want applied", rec)
	}
	if m := r.st.memory(t, "v-write"); !m.LastUp.Equal(t0) {
		t.Errorf("v-write memory: last up %v, want %v", m.LastUp, t0)
	}

	r = newRig(t, f, values(), steady(91))
	r.c.Actuators[config.LambdaReservedConcurrency] = &coalescing{service: r.svc, short: true}
	res = r.tick(t, t0, controller.TickOptions{})
	for _, name := range []string{"v-read", "v-write"} {
		if rec := record(t, res, name); rec.Applied || rec.ErrorClass != controller.ClassInternal {
			t.Errorf("%s: %+v; want an internal error for a short answer", name, rec)
		}
	}

	r = newRig(t, f, values(), steady(91))
	co = &coalescing{service: r.svc}
	r.c.Actuators[config.LambdaReservedConcurrency] = co
	g := &seqGate{answers: []bool{true, true, false}}
	r.c.Gate = g
	res = r.tick(t, t0, controller.TickOptions{})
	for _, name := range []string{"v-read", "v-write"} {
		if rec := record(t, res, name); rec.Mode != controller.ModeNotLeader || rec.Applied {
			t.Errorf("%s: mode %s applied %v; want not leader", name, rec.Mode, rec.Applied)
		}
	}
	if len(co.groups) != 0 || r.st.saves != 0 {
		t.Errorf("a lost lease still acted: groups %v, saves %d", co.groups, r.st.saves)
	}

	dry := strings.Replace(lambdaTarget("v-write", ""), "    policy:", "    dry_run: true\n    policy:", 1)
	r = newRig(t, policies(t, lambdaTarget("v-read", ""), dry), values(), steady(91))
	co = &coalescing{service: r.svc}
	r.c.Actuators[config.LambdaReservedConcurrency] = co
	res = r.tick(t, t0, controller.TickOptions{})
	if len(co.groups) != 0 || !record(t, res, "v-read").Applied {
		t.Errorf("groups %v, v-read %+v; want v-read applied alone", co.groups, record(t, res, "v-read"))
	}
	if rec := record(t, res, "v-write"); rec.Applied || rec.Mode != controller.ModeDryRun || rec.Final != 130 || r.svc.get("v-write") != 100 {
		t.Errorf("v-write: %+v; want a dry run of 130 that changed nothing", rec)
	}
}

// Targets a Coalescer can change in one call meet there: both changes go
// in one ApplyGroup, a change refused in it fails alone, and a target
// with no partner applies as ever.
func TestCoalescedChanges(t *testing.T) {
	f := policies(t, lambdaTarget("t-read", ""), lambdaTarget("solo", ""), lambdaTarget("t-write", ""), lambdaTarget("u-read", ""), lambdaTarget("u-write", ""))
	r := newRig(t, f, map[string]float64{"t-read": 100, "t-write": 100, "solo": 100, "u-read": 100, "u-write": 130}, steady(91))
	co := &coalescing{service: r.svc}
	r.c.Actuators[config.LambdaReservedConcurrency] = co
	r.c.Parallelism = 3
	r.svc.applyErr["u-read"] = controller.WithClass(controller.ClassQuota, errors.New("the decrease quota is spent"))
	res := r.tick(t, t0, controller.TickOptions{})

	// u-write is already at 130: only u-read changes, and alone it goes
	// through Apply, not as a group.
	if got, want := co.groups, [][]string{{"t-read", "t-write"}}; !cmp.Equal(got, want) {
		t.Errorf("groups = %v, want %v", got, want)
	}
	for _, name := range []string{"t-read", "t-write", "solo"} {
		if rec := record(t, res, name); !rec.Applied || rec.Final != 130 || rec.Error != "" {
			t.Errorf("%s: applied=%v final=%v err=%q; want applied 130", name, rec.Applied, rec.Final, rec.Error)
		}
		if m := r.st.memory(t, name); !m.LastUp.Equal(t0) || m.Actuation.LastSet != 130 {
			t.Errorf("%s memory: last up %v, last set %v", name, m.LastUp, m.Actuation.LastSet)
		}
	}
	if rec := record(t, res, "u-read"); rec.Applied || rec.Stage != "apply" || rec.ErrorClass != controller.ClassQuota {
		t.Errorf("u-read: %+v; want an apply error of class quota", rec)
	}
	if m := r.st.memory(t, "u-read"); !m.LastUp.IsZero() {
		t.Errorf("u-read memory: a refused change left last up %v", m.LastUp)
	}
	var order []string
	for _, rec := range res.Records {
		order = append(order, rec.Target)
	}
	if !cmp.Equal(order, []string{"t-read", "solo", "t-write", "u-read", "u-write"}) {
		t.Errorf("order = %v", order)
	}

	// A panic in the group call fails both changes and nothing else.
	r2 := newRig(t, f, map[string]float64{"t-read": 100, "t-write": 100, "solo": 100, "u-read": 130, "u-write": 130}, steady(91))
	co2 := &coalescing{service: r2.svc, panics: true}
	r2.c.Actuators[config.LambdaReservedConcurrency] = co2
	res = r2.tick(t, t0, controller.TickOptions{})
	for _, name := range []string{"t-read", "t-write"} {
		if rec := record(t, res, name); rec.Applied || rec.ErrorClass != controller.ClassInternal || !strings.Contains(rec.Error, "panic") {
			t.Errorf("%s: %+v; want a recorded panic", name, rec)
		}
		if m := r2.st.memory(t, name); m.Actuation.Pending == nil {
			t.Errorf("%s memory: a change that may have landed left no intent", name)
		}
	}
	// The next tick reads the knobs back: unchanged, so the intents are
	// dropped and their cooldowns undone.
	co2.panics = false
	r2.tick(t, t0.Add(time.Minute), controller.TickOptions{})
	for _, name := range []string{"t-read", "t-write"} {
		if m := r2.st.memory(t, name); m.Actuation.Pending != nil || (!m.LastUp.IsZero() && !m.LastUp.Equal(t0.Add(time.Minute))) {
			t.Errorf("%s memory after settling: pending %+v, last up %v", name, m.Actuation.Pending, m.LastUp)
		}
	}
	if rec := record(t, res, "solo"); !rec.Applied {
		t.Errorf("solo: %+v; want applied", rec)
	}

	// Plan and dry run never reach the service.
	r3 := newRig(t, f, map[string]float64{"t-read": 100, "t-write": 100, "solo": 100, "u-read": 100, "u-write": 100}, steady(91))
	co3 := &coalescing{service: r3.svc}
	r3.c.Actuators[config.LambdaReservedConcurrency] = co3
	r3.tick(t, t0, controller.TickOptions{Plan: true})
	r3.tick(t, t0.Add(time.Minute), controller.TickOptions{DryRun: true})
	if len(co3.groups) != 0 || len(r3.svc.applies) != 0 {
		t.Errorf("plan and dry run applied: groups %v, applies %v", co3.groups, r3.svc.applies)
	}
}

// A signal of source target reads another target's limit in force from
// its memory, as of the start of the tick: missing until autotuner has
// set or read it, and a change made in a tick shows in the next; a limit
// not evaluated for a while (its reads failing, say) is not trusted.
func TestLimitOfAnotherTarget(t *testing.T) {
	api := `  - name: up
    kind: apigateway-usage-plan
    usage_plan: p1
    min: 1
    max: 1000
    signals:
      busy: {namespace: AWS/ApiGateway, metric: Count, dimensions: {ApiName: a}, stat: Sum, per_second: true}
    policy:
      autotuner:
        utilization: {signal: busy, target: 70%}
        pid: {kp: 1, ki: 0}
`
	down := strings.Replace(lambdaTarget("down", ""), "    policy:", "      up_limit: {source: target, target: up}\n    policy:", 1)
	f := policies(t, api, down)
	r := newRig(t, f, map[string]float64{"up": 100, "down": 100}, steady(91))
	r.c.Actuators[config.APIGatewayUsagePlan] = r.svc
	res := r.tick(t, t0, controller.TickOptions{})
	if s := record(t, res, "down").Signals["up_limit"]; s.Valid || s.Why != "autotuner has not read up yet" {
		t.Errorf("tick 1: up_limit = %+v, want missing before up was ever read, saying so", s)
	}
	if up := record(t, res, "up"); !up.Applied || up.Final != 130 {
		t.Fatalf("up: %+v", up)
	}
	res = r.tick(t, t0.Add(time.Minute), controller.TickOptions{Only: []string{"down"}})
	if s := record(t, res, "down").Signals["up_limit"]; !s.Valid || s.Value != 130 || !s.At.IsZero() {
		t.Errorf("tick 2: up_limit = %+v, want 130, live (no period)", s)
	}
	res = r.tick(t, t0.Add(11*time.Minute), controller.TickOptions{Only: []string{"down"}})
	if s := record(t, res, "down").Signals["up_limit"]; s.Valid || !strings.Contains(s.Why, "up was last evaluated at 2026-03-10T12:00:00Z, over 10m0s ago") {
		t.Errorf("11 minutes after up was last evaluated: up_limit = %+v, want missing, saying why", s)
	}

	// A target evaluated every 15 minutes (its own schedule) is trusted
	// for three of its periods, not just 10 minutes.
	r.tick(t, t0.Add(15*time.Minute), controller.TickOptions{Only: []string{"up"}})
	r.tick(t, t0.Add(30*time.Minute), controller.TickOptions{Only: []string{"up"}})
	res = r.tick(t, t0.Add(42*time.Minute), controller.TickOptions{Only: []string{"down"}})
	if s := record(t, res, "down").Signals["up_limit"]; !s.Valid {
		t.Errorf("12 minutes after a 15-minute target's last evaluation: up_limit = %+v, want trusted", s)
	}
	res = r.tick(t, t0.Add(76*time.Minute), controller.TickOptions{Only: []string{"down"}})
	if s := record(t, res, "down").Signals["up_limit"]; s.Valid || !strings.Contains(s.Why, "over 45m0s ago") {
		t.Errorf("46 minutes after: up_limit = %+v, want missing", s)
	}

	// An API with no throttle at all admits up to the account's rate:
	// nothing a floor should follow.
	r = newRig(t, f, map[string]float64{"up": 10000, "down": 100}, steady(91))
	r.c.Actuators[config.APIGatewayUsagePlan] = r.svc
	r.svc.unset = map[string]bool{"up": true}
	r.tick(t, t0, controller.TickOptions{Only: []string{"up"}, DryRun: true})
	res = r.tick(t, t0.Add(time.Minute), controller.TickOptions{Only: []string{"down"}})
	if s := record(t, res, "down").Signals["up_limit"]; s.Valid || !strings.Contains(s.Why, "up has no limit set") {
		t.Errorf("an unthrottled API: up_limit = %+v, want missing, saying why", s)
	}
}
