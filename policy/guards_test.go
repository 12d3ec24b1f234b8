package policy

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// Scripts of each guard alone: the fixed recommender proposes, the guard
// chain disposes.

func until(want time.Time) func(*testing.T, *Decision, *Memory) {
	return func(t *testing.T, d *Decision, _ *Memory) {
		steps := d.Steps()
		if len(steps) == 0 || !steps[len(steps)-1].Until.Equal(want) {
			t.Fatalf("last guard step %+v, want until %v", steps, want)
		}
	}
}

func TestGuardBounds(t *testing.T) {
	s := newScript(guarded(Guards{Resolution: 1}), 10, 100, 50)
	s.run(t, []step{
		{at: 0, propose: 150, want: 100, action: Up, guards: "bounds"},
		{at: time.Minute, propose: 5, want: 10, action: Down, guards: "bounds"},
		{at: 2 * time.Minute, propose: 42, want: 42, guards: "-"},
	})
}

func TestGuardStepCaps(t *testing.T) {
	s := newScript(guarded(Guards{StepUp: Step{Pct: 0.5, Units: 30}, StepDown: Step{Pct: 0.2}, Resolution: 1}), 1, 10000, 100)
	s.run(t, []step{
		// 50% of 100 and 30 units: the tighter, 30, wins.
		{at: 0, propose: 200, want: 130, guards: "max_step_up"},
		{at: time.Minute, propose: 10, want: 104, guards: "max_step_down"},
		{at: 2 * time.Minute, propose: 120, want: 120, guards: "-"},
	})
	// A cap never forbids one quantum: 20% of 4 is 0.8, yet 4 may go to 3.
	s = newScript(guarded(Guards{StepDown: Step{Pct: 0.2}, StepUp: Step{Pct: 0.05}, Resolution: 1}), 1, 100, 4)
	s.run(t, []step{
		{at: 0, propose: 1, want: 3, guards: "max_step_down"},
		{at: time.Minute, propose: 9, want: 4, guards: "max_step_up"},
	})
	// From zero a percentage cap allows nothing, so it does not apply.
	s = newScript(guarded(Guards{StepUp: Step{Pct: 1}, AllowZero: true, Resolution: 1}), 0, 100, 0)
	s.run(t, []step{{at: 0, propose: 5, want: 5, guards: "-"}})
}

func TestGuardCooldowns(t *testing.T) {
	s := newScript(guarded(Guards{CooldownUp: 2 * time.Minute, CooldownDown: 5 * time.Minute, Resolution: 1}), 1, 1000, 100)
	s.run(t, []step{
		{at: 0, propose: 120, want: 120, action: Up},
		{at: time.Minute, propose: 150, want: 120, action: Hold, guards: "cooldown_up", check: until(t0.Add(2 * time.Minute))},
		{at: 2 * time.Minute, propose: 150, want: 150, action: Up, guards: "-"},
		// A decrease waits for the down cooldown after the latest change
		// of either direction.
		{at: 3 * time.Minute, propose: 100, want: 150, guards: "cooldown_down", check: until(t0.Add(7 * time.Minute))},
		{at: 7 * time.Minute, propose: 100, want: 100, action: Down},
		{at: 8 * time.Minute, propose: 90, want: 100, guards: "cooldown_down", check: until(t0.Add(12 * time.Minute))},
		// Going up after a decrease waits only for the up cooldown.
		{at: 8*time.Minute + 30*time.Second, propose: 200, want: 200, action: Up, guards: "-"},
	})
}

func TestGuardStabilization(t *testing.T) {
	s := newScript(guarded(Guards{Stabilization: 5 * time.Minute, Resolution: 1}), 1, 1000, 100)
	s.run(t, []step{
		{at: 0, propose: 100, want: 100},
		// Down follows the highest recommendation of the last 5 minutes.
		{at: time.Minute, propose: 80, want: 100, guards: "stabilization"},
		{at: 2 * time.Minute, propose: 90, want: 100, guards: "stabilization"},
		// The 100 of t+0 has left the window; 90 (t+2m) is the highest.
		{at: 5 * time.Minute, propose: 70, want: 90, action: Down, guards: "stabilization"},
		{at: 6 * time.Minute, propose: 60, want: 90, guards: "stabilization"},
		{at: 7 * time.Minute, propose: 60, want: 70, guards: "stabilization"},
		// Up is never stabilized.
		{at: 8 * time.Minute, propose: 150, want: 150, guards: "-"},
	})
}

