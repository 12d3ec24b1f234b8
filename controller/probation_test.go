package controller_test

import (
	"context"
	"testing"
	"time"

	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/policy"
)

// A target a selector has just found is watched before it is changed:
// dry-run for its probation after it is first evaluated, then it acts.
func TestProbationKeepsANewTargetInDryRun(t *testing.T) {
	f := policies(t, lambdaTarget("fns-orders", ""))
	f.Targets[0].Probation = time.Hour
	r := newRig(t, f, map[string]float64{"fns-orders": 100}, func(now time.Time, _ string) policy.Signals {
		return busy(now, 95) // far above the setpoint: it wants more
	})
	steps := []struct {
		at      time.Duration
		mode    controller.Mode
		until   time.Time
		applies int
	}{
		{0, controller.ModeDryRun, t0.Add(time.Hour), 0},
		{30 * time.Minute, controller.ModeDryRun, t0.Add(time.Hour), 0},
		{61 * time.Minute, controller.ModeApply, time.Time{}, 1},
	}
	for _, s := range steps {
		rec := record(t, r.tick(t, t0.Add(s.at), controller.TickOptions{}), "fns-orders")
		if rec.Mode != s.mode || !rec.Probation.Equal(s.until) || len(r.svc.applies) != s.applies {
			t.Fatalf("t+%v: mode %s until %v, %d applies; want %s until %v, %d", s.at, rec.Mode, rec.Probation, len(r.svc.applies), s.mode, s.until, s.applies)
		}
	}
	if m, err := r.st.Load(context.Background(), "fns-orders"); err != nil || !m.Since.Equal(t0) {
		t.Errorf("memory since %v (%v), want %v", m.Since, err, t0)
	}
}
