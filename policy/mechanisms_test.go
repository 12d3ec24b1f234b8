package policy

import (
	"math"
	"testing"
	"time"
)

// engineWith builds the autotuner with busy at 70% of the limit, throttles,
// and the extra setpoints given.
func engineWith(g Guards, extra ...Setpoint) *Engine {
	e := tuner(1, 0, g)
	a := e.Rec.(*Autotuner)
	a.P.Setpoints = append(a.P.Setpoints, extra...)
	return e
}

// Feed-forward: an upstream rate × a duration (Little's law) asks for the
// concurrency the traffic will need before it has reached this limit.
func TestFeedForwardRaisesBeforeTheTrafficArrives(t *testing.T) {
	ff := Setpoint{Signal: "arrivals", Target: 0.7, PerLimit: true, UpOnly: true, Factor: 1, FactorSignal: "duration", FactorScale: 0.001}
	s := newScript(engineWith(Guards{StepUp: Step{Pct: 3}, Resolution: 1}, ff), 1, 1000, 10)
	s.run(t, []step{
		// 28 req/s × 250 ms = 7 busy: at 70% of 10 the limit is right.
		{at: 0, sig: sig("busy", 7, "throttles", 0, "arrivals", 28, "duration", 250), want: 10, why: ReasonInBand},
		// The API now sees 200 req/s; this function still sees the old
		// load (busy 7), but 200 × 0.25 / 0.7 = 71.4 is what it will need.
		{at: time.Minute, sig: sig("busy", 7, "throttles", 0, "arrivals", 200, "duration", 250), want: 40, action: Up, why: ReasonAboveBand, guards: "max_step_up",
			check: func(t *testing.T, d *Decision, m *Memory) {
				if d.Terms.Driver != "arrivals" {
					t.Fatalf("driver = %s, want arrivals", d.Terms.Driver)
				}
			}},
		{at: 2 * time.Minute, sig: sig("busy", 10, "throttles", 0, "arrivals", 200, "duration", 250), want: 72, action: Up, why: ReasonAboveBand},
		// Without the duration there is no prediction: busy alone speaks.
		{at: 3 * time.Minute, sig: sig("busy", 50, "throttles", 0, "arrivals", 200), want: 72, why: ReasonInBand},
	})
}

// A backlog measured before the last increase describes the old limit: it
// does not push a second time.
func TestBacklogBeforeTheLastIncreaseIsIgnored(t *testing.T) {
	backlog := Setpoint{Signal: "age", Target: 60, UpOnly: true}
	s := newScript(engineWith(Guards{StepUp: Step{Pct: 1}, Resolution: 1}, backlog), 1, 1000, 10)
	s.run(t, []step{
		{at: 0, sig: sig("busy", 7, "throttles", 0, "age", 120), want: 20, action: Up, why: ReasonAboveBand},
		// A new minute, but its period began before the increase at t0.
		{at: time.Minute, sig: sig("busy", 7, "throttles", 0, "age", 150), stamps: map[string]time.Duration{"age": -time.Minute}, want: 20, action: Hold},
		// Measured under the new limit and still old: push again.
		{at: 4 * time.Minute, sig: sig("busy", 14, "throttles", 0, "age", 150), want: 40, action: Up, why: ReasonAboveBand},
	})
}