// A decrease undone within the stabilization window was premature: the
// window doubles, up to StabilizationMax; a decrease that held for two
// windows halves it back. Each decrease is judged once, by the first
// change after it.
func TestGuardStabilizationLearnsFromFlaps(t *testing.T) {
	g := Guards{Stabilization: 10 * time.Minute, StabilizationMax: 40 * time.Minute, Resolution: 1}
	flaps := func(n int, window time.Duration) func(*testing.T, *Decision, *Memory) {
		return func(t *testing.T, d *Decision, m *Memory) {
			if m.Flaps != n {
				t.Fatalf("flaps = %d, want %d", m.Flaps, n)
			}
			if w := g.window(m); w != window {
				t.Fatalf("window = %v, want %v", w, window)
			}
		}
	}
	s := newScript(guarded(g), 1, 1000, 100)
	s.run(t, []step{
		{at: 0, propose: 100, want: 100},
		{at: 10 * time.Minute, propose: 50, want: 50, action: Down, check: flaps(0, 10*time.Minute)},
		// Undone 2 minutes later: premature, the window doubles.
		{at: 12 * time.Minute, propose: 100, want: 100, action: Up, check: flaps(1, 20*time.Minute)},
		// 13 minutes on, the old 10-minute window would let go; 20 holds.
		{at: 25 * time.Minute, propose: 50, want: 100, guards: "stabilization", check: func(t *testing.T, d *Decision, m *Memory) {
			if st := d.Steps(); len(st) != 1 || st[0].Param != 1200 {
				t.Fatalf("steps = %+v, want the stabilization guard with its 1200 s window", st)
			}
		}},
		{at: 33 * time.Minute, propose: 50, want: 50, action: Down, check: flaps(1, 20*time.Minute)},
		{at: 34 * time.Minute, propose: 100, want: 100, action: Up, check: flaps(2, 40*time.Minute)},
		{at: 80 * time.Minute, propose: 50, want: 50, action: Down, check: flaps(2, 40*time.Minute)},
		// At the cap: an early increase cannot grow the window further.
		{at: 81 * time.Minute, propose: 100, want: 100, action: Up, check: flaps(2, 40*time.Minute)},
		{at: 122 * time.Minute, propose: 50, want: 50, action: Down, check: flaps(2, 40*time.Minute)},
		// An increase 78 minutes later: neither undone in time nor held
		// for two windows; the window keeps its length.
		{at: 200 * time.Minute, propose: 100, want: 100, action: Up, check: flaps(2, 40*time.Minute)},
		{at: 280 * time.Minute, propose: 60, want: 60, action: Down, check: flaps(2, 40*time.Minute)},
		// The decrease of t+280m held for 90 minutes, two windows and
		// more: calm again, the window halves.
		{at: 370 * time.Minute, propose: 50, want: 50, action: Down, check: flaps(1, 20*time.Minute)},
	})

	// Without a StabilizationMax above the window nothing adapts.
	s = newScript(guarded(Guards{Stabilization: 10 * time.Minute, Resolution: 1}), 1, 1000, 100)
	s.run(t, []step{
		{at: 0, propose: 100, want: 100},
		{at: 10 * time.Minute, propose: 50, want: 50, action: Down},
		{at: 11 * time.Minute, propose: 100, want: 100, action: Up, check: func(t *testing.T, d *Decision, m *Memory) {
			if m.Flaps != 0 {
				t.Fatalf("flaps = %d without adaptation", m.Flaps)
			}
		}},
	})
}

