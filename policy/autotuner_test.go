package policy

import (
	"math"
	"testing"
	"time"
)

// Scripts of the default policy. With kp 1 and ki 0 the autotuner
// proposes exactly busy / 70%, so every number below can be checked by
// hand.

func TestAutotunerBand(t *testing.T) {
	s := newScript(tuner(1, 0, Guards{}), 1, 1000, 100)
	s.run(t, []step{
		{at: 0, sig: sig("busy", 70, "throttles", 0), want: 100, action: Hold, why: ReasonInBand},
		// ±10% around the setpoint is quiet: 76/70 and 64/70 stay.
		{at: 1 * time.Minute, sig: sig("busy", 76, "throttles", 0), want: 100, why: ReasonInBand},
		{at: 2 * time.Minute, sig: sig("busy", 64, "throttles", 0), want: 100, why: ReasonInBand},
		// 91 busy of 100 is 130% of the setpoint: up by 30%, at once.
		// (70, 76 and 64 vary by some 4% a minute, measured: +30% is
		// beyond twice that, so one datapoint is enough.)
		{at: 3 * time.Minute, sig: sig("busy", 91, "throttles", 0), want: 130, action: Up, why: ReasonAboveBand},
	})
}

func TestAutotunerDebounceFastUpSlowDown(t *testing.T) {
	e := tuner(1, 0, Guards{StepDown: Step{Pct: 0.2}, CooldownDown: 5 * time.Minute, Resolution: 1})
	e.Rec.(*Autotuner).P.UpAfter = 2
	below := func(m time.Duration, want float64, why string, guards string) step {
		return step{at: m * time.Minute, sig: sig("busy", 35, "throttles", 0), want: want, why: why, guards: guards}
	}
	counters := func(above, below int) func(*testing.T, *Decision, *Memory) {
		return func(t *testing.T, d *Decision, m *Memory) {
			if m.Above != above || m.Below != below {
				t.Fatalf("counters above=%d below=%d, want %d/%d", m.Above, m.Below, above, below)
			}
		}
	}
	s := newScript(e, 1, 1000, 100)
	s.run(t, []step{
		below(0, 100, ReasonDebounceDn, "-"),
		below(1, 100, ReasonDebounceDn, "-"),
		below(2, 100, ReasonDebounceDn, "-"),
		// Back in the band: the run of below-band datapoints is broken.
		{at: 3 * time.Minute, sig: sig("busy", 70, "throttles", 0), want: 100, why: ReasonInBand, check: counters(0, 0)},
		below(4, 100, ReasonDebounceDn, "-"),
		below(5, 100, ReasonDebounceDn, "-"),
		below(6, 100, ReasonDebounceDn, "-"),
		below(7, 100, ReasonDebounceDn, "-"),
		// The fifth in a row: 35/70 asks for 50, the 20% step cap gives 80.
		below(8, 80, ReasonBelowBand, "max_step_down"),
		// Still below, but the down cooldown holds until t+13m.
		below(9, 80, ReasonBelowBand, "max_step_down cooldown_down"),
		below(13, 64, ReasonBelowBand, "max_step_down"),
		// Up needs two datapoints above the band: the first only counts,
		// and crossing resets the below counter.
		{at: 14 * time.Minute, sig: sig("busy", 63, "throttles", 0), want: 64, why: ReasonDebounceUp, check: counters(1, 0)},
		// 63 / (0.7 × 64) = 1.40625: up to 90.
		{at: 15 * time.Minute, sig: sig("busy", 63, "throttles", 0), want: 90, action: Up, why: ReasonAboveBand, guards: "-"},
	})
}

func TestAutotunerThrottleAware(t *testing.T) {
	s := newScript(tuner(1, 0, Guards{StepUp: Step{Pct: 1}, CooldownUp: time.Minute, Resolution: 1}), 1, 1000, 100)
	s.run(t, []step{
		// Half busy, yet 5 requests were turned away: the limit is too
		// low whatever the average says. Up by the throttle boost, 50%.
		{at: 0, sig: sig("busy", 50, "throttles", 5), want: 150, action: Up, why: ReasonThrottled},
		// The next two throttle datapoints began before that increase
		// (they describe the old limit of 100): they push nothing up, but
		// throttling still forbids counting towards a decrease.
		{at: 1 * time.Minute, sig: sig("busy", 70, "throttles", 5), want: 150, why: ReasonStillThrottled,
			check: func(t *testing.T, d *Decision, m *Memory) {
				if d.Terms.Driver != "busy" {
					t.Fatalf("driver = %q, want busy: a stale throttle drove the decision", d.Terms.Driver)
				}
			}},
		{at: 2 * time.Minute, sig: sig("busy", 70, "throttles", 5), want: 150, why: ReasonStillThrottled},
		// This one began at the very tick of the increase, so part of it
		// ran under the old limit: ignored as well.
		{at: 3 * time.Minute, sig: sig("busy", 70, "throttles", 5), want: 150, why: ReasonStillThrottled},
		// This one began after it: the new limit is too low too.
		{at: 4 * time.Minute, sig: sig("busy", 70, "throttles", 5), want: 225, action: Up, why: ReasonThrottled},
	})
}