// After a back-pressure cut, increases approach the level that overloaded
// downstream slowly: 90% of it at once, then 5% of it, doubling with each
// evaluation that finds the downstream healthy (slow start), back to 5%
// when it is not, until the memory expires.
func TestCongestionMemory(t *testing.T) {
	g := Guards{StepUp: Step{Pct: 3}, Resolution: 1, BackPressure: []BackPressure{{Signal: "lat", Warn: 250, Critical: 600, Cut: 0.5, Memory: 30 * time.Minute}}}
	s := newScript(engineWith(g, Setpoint{Signal: "age", Target: 60, UpOnly: true}), 1, 10000, 200)
	s.run(t, []step{
		// Downstream critical at 200: cut to 100, remember 200.
		{at: 0, sig: sig("busy", 140, "throttles", 0, "lat", 900), want: 100, action: Down, guards: "back_pressure",
			check: func(t *testing.T, d *Decision, m *Memory) {
				if m.Congestion != 200 {
					t.Fatalf("congestion = %v, want 200", m.Congestion)
				}
			}},
		// Healthy again, and the backlog asks for ×8: only up to 90% of 200.
		{at: 5 * time.Minute, sig: sig("busy", 70, "throttles", 0, "lat", 100, "age", 480), want: 180, action: Up, guards: "max_step_up back_pressure"},
		// Beyond 90%: the downstream was healthy at the last
		// evaluation, so 10% of 200, then 20%.
		{at: 10 * time.Minute, sig: sig("busy", 126, "throttles", 0, "lat", 100, "age", 480), want: 200, action: Up, guards: "max_step_up back_pressure"},
		{at: 15 * time.Minute, sig: sig("busy", 140, "throttles", 0, "lat", 100, "age", 480), want: 240, action: Up, guards: "max_step_up back_pressure"},
		// Above warn: no increase, and the probe starts again at 5%.
		{at: 20 * time.Minute, sig: sig("busy", 168, "throttles", 0, "lat", 300, "age", 480), want: 240, guards: "max_step_up back_pressure back_pressure"},
		{at: 25 * time.Minute, sig: sig("busy", 168, "throttles", 0, "lat", 100, "age", 480), want: 250, action: Up, guards: "max_step_up back_pressure"},
		// The memory has expired: the usual step applies.
		{at: 31 * time.Minute, sig: sig("busy", 133, "throttles", 0, "lat", 100, "age", 480), want: 1000, action: Up, guards: "max_step_up"},
	})
}

// A limit found above max is brought down only once there is data to size
// it by: a function with no reservation reports the account's unreserved
// pool, and reserving max of it blind would take it from everyone else.
func TestNoDecreaseToABoundWithoutData(t *testing.T) {
	s := newScript(tuner(1, 0, Guards{Resolution: 1}), 1, 400, 1000)
	s.run(t, []step{
		{at: 0, want: 1000, action: Hold, why: ReasonMissing, guards: "bounds missing_data"},
		{at: time.Minute, sig: sig("busy", 200, "throttles", 0), want: 400, action: Down, guards: "bounds"},
	})
}

// A load of a handful of units fluctuates by about √N on its own: at a
// limit of 10 the band widens so the limit does not chase that noise one
// unit up and one down, while at 1,000 the configured 10% band rules.
func TestBandWidensForSmallCounts(t *testing.T) {
	small := newScript(tuner(1, 0, Guards{Resolution: 1}), 1, 10000, 10)
	small.run(t, []step{
		// 8.5 busy of 7 expected is +21%: noise at this size (√7 ≈ 38%).
		{at: 0, sig: sig("busy", 8.5, "throttles", 0), want: 10, why: ReasonInBand},
		// A throttle is not noise: it acts whatever the band.
		{at: time.Minute, sig: sig("busy", 10, "throttles", 4), want: 15, action: Up, why: ReasonThrottled},
	})
	large := newScript(tuner(1, 0, Guards{Resolution: 1}), 1, 10000, 1000)
	large.run(t, []step{
		{at: 0, sig: sig("busy", 800, "throttles", 0), want: 1143, action: Up, why: ReasonAboveBand},
	})
}

// No decrease goes below what the upstream arrivals predict: when this
// limit's own load falls because something upstream was cut, the traffic
// is still there, waiting.
func TestNoDecreaseBelowTheFeedForward(t *testing.T) {
	ff := Setpoint{Signal: "arrivals", Target: 0.7, PerLimit: true, UpOnly: true, Factor: 1}
	s := newScript(engineWith(Guards{StepDown: Step{Pct: 0.9}, Resolution: 1}, ff), 1, 1000, 400)
	var steps []step
	for m := range 4 {
		// Own load 70 of 400 (25%), arrivals 210/s predict 300.
		steps = append(steps, step{at: time.Duration(m) * time.Minute, sig: sig("busy", 70, "throttles", 0, "arrivals", 210), want: 400})
	}
	// Its own load alone would ask for 100; the arrivals hold it at 300.
	steps = append(steps, step{at: 4 * time.Minute, sig: sig("busy", 70, "throttles", 0, "arrivals", 210), want: 300, action: Down, why: ReasonBelowBand})
	// Lower still on its own (50 busy), but the arrivals still predict 300: hold.
	steps = append(steps, step{at: 5 * time.Minute, sig: sig("busy", 50, "throttles", 0, "arrivals", 210), want: 300, action: Hold})
	s.run(t, steps)
}