// Decide must not change the Memory it was given: not its fields, and not
// the Window entries it can see, even when entries expire.
func TestDecideLeavesItsInputMemoryAlone(t *testing.T) {
	e := guarded(Guards{Stabilization: 5 * time.Minute, Resolution: 1})
	e.Rec.(*fixed).v = 80
	win := make([]Recommendation, 3, 10) // spare capacity, as a previous Decide leaves it
	win[0] = Recommendation{At: t0.Add(-10 * time.Minute), Value: 300}
	win[1] = Recommendation{At: t0.Add(-4 * time.Minute), Value: 120}
	win[2] = Recommendation{At: t0.Add(-1 * time.Minute), Value: 90}
	mem := NewMemory()
	mem.Window = win
	snapshot := mem.Clone()
	in := Input{Now: t0, Current: 100, Min: 1, Max: 1000}

	d1, m1 := e.Decide(in, mem)
	if diff := cmp.Diff(snapshot, mem); diff != "" {
		t.Fatalf("Decide changed its input memory (-before +after):\n%s", diff)
	}
	// The same input and memory give the same decision and memory.
	d2, m2 := e.Decide(in, mem.Clone())
	if d1.Final != d2.Final || !cmp.Equal(m1.Window, m2.Window) {
		t.Fatalf("Decide is not repeatable: %v %v / %v %v", d1.Final, m1.Window, d2.Final, m2.Window)
	}
	if want := []Recommendation{win[1], win[2], {At: t0, Value: 80}}; !cmp.Equal(m1.Window, want) {
		t.Fatalf("window = %v, want %v", m1.Window, want)
	}
	if d1.Final != 100 {
		t.Fatalf("final = %v, want 100 (held by the 120 of t-4m)", d1.Final)
	}
	// A window out of order (a clock that went back) is rebuilt, not trusted.
	mem.Window = []Recommendation{win[2], win[1], {At: t0.Add(time.Hour), Value: 999}}
	_, m3 := e.Decide(in, mem)
	if want := []Recommendation{win[1], win[2], {At: t0, Value: 80}}; !cmp.Equal(m3.Window, want) {
		t.Fatalf("rebuilt window = %v, want %v", m3.Window, want)
	}
}

func TestGuardDeadBand(t *testing.T) {
	s := newScript(guarded(Guards{DeadBand: Step{Pct: 0.05}, Resolution: 1}), 1, 1000, 100)
	s.run(t, []step{
		{at: 0, propose: 103, want: 100, action: Hold, guards: "dead_band"},
		{at: time.Minute, propose: 97, want: 100, guards: "dead_band"},
		{at: 2 * time.Minute, propose: 106, want: 106, guards: "-"},
	})
	s = newScript(guarded(Guards{DeadBand: Step{Units: 10}, Resolution: 1}), 1, 1000, 100)
	s.run(t, []step{
		{at: 0, propose: 109, want: 100, guards: "dead_band"},
		{at: time.Minute, propose: 110, want: 110, guards: "-"},
	})
	// MinDecrease holds a decrease the stabilization window shrank to a
	// sliver; a small step asked for on purpose, and any increase, pass.
	s = newScript(guarded(Guards{MinDecrease: 0.1, Stabilization: 10 * time.Minute, Resolution: 0.01}), 1, 1000, 288)
	s.run(t, []step{
		{at: 0, propose: 288, want: 288},
		{at: 9 * time.Minute, propose: 287.2, want: 288, guards: "stabilization"},
		// The data asks for 100; the window allows 287.2: not worth a call.
		{at: 10 * time.Minute, propose: 100, want: 288, guards: "stabilization dead_band", check: func(t *testing.T, d *Decision, m *Memory) {
			if st := d.Steps(); st[len(st)-1].Rule != "decrease inside the band" {
				t.Fatalf("steps = %+v", st)
			}
		}},
		{at: 11 * time.Minute, propose: 288.5, want: 288.5, action: Up, guards: "-"},
		{at: 30 * time.Minute, propose: 250, want: 250, action: Down, guards: "-"},
		// A small step the policy asks for itself goes through.
		{at: 40 * time.Minute, propose: 245, want: 245, action: Down, guards: "-"},
	})
	// A step cap below the band does not stop decreases for ever.
	s = newScript(guarded(Guards{MinDecrease: 0.25, StepDown: Step{Pct: 0.2}, Resolution: 1}), 1, 1000, 500)
	s.run(t, []step{{at: 0, propose: 150, want: 400, action: Down, guards: "max_step_down"}})
	// Nor when the window, too, acts: the cap sizes the step then.
	s = newScript(guarded(Guards{MinDecrease: 0.1, StepDown: Step{Units: 10}, Stabilization: 10 * time.Minute, Resolution: 1}), 1, 1000, 500)
	s.run(t, []step{
		{at: 0, propose: 300, want: 490, action: Down, guards: "max_step_down"},
		{at: time.Minute, propose: 290, want: 480, action: Down, guards: "stabilization max_step_down"},
		{at: 2 * time.Minute, propose: 280, want: 470, action: Down, guards: "stabilization max_step_down"},
	})
}