// A block that does not follow our own increase (a sibling knob of the
// table changed this tick, an account pool at its floor) says nothing
// about the limit a period ran under: throttles still count, and a
// target that throttles never comes down.
func TestAutotunerBlockNotOursKeepsThrottlesCurrent(t *testing.T) {
	e := tuner(1, 0, Guards{StepUp: Step{Pct: 1}, Resolution: 1})
	s := newScript(e, 1, 1000, 100)
	ours := Constraints{Blocked: "table is UPDATING"}
	other := Constraints{Blocked: "read capacity was changed this tick"}
	never := func(t *testing.T, d *Decision, m *Memory) {
		if d.Proposed < d.Current || m.Below != 0 {
			t.Fatalf("proposed %v from %v, below %d: throttling must never count towards a decrease", d.Proposed, d.Current, m.Below)
		}
	}
	steps := []step{
		{at: 0, sig: sig("busy", 40, "throttles", 50), want: 150, action: Up, why: ReasonThrottled},
		// Our own increase locks the table for one tick.
		{at: time.Minute, sig: sig("busy", 40, "throttles", 50), con: ours, want: 150, check: func(t *testing.T, d *Decision, m *Memory) {
			if !m.LastBlocked.Equal(t0.Add(time.Minute)) {
				t.Fatalf("last blocked %v, want t+1m", m.LastBlocked)
			}
		}},
		{at: 2 * time.Minute, sig: sig("busy", 40, "throttles", 50), want: 150, check: never},
	}
	for m := 3; m < 10; m++ {
		// Blocked again, but not by us: the lock is not extended, and
		// from t+5m on the datapoints (begun after t+1m) are current.
		steps = append(steps, step{at: time.Duration(m) * time.Minute, sig: sig("busy", 40, "throttles", 50), con: other, want: 150,
			check: func(t *testing.T, d *Decision, m *Memory) {
				never(t, d, m)
				if !m.LastBlocked.Equal(t0.Add(time.Minute)) {
					t.Fatalf("last blocked %v: a block not ours moved it", m.LastBlocked)
				}
			}})
	}
	// Unblocked: the throttles of the newest period push the limit up.
	steps = append(steps, step{at: 10 * time.Minute, sig: sig("busy", 40, "throttles", 50), want: 225, action: Up, why: ReasonThrottled})
	s.run(t, steps)
}

func TestAutotunerThrottleWhileLockedIsStale(t *testing.T) {
	// A table stays UPDATING for minutes after an increase: the periods
	// that began while it was locked ran under the old capacity, and
	// would push the new one up a second time.
	s := newScript(tuner(1, 0, Guards{StepUp: Step{Pct: 1}, Resolution: 1}), 1, 1000, 100)
	locked := Constraints{Blocked: "table is UPDATING"}
	s.run(t, []step{
		{at: 0, sig: sig("busy", 70, "throttles", 5), want: 150, action: Up, why: ReasonThrottled},
		{at: 1 * time.Minute, sig: sig("busy", 100, "throttles", 5), con: locked, want: 150, guards: "-"},
		{at: 2 * time.Minute, sig: sig("busy", 100, "throttles", 5), con: locked, want: 150},
		// Unlocked now, but the datapoints of t+0…t+2m began before the
		// lock was last seen: none of them counts.
		{at: 3 * time.Minute, sig: sig("busy", 100, "throttles", 5), want: 150, why: ReasonInBand},
		{at: 4 * time.Minute, sig: sig("busy", 100, "throttles", 5), want: 150, why: ReasonInBand},
		{at: 5 * time.Minute, sig: sig("busy", 100, "throttles", 5), want: 150, why: ReasonInBand},
		// Begun after the lock: the new capacity throttles too.
		{at: 6 * time.Minute, sig: sig("busy", 100, "throttles", 5), want: 225, action: Up, why: ReasonThrottled},
	})
}

