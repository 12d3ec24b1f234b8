package controller_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/policy"
)

// crash is the panic that stands for the process dying at a step.
type crash struct{ at controller.Step }

// tickUntilCrash runs a tick that dies at step; it reports whether the
// tick got there.
func tickUntilCrash(t *testing.T, c *controller.Controller, now time.Time, step controller.Step) (died bool) {
	t.Helper()
	c.OnStep = func(s controller.Step) {
		if s == step {
			panic(crash{s})
		}
	}
	defer func() {
		c.OnStep = nil
		if r := recover(); r != nil {
			if _, ok := r.(crash); !ok {
				panic(r)
			}
			died = true
		}
	}()
	if _, err := c.Tick(context.Background(), now, controller.TickOptions{}); err != nil {
		t.Fatalf("tick: %v", err)
	}
	return false
}

// auditLines decodes the audit.
func auditLines(t *testing.T, b []byte) []controller.Record {
	t.Helper()
	var out []controller.Record
	for _, l := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		if len(l) == 0 {
			continue
		}
		var r controller.Record
		if err := json.Unmarshal(l, &r); err != nil {
			t.Fatalf("audit line %q: %v", l, err)
		}
		out = append(out, r)
	}
	return out
}

// A process that dies at any step of a tick loses nothing: the next tick
// reads the knob back; every change that reached the service is audited
// as applied exactly once; the original survives; a change that landed
// keeps its cooldown and one that did not leaves none.
func TestCrashAtEveryStepLosesNothing(t *testing.T) {
	steps := []controller.Step{
		controller.StepDecided, controller.StepIntentSaved, controller.StepIntentAudited,
		controller.StepApplied, controller.StepAudited, controller.StepSaved,
	}
	for _, step := range steps {
		t.Run(string(step), func(t *testing.T) {
			f := policies(t, lambdaTarget("a", ""))
			level := 70.0
			r := newRig(t, f, map[string]float64{"a": 100}, func(now time.Time, _ string) policy.Signals { return busy(now, level) })
			var audit bytes.Buffer
			sink := controller.NewJSONLines(&audit)
			sink.ReadBack = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(audit.Bytes())), nil }
			r.c.Audit = sink
			r.tick(t, t0, controller.TickOptions{}) // in band: 100 is the original

			level = 91 // wants 130
			crashAt := t0.Add(time.Minute)
			if !tickUntilCrash(t, r.c, crashAt, step) {
				t.Fatalf("the tick never reached %s", step)
			}
			landed := r.svc.get("a") == 130

			level = 91 // 70% of 130: in band once the change is known
			res := r.tick(t, t0.Add(2*time.Minute), controller.TickOptions{})
			checkSettled(t, r, res, landed, crashAt)

			applied := 0
			for _, l := range auditLines(t, audit.Bytes()) {
				if l.Applied && !l.Intent {
					applied++
					if (l.Change != "a@"+crashAt.Format(time.RFC3339Nano) && l.Change != "a@"+crashAt.Add(time.Minute).Format(time.RFC3339Nano)) || l.Final != 130 {
						t.Errorf("applied line %+v: want a change to 130", l)
					}
				}
			}
			if want := len(r.svc.applies); applied != want {
				t.Errorf("%d applied lines for %d changes that reached the service:\n%s", applied, want, audit.String())
			}
		})
	}
}

// checkSettled checks the tick after a crash: the memory is right, and
// a change that landed is neither reported as drift nor made again.
func checkSettled(t *testing.T, r *rig, res *controller.Result, landed bool, crashAt time.Time) {
	t.Helper()
	rec := record(t, res, "a")
	if rec.Error != "" || rec.Drift != nil {
		t.Errorf("tick after the crash: error %q drift %+v", rec.Error, rec.Drift)
	}
	m := r.st.memory(t, "a")
	if m.Actuation.Pending != nil {
		t.Errorf("an intent is still pending: %+v", m.Actuation.Pending)
	}
	if !m.Actuation.HaveOriginal || m.Actuation.Original != 100 {
		t.Errorf("original = %v (have %v), want 100", m.Actuation.Original, m.Actuation.HaveOriginal)
	}
	if len(r.svc.applies) > 1 {
		t.Errorf("applied %v: the change was made twice", r.svc.applies)
	}
	if landed {
		if m.Actuation.LastSet != 130 || !m.LastUp.Equal(crashAt) {
			t.Errorf("memory after a change that landed: last set %v, last up %v; want 130 at %v", m.Actuation.LastSet, m.LastUp, crashAt)
		}
		return
	}
	if r.svc.get("a") != 130 && len(r.svc.applies) == 0 && !m.LastUp.IsZero() && !m.LastUp.After(crashAt) {
		t.Errorf("a change that never landed left a cooldown: last up %v", m.LastUp)
	}
}