// One decrease undone by several increases is one flap, and undoing a
// back-pressure cut is recovery, not a flap.
func TestGuardFlapsCountOncePerDecrease(t *testing.T) {
	g := Guards{Stabilization: 10 * time.Minute, StabilizationMax: time.Hour, Resolution: 1}
	flaps := func(n int) func(*testing.T, *Decision, *Memory) {
		return func(t *testing.T, d *Decision, m *Memory) {
			if m.Flaps != n {
				t.Fatalf("flaps = %d, want %d", m.Flaps, n)
			}
		}
	}
	s := newScript(guarded(g), 1, 1000, 100)
	s.run(t, []step{
		{at: 0, propose: 100, want: 100},
		{at: 10 * time.Minute, propose: 70, want: 70, action: Down},
		{at: 11 * time.Minute, propose: 95, want: 95, action: Up, check: flaps(1)},
		{at: 12 * time.Minute, propose: 128, want: 128, action: Up, check: flaps(1)},
		{at: 13 * time.Minute, propose: 173, want: 173, action: Up, check: flaps(1)},
	})
	g.BackPressure = []BackPressure{{Signal: "pain", Warn: 1, Critical: 2, Cut: 0.3}}
	s = newScript(guarded(g), 1, 1000, 100)
	s.run(t, []step{
		{at: 0, propose: 100, want: 100},
		{at: time.Minute, propose: 100, sig: map[string]float64{"pain": 5}, want: 70, action: Down, check: flaps(0)},
		{at: 2 * time.Minute, propose: 100, sig: map[string]float64{"pain": 0}, want: 100, action: Up, check: flaps(0)},
	})
}

func TestGuardBackPressure(t *testing.T) {
	g := Guards{
		CooldownDown: 10 * time.Minute, Resolution: 1,
		BackPressure: []BackPressure{{Signal: "pain", Warn: 1, Critical: 50, Cut: 0.3}},
	}
	s := newScript(guarded(g), 60, 1000, 100)
	s.run(t, []step{
		{at: 0, propose: 150, sig: sig("pain", 0), want: 150, action: Up},
		// Above warn: no increase.
		{at: time.Minute, propose: 200, sig: sig("pain", 5), want: 150, action: Hold, guards: "back_pressure"},
		// Downstream health unknown: no increase either.
		{at: 2 * time.Minute, propose: 200, want: 150, guards: "back_pressure"},
		// Critical: cut 30%, down cooldown notwithstanding.
		{at: 3 * time.Minute, propose: 140, sig: sig("pain", 60), want: 105, action: Down, guards: "cooldown_down back_pressure"},
		// This datapoint began before the cut: it shows the old limit.
		// No second cut on it, and no increase.
		{at: 4 * time.Minute, propose: 140, sig: sig("pain", 60), want: 105, action: Hold, guards: "back_pressure"},
		// The period that began at the cut is still critical: cut again,
		// 73.5 rounded up towards more capacity.
		{at: 6 * time.Minute, propose: 105, sig: sig("pain", 60), want: 74, action: Down, guards: "back_pressure rounding"},
		// A cut never goes below min.
		{at: 9 * time.Minute, propose: 74, sig: sig("pain", 60), want: 60, guards: "back_pressure rounding bounds"},
		// Below warn again: increases are free.
		{at: 10 * time.Minute, propose: 90, sig: sig("pain", 0.5), want: 90, action: Up, guards: "-"},
	})
}

func TestGuardRounding(t *testing.T) {
	// API Gateway rates have a resolution of 0.01; rounding is always
	// towards more capacity, and lands exactly on the grid.
	s := newScript(guarded(Guards{Resolution: 0.01}), 0.01, 20, 10)
	s.run(t, []step{
		{at: 0, propose: 11.111, want: 11.12, guards: "rounding"},
		{at: time.Minute, propose: math.Nextafter(12.3, 13), want: 12.3, guards: "rounding"},
		{at: 2 * time.Minute, propose: 25, want: 20, guards: "bounds"},
		{at: 3 * time.Minute, propose: 10.001, want: 10.01, action: Down, guards: "rounding"},
	})
	s = newScript(guarded(Guards{Resolution: 1}), 1, 1000, 10)
	s.run(t, []step{
		{at: 0, propose: 10.2, want: 11, guards: "rounding"},
		// Float noise is not a reason to add a whole unit.
		{at: time.Minute, propose: math.Nextafter(9, 10), want: 9, guards: "rounding"},
		{at: 2 * time.Minute, propose: 7.5, want: 8, action: Down, guards: "rounding"},
	})
	if got := quantize(12.3, 0.01, false); got != 12.3 {
		t.Errorf("quantize(12.3, 0.01, down) = %v", got)
	}
	if got := quantize(1230*0.01, 0.01, true); got != 12.3 {
		t.Errorf("quantize(1230×0.01, 0.01, up) = %v", got)
	}
}