func TestAutotunerThrottleRatioWithRequests(t *testing.T) {
	e := tuner(1, 0, Guards{Resolution: 1})
	e.Rec.(*Autotuner).P.Throttles.Requests = "served"
	s := newScript(e, 1, 1000, 100)
	// 80 served and 20 throttled while 98 of the 100 were busy: the period
	// needed 98 × 100/80 = 122.5, and at a 70% target that is 175. The
	// estimate starts from what was used, not from the limit (which
	// would give 100 × 1.25 / 0.7 = 178.6).
	s.run(t, []step{{at: 0, sig: sig("busy", 98, "throttles", 20, "served", 80), want: 175, why: ReasonThrottled,
		check: func(t *testing.T, d *Decision, m *Memory) {
			if math.Abs(d.Terms.Demand-1.75) > 1e-9 {
				t.Fatalf("demand = %v, want 1.75", d.Terms.Demand)
			}
		}}})
}

func TestAutotunerThrottleDatapointCountsOnce(t *testing.T) {
	// Throttles come in 5-minute periods while busy comes every minute.
	five := -5 * time.Minute
	sameThrottle := map[string]time.Duration{"throttles": five}
	s := newScript(tuner(1, 0, Guards{Resolution: 1}), 1, 1000, 100)
	s.run(t, []step{
		// The service allows no change yet: the increase is held.
		{at: 0, sig: sig("busy", 70, "throttles", 5), stamps: sameThrottle, con: Constraints{NotBefore: t0.Add(time.Minute)}, want: 100, why: ReasonThrottled, guards: "service"},
		// A new busy datapoint, the same throttle datapoint: it has
		// had its say and does not push again.
		{at: 1 * time.Minute, sig: sig("busy", 70, "throttles", 5), stamps: sameThrottle, want: 100, why: ReasonInBand},
		{at: 2 * time.Minute, sig: sig("busy", 70, "throttles", 5), stamps: sameThrottle, want: 100, why: ReasonInBand},
		// The next 5-minute period throttles too: now it acts.
		{at: 3 * time.Minute, sig: sig("busy", 70, "throttles", 5), stamps: map[string]time.Duration{"throttles": 0}, want: 150, why: ReasonThrottled},
	})
}

func TestAutotunerMissingData(t *testing.T) {
	s := newScript(tuner(1, 0, Guards{StepDown: Step{Pct: 0.2}, Resolution: 1}), 1, 1000, 100)
	low := func(m time.Duration, want float64, why string) step {
		return step{at: m * time.Minute, sig: sig("busy", 35, "throttles", 0), want: want, why: why}
	}
	s.run(t, []step{
		// Nothing at all: hold, never read as "all is well".
		{at: 0, want: 100, action: Hold, why: ReasonMissing},
		low(1, 100, ReasonDebounceDn),
		low(2, 100, ReasonDebounceDn),
		low(3, 100, ReasonDebounceDn),
		low(4, 100, ReasonDebounceDn),
		// The throttle counter is missing (its rule is hold, not zero):
		// nobody knows whether requests were turned away, so no
		// decrease. A gap is no information: the run of below-band
		// datapoints pauses, neither counted nor broken.
		{at: 5 * time.Minute, sig: sig("busy", 35), want: 100, action: Hold, why: ReasonMissing,
			check: func(t *testing.T, d *Decision, m *Memory) {
				if m.Below != 4 || d.Terms.Missing != "throttles" {
					t.Fatalf("below = %d, missing = %q; want 4, throttles", m.Below, d.Terms.Missing)
				}
			}},
		low(6, 80, ReasonBelowBand),
		// Busy is missing but throttles arrive: missing data never
		// blocks an increase.
		{at: 7 * time.Minute, sig: sig("throttles", 3), want: 120, action: Up, why: ReasonThrottled},
	})
}

