package controller_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/policy"
)

// flakyService is the service with lost answers and refusals drawn by the
// property test before each tick.
type flakyService struct {
	*service
	fate map[string]string // target → "", "lost" (applied, answer lost), "refused"
}

func (f *flakyService) Apply(ctx context.Context, t *config.Target, from, to float64, now time.Time) error {
	switch f.fate[t.Name] {
	case "refused":
		return controller.WithClass(controller.ClassThrottled, errors.New("rate exceeded"))
	case "lost":
		if err := f.service.Apply(ctx, t, from, to, now); err != nil {
			return err
		}
		return controller.WithClass(controller.ClassTransient, errors.New("connection reset"))
	}
	return f.service.Apply(ctx, t, from, to, now)
}

// Whatever the load, the crashes and the failed calls, a run of ticks
// ends with every change that reached the service audited as applied
// exactly once, the true original remembered, no intent left after a
// clean tick, and the limit within its bounds.
func TestCrashSafetyProperty(t *testing.T) {
	steps := []controller.Step{"", controller.StepDecided, controller.StepIntentSaved, controller.StepIntentAudited,
		controller.StepApplied, controller.StepAudited, controller.StepSaved}
	rapid.Check(t, func(rt *rapid.T) {
		f := policies(t, lambdaTarget("a", ""), lambdaTarget("b", ""))
		level := map[string]float64{}
		r := newRig(t, f, map[string]float64{"a": 100, "b": 40}, func(now time.Time, name string) policy.Signals { return busy(now, level[name]) })
		fs := &flakyService{service: r.svc}
		r.c.Actuators[config.LambdaReservedConcurrency] = fs
		var audit bytes.Buffer
		sink := controller.NewJSONLines(&audit)
		sink.ReadBack = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(audit.Bytes())), nil }
		r.c.Audit = sink

		now := t0
		n := rapid.IntRange(1, 12).Draw(rt, "ticks")
		for i := range n {
			level["a"] = rapid.Float64Range(0, 400).Draw(rt, "level a")
			level["b"] = rapid.Float64Range(0, 400).Draw(rt, "level b")
			fs.fate = map[string]string{}
			for _, name := range []string{"a", "b"} {
				fs.fate[name] = rapid.SampledFrom([]string{"", "", "", "lost", "refused"}).Draw(rt, "fate "+name)
			}
			step := rapid.SampledFrom(steps).Draw(rt, "crash")
			if step == "" || i == n-1 {
				r.tick(t, now, controller.TickOptions{})
			} else {
				tickUntilCrash(t, r.c, now, step)
			}
			now = now.Add(time.Minute)
		}
		// A last clean tick, with every call answered, settles the rest.
		fs.fate = nil
		r.tick(t, now, controller.TickOptions{})

		applied := map[string]int{}
		for _, l := range auditLines(t, audit.Bytes()) {
			if l.Applied && !l.Intent {
				applied[l.Target]++
			}
		}
		got := map[string]int{}
		for _, a := range r.svc.applies {
			got[a.Target]++
		}
		for _, name := range []string{"a", "b"} {
			if applied[name] != got[name] {
				rt.Fatalf("%s: %d changes reached the service, %d audited as applied\n%s", name, got[name], applied[name], audit.String())
			}
			m := r.st.memory(t, name)
			want := map[string]float64{"a": 100, "b": 40}[name]
			if m.Actuation.Original != want || m.Actuation.Pending != nil {
				rt.Fatalf("%s: original %v pending %+v; want %v and none", name, m.Actuation.Original, m.Actuation.Pending, want)
			}
			if v := r.svc.get(name); v < 1 || v > 1000 {
				rt.Fatalf("%s = %v: out of bounds", name, v)
			}
		}
	})
}