// A queue piling up before a saturated limit is demand too: feed-forward
// adds depth ÷ drain to the arrival rate. A limit that is not the
// bottleneck does not buy capacity for a queue it cannot drain faster,
// and a missing depth adds nothing.
func TestFeedForwardDrainsTheBacklogOfABottleneck(t *testing.T) {
	ff := Setpoint{Signal: "arrivals", Target: 0.7, PerLimit: true, UpOnly: true, Factor: 1, Backlog: "depth", Drain: 60}
	s := newScript(engineWith(Guards{StepUp: Step{Pct: 3}, Resolution: 1}, ff), 1, 10000, 100)
	s.run(t, []step{
		// At its limit (busy 95 of 100), 70 msg/s arriving and 6,000
		// queued: 70 + 6000/60 = 170 a second, ÷ 0.7 = 243.
		{at: 0, sig: sig("busy", 95, "throttles", 0, "arrivals", 70, "depth", 6000), want: 243, action: Up, why: ReasonAboveBand,
			check: func(t *testing.T, d *Decision, m *Memory) {
				if d.Terms.Driver != "arrivals" {
					t.Fatalf("driver = %s, want arrivals", d.Terms.Driver)
				}
			}},
		// Busy 120 of 243 is not a bottleneck: the queue is held back
		// elsewhere, and the arrivals alone ask for 100: nothing to add.
		{at: time.Minute, sig: sig("busy", 120, "throttles", 0, "arrivals", 70, "depth", 60000), want: 243, why: ReasonDebounceDn},
	})
	s = newScript(engineWith(Guards{StepUp: Step{Pct: 3}, Resolution: 1}, ff), 1, 10000, 100)
	s.run(t, []step{
		// No depth reading: the arrivals alone, 70 ÷ 0.7 = 100, in band
		// with busy 75 of 100 (÷ 0.7 = 107, inside the 10% band).
		{at: 0, sig: sig("busy", 75, "throttles", 0, "arrivals", 70), want: 100, why: ReasonInBand},
	})
	s = newScript(engineWith(Guards{StepUp: Step{Pct: 3}, Resolution: 1}, ff), 1, 10000, 100)
	s.run(t, []step{
		// The utilization datapoint still describes a lower limit (busy
		// 40 of 100, say while a table was UPDATING), but the limit
		// throttles: a throttling limit is the bottleneck, so the queue
		// counts. Without it the throttles alone would ask for 120.
		{at: 0, sig: sig("busy", 40, "throttles", 50, "arrivals", 70, "depth", 6000), want: 243, action: Up, why: ReasonAboveBand},
	})
}