// The line that settles a change says so, and names the change.
func TestSettledChangeIsAuditedAsRecovered(t *testing.T) {
	f := policies(t, lambdaTarget("a", ""))
	level := 70.0
	r := newRig(t, f, map[string]float64{"a": 100}, func(now time.Time, _ string) policy.Signals { return busy(now, level) })
	r.tick(t, t0, controller.TickOptions{})
	level = 91
	crashAt := t0.Add(time.Minute)
	tickUntilCrash(t, r.c, crashAt, controller.StepApplied)
	if m := r.st.memory(t, "a"); m.Actuation.Pending == nil || !m.LastUp.Equal(crashAt) {
		t.Fatalf("after the crash: pending %+v, last up %v; want the intent with its cooldown", m.Actuation.Pending, m.LastUp)
	}
	var audit bytes.Buffer
	r.c.Audit = controller.NewJSONLines(&audit)
	res := r.tick(t, t0.Add(2*time.Minute), controller.TickOptions{})
	if len(res.Recovered) != 1 {
		t.Fatalf("recovered %d records, want 1", len(res.Recovered))
	}
	got := *res.Recovered[0]
	got.Signals = nil
	want := controller.Record{
		V: controller.AuditVersion, Time: crashAt, Target: "a", Kind: "lambda-reserved-concurrency", Resource: "function a",
		Mode: controller.ModeApply, Current: 100, ReadActual: true, Final: 130, Applied: true,
		Change: "a@" + crashAt.Format(time.RFC3339Nano), Recovered: true,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("recovered record (-want +got):\n%s", diff)
	}
	if !strings.Contains(audit.String(), `"recovered":true`) {
		t.Errorf("the audit lacks the recovered line: %s", audit.String())
	}
}

// A change that did not land by the time of the crash is dropped: the
// cooldown it would have started is undone, and the next tick decides
// afresh.
func TestUnappliedIntentIsDropped(t *testing.T) {
	f := policies(t, lambdaTarget("a", ""))
	level := 70.0
	r := newRig(t, f, map[string]float64{"a": 100}, func(now time.Time, _ string) policy.Signals { return busy(now, level) })
	r.tick(t, t0, controller.TickOptions{})
	level = 91
	tickUntilCrash(t, r.c, t0.Add(time.Minute), controller.StepIntentAudited)
	if len(r.svc.applies) != 0 {
		t.Fatalf("applied %v before the crash", r.svc.applies)
	}
	level = 70
	res := r.tick(t, t0.Add(2*time.Minute), controller.TickOptions{})
	if len(res.Recovered) != 1 || res.Recovered[0].Applied {
		t.Fatalf("recovered %+v; want one line saying not applied", res.Recovered)
	}
	if m := r.st.memory(t, "a"); !m.LastUp.IsZero() || m.Actuation.Pending != nil || m.Actuation.LastSet != 100 {
		t.Errorf("memory %+v: want no cooldown, no intent, last set 100", m)
	}
}

// A change overtaken by a hand-made one is neither claimed nor undone: its
// cooldown stays, and the drift is reported.
func TestIntentOvertakenByHandChange(t *testing.T) {
	f := policies(t, lambdaTarget("a", ""))
	level := 70.0
	r := newRig(t, f, map[string]float64{"a": 100}, func(now time.Time, _ string) policy.Signals { return busy(now, level) })
	r.tick(t, t0, controller.TickOptions{})
	level = 91
	crashAt := t0.Add(time.Minute)
	tickUntilCrash(t, r.c, crashAt, controller.StepApplied)
	r.svc.set("a", 77)
	level = 54 // 70% of 77
	res := r.tick(t, t0.Add(2*time.Minute), controller.TickOptions{})
	if len(res.Recovered) != 1 || res.Recovered[0].Applied || res.Recovered[0].Drift == nil {
		t.Fatalf("recovered %+v; want not applied, with the drift", res.Recovered)
	}
	if m := r.st.memory(t, "a"); !m.LastUp.Equal(crashAt) || m.Actuation.LastSet != 77 {
		t.Errorf("memory: last up %v last set %v; want the cooldown kept and 77", m.LastUp, m.Actuation.LastSet)
	}
}