func TestAutotunerIntegralClamp(t *testing.T) {
	// A queue age twice its setpoint is an error of +1 whatever the limit.
	p := DefaultAutotuner()
	p.Setpoints = []Setpoint{{Signal: "age", Target: 60}}
	p.PID = PID{Kp: 0.1, Ki: 1, IntegralLimit: 0.5}
	e := &Engine{Rec: &Autotuner{P: p}, Guards: Guards{Resolution: 1}}
	s := newScript(e, 1, 1e9, 100)
	var steps []step
	for i := range 4 {
		m := time.Duration(i) * time.Minute
		steps = append(steps, step{at: m, sig: sig("age", 120), want: -1, check: func(t *testing.T, d *Decision, mem *Memory) {
			if mem.Integral != 0.5 || d.Terms.I != 0.5 {
				t.Fatalf("integral = %v, I = %v; want both clamped at 0.5", mem.Integral, d.Terms.I)
			}
		}})
	}
	// The finals grow by 60% a tick: check the clamp, not the values.
	for i := range steps {
		steps[i].want = 100
		for range i + 1 {
			steps[i].want = quantize(steps[i].want*1.6, 1, true)
		}
	}
	s.run(t, steps)
}

func TestAutotunerAntiWindupFreeze(t *testing.T) {
	p := DefaultAutotuner()
	p.Setpoints = []Setpoint{{Signal: "age", Target: 60}}
	p.PID = PID{Kp: 0.5, Ki: 0.1, IntegralLimit: 10}
	integral := func(want float64, frozen bool) func(*testing.T, *Decision, *Memory) {
		return func(t *testing.T, d *Decision, m *Memory) {
			if m.Integral != want || d.Terms.Frozen != frozen {
				t.Fatalf("integral = %v frozen = %v; want %v %v", m.Integral, d.Terms.Frozen, want, frozen)
			}
		}
	}
	t.Run("saturated", func(t *testing.T) {
		s := newScript(&Engine{Rec: &Autotuner{P: p}, Guards: Guards{StepUp: Step{Pct: 0.1}, Resolution: 1}}, 1, 1e6, 100)
		s.run(t, []step{
			// The first error is integrated; the 10% cap saturates the output.
			{at: 0, sig: sig("age", 120), want: 110, guards: "max_step_up", check: integral(1, true)},
			// While saturated the integral holds still.
			{at: time.Minute, sig: sig("age", 120), want: 121, guards: "max_step_up", check: integral(1, true)},
		})
	})
	t.Run("blocked", func(t *testing.T) {
		s := newScript(&Engine{Rec: &Autotuner{P: p}, Guards: Guards{Resolution: 1}}, 1, 1e6, 100)
		s.run(t, []step{
			// The table is UPDATING: hold, and integrate nothing.
			{at: 0, sig: sig("age", 120), con: Constraints{Blocked: "table is UPDATING"}, want: 100, guards: "service", check: integral(0, true)},
			// Unblocked, but the last output was held: still frozen for this tick.
			{at: time.Minute, sig: sig("age", 120), want: 150, check: integral(0, true)},
			{at: 2 * time.Minute, sig: sig("age", 120), want: 240, check: integral(1, false)},
		})
	})
}

func TestAutotunerInBandBleedsIntegral(t *testing.T) {
	p := DefaultAutotuner()
	p.Setpoints = []Setpoint{{Signal: "age", Target: 60}}
	p.PID = PID{Kp: 0.5, Ki: 0.1, IntegralLimit: 10}
	s := newScript(&Engine{Rec: &Autotuner{P: p}, Guards: Guards{Resolution: 1}}, 1, 1e6, 100)
	s.run(t, []step{
		{at: 0, sig: sig("age", 120), want: 160},
		{at: time.Minute, sig: sig("age", 60), want: 160, why: ReasonInBand, check: func(t *testing.T, d *Decision, m *Memory) {
			if m.Integral != 0.5 {
				t.Fatalf("integral = %v, want 0.5 (half of 1, bled inside the band)", m.Integral)
			}
		}},
	})
}

func TestAutotunerActsOncePerDatapoint(t *testing.T) {
	p := DefaultAutotuner()
	p.Setpoints = []Setpoint{{Signal: "age", Target: 60}}
	p.PID = PID{Kp: 1}
	s := newScript(&Engine{Rec: &Autotuner{P: p}, Guards: Guards{Resolution: 1}}, 1, 1e6, 100)
	s.run(t, []step{
		{at: 0, sig: sig("age", 120), want: 200, why: ReasonAboveBand},
		// Ticking again within the same minute reads the same datapoint:
		// no cooldown here, yet it must not raise the limit a second time.
		{at: 30 * time.Second, sig: sig("age", 120), want: 200, why: ReasonStale},
		{at: time.Minute, sig: sig("age", 120), want: 400, why: ReasonAboveBand},
	})
}