// What the front door admits is served in full: the admitted rate ×
// duration (no headroom) is a hard floor. It raises the limit at once,
// even inside the band and with this function's own metrics missing (an
// idle function publishes no duration: the last one seen stands in), no
// decrease goes below it, and following it is not a flap.
func TestAdmittedRateIsServed(t *testing.T) {
	ff := Setpoint{Signal: "arrivals", Target: 0.7, PerLimit: true, UpOnly: true, Factor: 1, FactorSignal: "duration", FactorScale: 0.001}
	adm := ff
	adm.Signal, adm.Target, adm.Floor = "admitted", 1, true
	g := Guards{StepUp: Step{Pct: 3}, StepDown: Step{Pct: 0.9}, Resolution: 1, Stabilization: 2 * time.Minute, StabilizationMax: time.Hour}
	live := []string{"admitted"}
	noFlaps := func(t *testing.T, d *Decision, m *Memory) {
		if m.Flaps != 0 {
			t.Fatalf("flaps = %d after following the door", m.Flaps)
		}
	}
	e := engineWith(g, ff, adm)
	e.Rec.(*Autotuner).P.PID.IntegralLimit = 1000 // room to wind, were it not for the floor
	s := newScript(e, 1, 1000, 20)
	steps := []step{
		// Busy 12 of 20 is inside the band, but the API admits 10 req/s
		// of 2.4 s requests: 24 concurrent. Served now.
		{at: 0, live: live, sig: sig("busy", 12, "throttles", 0, "arrivals", 4, "duration", 2400, "admitted", 10), want: 24, action: Up, why: ReasonAdmitted},
		// The function idles: no busy, no duration. The API now admits
		// 20 req/s; the last duration (2.4 s) sizes it: 48.
		{at: time.Minute, live: live, sig: sig("throttles", 0, "admitted", 20), want: 48, action: Up, why: ReasonAdmitted},
	}
	// Once the floor clamps the decreases, the integral stands still:
	// the floor, not the controller, sets the output.
	held := math.NaN()
	noWindup := func(t *testing.T, d *Decision, m *Memory) {
		if d.Proposed < d.Current {
			t.Fatalf("proposed %v below the floor", d.Proposed)
		}
		if d.Reason.Code == ReasonInBand && d.Reason.Signal == "admitted" {
			if !math.IsNaN(held) && m.Integral != held {
				t.Fatalf("integral moved from %v to %v while the floor held", held, m.Integral)
			}
			held = m.Integral
		}
	}
	for m := 2; m <= 8; m++ {
		// Its own load asks for 3; the floor holds it at 48.
		steps = append(steps, step{at: time.Duration(m) * time.Minute, live: live, sig: sig("busy", 2, "throttles", 0, "arrivals", 1, "duration", 2400, "admitted", 20), want: 48, check: noWindup})
	}
	steps = append(steps, step{at: 8*time.Minute + 30*time.Second, live: live, sig: sig("busy", 2, "throttles", 0, "arrivals", 1, "duration", 2400, "admitted", 20), want: 48, check: func(t *testing.T, d *Decision, m *Memory) {
		if math.IsNaN(held) {
			t.Fatal("the floor never clamped a decrease: the test shows nothing")
		}
	}})
	steps = append(steps,
		// The door narrows to 5 req/s: the floor is 12.
		step{at: 9 * time.Minute, live: live, sig: sig("busy", 2, "throttles", 0, "arrivals", 1, "duration", 2400, "admitted", 5), want: 12, action: Down},
		// And widens again at once: following it is no flap.
		step{at: 10 * time.Minute, live: live, sig: sig("busy", 2, "throttles", 0, "arrivals", 1, "duration", 2400, "admitted", 20), want: 48, action: Up, why: ReasonAdmitted, check: noFlaps},
	)
	s.run(t, steps)

	// Above max (a hand change) with its own data missing: the floor
	// must not turn into a decrease, which only data may decide.
	s = newScript(engineWith(g, ff, adm), 1, 500, 900)
	s.mem.FloorFactor = 2400
	s.run(t, []step{
		{at: 0, live: live, sig: sig("admitted", 500), want: 900, action: Hold},
	})

	// A floor above max holds the limit at max: the data may not take it
	// down only for the floor to raise it again next tick.
	s = newScript(engineWith(g, ff, adm), 1, 600, 600)
	var atMax []step
	for m := range 8 {
		atMax = append(atMax, step{at: time.Duration(m) * time.Minute, live: live, sig: sig("busy", 100, "throttles", 0, "arrivals", 10, "duration", 700, "admitted", 1000), want: 600, action: Hold})
	}
	s.run(t, atMax)

	// Never seen a duration: no floor yet, and a missing admitted rate
	// is no floor either.
	s = newScript(engineWith(g, ff, adm), 1, 1000, 20)
	s.run(t, []step{
		{at: 0, live: live, sig: sig("throttles", 0, "admitted", 20), want: 20, why: ReasonMissing},
		{at: time.Minute, sig: sig("busy", 12, "throttles", 0, "arrivals", 4, "duration", 2400), want: 20},
	})
}