func TestGuardNoZero(t *testing.T) {
	// A Lambda reservation of 0 stops the function: never, unless allowed.
	s := newScript(guarded(Guards{Resolution: 1}), 0, 100, 5)
	s.run(t, []step{{at: 0, propose: 0, want: 1, guards: "bounds"}})
	s = newScript(guarded(Guards{Resolution: 1, AllowZero: true}), 0, 100, 5)
	s.run(t, []step{{at: 0, propose: 0, want: 0, guards: "-"}})
}

func TestGuardServiceConstraints(t *testing.T) {
	s := newScript(guarded(Guards{Resolution: 1}), 1, 1000, 100)
	s.run(t, []step{
		// The account floor leaves room for only 300 more.
		{at: 0, propose: 500, con: Constraints{Ceiling: 300}, want: 300, guards: "bounds", check: func(t *testing.T, d *Decision, _ *Memory) {
			if r := d.Steps()[0].Rule; r != "bounds: service ceiling" {
				t.Fatalf("rule = %q", r)
			}
		}},
		// The ceiling fell below the limit in force: come down to it. An
		// account quota behind the ceiling is named in the rule.
		{at: time.Minute, propose: 300, con: Constraints{Ceiling: 250, CeilingRule: "state transitions"}, want: 250, action: Down, guards: "bounds", check: func(t *testing.T, d *Decision, _ *Memory) {
			if r := d.Steps()[0].Rule; r != "bounds: service ceiling (state transitions)" {
				t.Fatalf("rule = %q", r)
			}
		}},
		// An SQS mapping accepts no less than 2, whatever min says.
		{at: 2 * time.Minute, propose: 1, con: Constraints{Floor: 2}, want: 2, guards: "bounds"},
		// The usage-plan quota: no change before NotBefore.
		{at: 3 * time.Minute, propose: 150, con: Constraints{NotBefore: t0.Add(3*time.Minute + 20*time.Second)}, want: 2, action: Hold, guards: "service", check: until(t0.Add(3*time.Minute + 20*time.Second))},
		{at: 3*time.Minute + 20*time.Second, propose: 150, con: Constraints{NotBefore: t0.Add(3*time.Minute + 20*time.Second)}, want: 150, guards: "-"},
		// A table that is UPDATING takes nothing.
		{at: 4 * time.Minute, propose: 200, con: Constraints{Blocked: "table is UPDATING"}, want: 150, guards: "service", check: func(t *testing.T, d *Decision, m *Memory) {
			if !m.Saturated {
				t.Fatal("a blocked actuator must freeze the integrator")
			}
		}},
	})
}

// The engine proposes, the guards bound; a proposal that is not a number
// holds instead of reaching a knob.
func TestNaNProposalHolds(t *testing.T) {
	for _, v := range []float64{nan(), inf(1), inf(-1)} {
		s := newScript(guarded(Guards{Resolution: 1}), 1, 100, 50)
		s.run(t, []step{{at: 0, propose: v, want: 50, action: Hold}})
	}
}

// A NaN that reached the memory (a hand-edited state) is dropped, not
// spread: the decision and the memory that comes out are numbers.
func TestDecideSanitizesMemory(t *testing.T) {
	mem := NewMemory()
	mem.Integral, mem.LastRequired, mem.DFiltered = nan(), inf(1), inf(-1)
	mem.Window = []Recommendation{{At: t0.Add(-time.Minute), Value: nan()}, {At: t0.Add(-30 * time.Second), Value: 120}}
	d, m := defaultEngine().Decide(Input{Now: t0, Current: 100, Min: 5, Max: 400, Signals: Signals{"busy": Reading(35, t0.Add(-3*time.Minute))}}, mem)
	if !finite(d.Final) || !finiteMemory(&m) {
		t.Fatalf("final %v memory %+v", d.Final, m)
	}
	// The NaN is dropped, the 120 kept; this evaluation adds what its
	// data asks for (35 / 0.7 = 50), although the throttle counter is
	// missing: an entry can only hold capacity up.
	if len(m.Window) != 2 || m.Window[0].Value != 120 || m.Window[1].Value != 50 {
		t.Fatalf("window = %v, want the 120 kept, the NaN dropped and 50 added", m.Window)
	}
	if d.Final != 100 {
		t.Fatalf("final %v: nothing may change with the throttle counter missing", d.Final)
	}
}