// lostResponse applies the change, then loses the answer: the caller sees
// a network error.
type lostResponse struct{ *service }

func (l lostResponse) Apply(ctx context.Context, t *config.Target, from, to float64, now time.Time) error {
	if err := l.service.Apply(ctx, t, from, to, now); err != nil {
		return err
	}
	return controller.WithClass(controller.ClassTransient, errors.New("read tcp: connection reset by peer"))
}

// A change whose answer was lost may have landed: it is not claimed, and
// not forgotten either; its cooldown holds and the next tick settles it.
func TestLostResponseIsSettledNextTick(t *testing.T) {
	f := policies(t, lambdaTarget("a", ""))
	r := newRig(t, f, map[string]float64{"a": 100}, steady(91))
	r.c.Actuators[config.LambdaReservedConcurrency] = lostResponse{r.svc}
	res := r.tick(t, t0, controller.TickOptions{})
	if rec := record(t, res, "a"); rec.Applied || rec.Stage != "apply" || rec.Change == "" {
		t.Fatalf("record %+v: want a failed apply naming its change", rec)
	}
	if m := r.st.memory(t, "a"); m.Actuation.Pending == nil || !m.LastUp.Equal(t0) {
		t.Fatalf("memory %+v, last up %v: want the intent kept with its cooldown", m.Actuation, m.LastUp)
	}
	r.c.Actuators[config.LambdaReservedConcurrency] = r.svc
	res = r.tick(t, t0.Add(time.Minute), controller.TickOptions{})
	if len(res.Recovered) != 1 || !res.Recovered[0].Applied || res.Recovered[0].Final != 130 {
		t.Fatalf("recovered %+v: want the change settled as applied", res.Recovered)
	}
	if len(r.svc.applies) != 1 {
		t.Errorf("applied %v: want the one change", r.svc.applies)
	}
}

// blockedService reports the knob locked at its old value while a change
// takes effect, as a DynamoDB table UPDATING does.
type blockedService struct {
	*service
	blocked bool
	shown   float64
}

func (b *blockedService) Current(ctx context.Context, t *config.Target, now time.Time) (controller.State, error) {
	st, err := b.service.Current(ctx, t, now)
	if b.blocked {
		st.Value, st.Constraints.Blocked = b.shown, "table is UPDATING"
	}
	return st, err
}

// A locked knob that still shows the old value does not settle an
// intent: that waits until the lock is gone.
func TestBlockedKnobDefersSettling(t *testing.T) {
	f := policies(t, lambdaTarget("a", ""))
	level := 70.0
	r := newRig(t, f, map[string]float64{"a": 100}, func(now time.Time, _ string) policy.Signals { return busy(now, level) })
	r.tick(t, t0, controller.TickOptions{})
	level = 91
	tickUntilCrash(t, r.c, t0.Add(time.Minute), controller.StepApplied)
	b := &blockedService{service: r.svc, blocked: true, shown: 100}
	r.c.Actuators[config.LambdaReservedConcurrency] = b
	res := r.tick(t, t0.Add(2*time.Minute), controller.TickOptions{})
	if len(res.Recovered) != 0 {
		t.Fatalf("settled %+v while the knob was locked", res.Recovered)
	}
	if m := r.st.memory(t, "a"); m.Actuation.Pending == nil {
		t.Fatal("the intent was dropped while the knob was locked")
	}
	b.blocked = false
	level = 91
	res = r.tick(t, t0.Add(3*time.Minute), controller.TickOptions{})
	if len(res.Recovered) != 1 || !res.Recovered[0].Applied {
		t.Fatalf("recovered %+v: want the change settled once unlocked", res.Recovered)
	}
}