func TestAutotunerAlarm(t *testing.T) {
	g := Guards{CooldownUp: 5 * time.Minute, Resolution: 1}
	s := newScript(tuner(1, 0, g), 1, 1000, 100)
	s.run(t, []step{
		{at: 0, sig: sig("busy", 91, "throttles", 0), want: 130},
		// An alarm in ALARM pushes up even from inside the band, but the
		// up cooldown still holds unless the target lets alarms bypass it.
		{at: time.Minute, sig: sig("busy", 91, "throttles", 0), alarm: true, want: 130, why: ReasonAlarm, guards: "cooldown_up"},
	})
	g.AlarmBypassesCooldown = true
	s = newScript(tuner(1, 0, g), 1, 1000, 100)
	s.run(t, []step{
		{at: 0, sig: sig("busy", 91, "throttles", 0), want: 130},
		{at: time.Minute, sig: sig("busy", 91, "throttles", 0), alarm: true, want: 156, why: ReasonAlarm, guards: "-"},
	})
}

func TestAutotunerUpOnlyBacklog(t *testing.T) {
	p := DefaultAutotuner()
	p.PID = PID{Kp: 1}
	p.Setpoints = []Setpoint{{Signal: "busy", Target: 0.7, PerLimit: true}, {Signal: "age", Target: 60, UpOnly: true}}
	p.DownAfter = 1
	s := newScript(&Engine{Rec: &Autotuner{P: p}, Guards: Guards{Resolution: 1}}, 1, 1e6, 100)
	s.run(t, []step{
		// Busy looks fine, but messages wait 90 s against 60 s: the
		// highest demand wins, up 50%.
		{at: 0, sig: sig("busy", 70, "age", 90), want: 150, why: ReasonAboveBand, check: func(t *testing.T, d *Decision, m *Memory) {
			if d.Terms.Driver != "age" {
				t.Fatalf("driver = %s, want age", d.Terms.Driver)
			}
		}},
		// A healthy backlog has no opinion on decreases, and a missing one
		// does not block them: busy alone may lower the limit.
		{at: time.Minute, sig: sig("busy", 52.5, "age", 1), want: 75, why: ReasonBelowBand},
		{at: 2 * time.Minute, sig: sig("busy", 26.25), want: 38, why: ReasonBelowBand},
	})
}

// The integral advances once per datapoint, by the datapoints' spacing:
// ticking every 10 s on 1-minute metrics integrates as much as ticking
// every minute.
func TestAutotunerIntegralPerDatapoint(t *testing.T) {
	p := DefaultAutotuner()
	p.Setpoints = []Setpoint{{Signal: "age", Target: 60}}
	p.PID = PID{Kp: 0.1, Ki: 0.1, IntegralLimit: 10}
	e := &Engine{Rec: &Autotuner{P: p}, Guards: Guards{Resolution: 1}}
	mem, cur := NewMemory(), 100.0
	for s := 0; s < 180; s += 10 {
		now := t0.Add(time.Duration(s) * time.Second)
		d, m := e.Decide(Input{Now: now, Current: cur, Min: 1, Max: 1e9, Signals: Signals{"age": Reading(120, now.Add(-readingDelay).Truncate(time.Minute))}}, mem)
		cur, mem = d.Final, m
	}
	if mem.Integral != 3 {
		t.Fatalf("integral after 3 datapoints of error 1 = %v, want 3", mem.Integral)
	}
}

// With the gains and guards of lambdaGuards (after 5, stabilization 10m,
// down step 20%), a limit left idle comes down at the fifth below-band
// datapoint: the window records what the data asks for (50 here), not the
// value held while counting, so it does not add its own 10 minutes.
// docs/policies.md says so.
func TestAutotunerDefaultsDecreaseTiming(t *testing.T) {
	s := newScript(tuner(0.9, 0.05, lambdaGuards()), 1, 1000, 100)
	var steps []step
	for m := range 4 {
		steps = append(steps, step{at: time.Duration(m) * time.Minute, sig: sig("busy", 35, "throttles", 0), want: 100, why: ReasonDebounceDn})
	}
	steps = append(steps, step{at: 4 * time.Minute, sig: sig("busy", 35, "throttles", 0), want: 80, action: Down, guards: "max_step_down"})
	s.run(t, steps)
}
