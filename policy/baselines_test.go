package policy

import (
	"testing"
	"time"
)

// One script per baseline, reproducing the documented behaviour of the
// system it is named after. Each runs in an Engine with whole-unit
// rounding and no other guard, as config builds it.

func baseline(r Recommender) *Engine { return &Engine{Rec: r, Guards: Guards{Resolution: 1}} }

func minutes(from, to int, s step) []step {
	var out []step
	for m := from; m <= to; m++ {
		st := s
		st.at = time.Duration(m) * time.Minute
		out = append(out, st)
	}
	return out
}

func TestTargetTracking(t *testing.T) {
	p := DefaultTargetTracking()
	p.Signal = "consumed"
	s := newScript(baseline(&TargetTracking{P: p}), 1, 10000, 100)
	var steps []step
	// Out only after 2 consecutive datapoints above the 70% target …
	steps = append(steps,
		step{at: 0, sig: sig("consumed", 80), want: 100, why: ReasonInBand},
		// … to ceil(consumed / target) = ceil(114.3) = 115.
		step{at: time.Minute, sig: sig("consumed", 80), want: 115, action: Up, why: ReasonScaleOut},
	)
	// In only after 15 consecutive datapoints below the target. A missing
	// datapoint leaves the alarm where it was: it neither counts nor resets.
	steps = append(steps, minutes(2, 8, step{sig: sig("consumed", 40), want: 115, why: ReasonInBand})...)
	steps = append(steps, step{at: 9 * time.Minute, want: 115, why: ReasonMissing})
	steps = append(steps, minutes(10, 16, step{sig: sig("consumed", 40), want: 115, why: ReasonInBand})...)
	steps = append(steps, step{at: 17 * time.Minute, sig: sig("consumed", 40), want: 58, action: Down, why: ReasonScaleIn})
	// A throttled request is not consumed: target tracking cannot see it.
	steps = append(steps, step{at: 18 * time.Minute, sig: sig("consumed", 40, "throttles", 500), want: 58, why: ReasonInBand})
	s.run(t, steps)
}

func TestTargetTrackingCountsEachDatapointOnce(t *testing.T) {
	p := DefaultTargetTracking()
	p.Signal = "consumed"
	s := newScript(baseline(&TargetTracking{P: p}), 1, 10000, 100)
	same := at(-3 * time.Minute)
	s.run(t, []step{
		{at: 0, sig: sig("consumed", 80), stamp: same, want: 100},
		// Ticking twice on the same datapoint is not two datapoints.
		{at: 30 * time.Second, sig: sig("consumed", 80), stamp: same, want: 100},
		{at: time.Minute, sig: sig("consumed", 80), want: 115, why: ReasonScaleOut},
	})
}

func TestHPA(t *testing.T) {
	p := DefaultHPA()
	p.Signal = "busy"
	s := newScript(baseline(&HPA{P: p}), 1, 10000, 10)
	s.run(t, []step{
		// 7.5 of 10 is 107% of the 70% target: within the 0.1 tolerance.
		{at: 0, sig: sig("busy", 7.5), want: 10, why: ReasonInBand},
		// Ratio 3 asks for 30; up is limited to max(+100%, +4) = 20.
		{at: 15 * time.Second, sig: sig("busy", 21), want: 20, action: Up, why: ReasonScaleOut},
		// Within 15 s of that increase, no further increase.
		{at: 25 * time.Second, sig: sig("busy", 21), want: 20},
		{at: 30 * time.Second, sig: sig("busy", 21), want: 30, action: Up},
		// Demand falls to a third, but down follows the highest desired
		// value of the last 300 s (30, at t+30s) …
		{at: time.Minute, sig: sig("busy", 7), want: 30, why: ReasonInBand},
		{at: 5*time.Minute + 15*time.Second, sig: sig("busy", 7), want: 30},
		// … and comes down to ceil(30 × 0.333) = 10 once that has passed.
		{at: 5*time.Minute + 30*time.Second, sig: sig("busy", 7), want: 10, action: Down, why: ReasonScaleIn},
	})
	// The +4 unit policy wins for small limits: 2 → 6, not 4.
	s = newScript(baseline(&HPA{P: p}), 1, 10000, 2)
	s.run(t, []step{{at: 0, sig: sig("busy", 14), want: 6, why: ReasonScaleOut}})
	// A missing metric means no change, and above all no scale-down.
	s = newScript(baseline(&HPA{P: p}), 1, 10000, 20)
	s.run(t, []step{{at: 0, want: 20, why: ReasonMissing}})
}

func TestThreshold(t *testing.T) {
	p := DefaultThreshold()
	p.Signal = "consumed"
	p.Throttles = "throttled"
	s := newScript(baseline(&Threshold{P: p}), 1, 10000, 100)
	steps := []step{
		// Above 90%: +50%.
		{at: 0, sig: sig("consumed", 95), want: 150, action: Up, why: ReasonScaleOut},
	}
	// Below 30% for 10 checks: −50%, on the tenth.
	steps = append(steps, minutes(1, 9, step{sig: sig("consumed", 20), want: 150, why: ReasonDebounceDn})...)
	steps = append(steps,
		step{at: 10 * time.Minute, sig: sig("consumed", 20), want: 75, action: Down, why: ReasonScaleIn},
		// Between the thresholds the count starts over.
		step{at: 11 * time.Minute, sig: sig("consumed", 20), want: 75, why: ReasonDebounceDn},
		step{at: 12 * time.Minute, sig: sig("consumed", 50), want: 75, why: ReasonInBand, check: func(t *testing.T, _ *Decision, m *Memory) {
			if m.Below != 0 {
				t.Fatalf("below = %d, want 0", m.Below)
			}
		}},
		// Throttled events above throttled_upper (0) increase too.
		step{at: 13 * time.Minute, sig: sig("consumed", 20, "throttled", 3), want: 113, action: Up, why: ReasonScaleOut},
	)
	s.run(t, steps)
}

func TestStepScaling(t *testing.T) {
	p := DefaultStepScaling()
	p.Signal = "consumed"
	s := newScript(baseline(&StepScaling{P: p}), 1, 10000, 100)
	s.run(t, []step{
		// 85% breaches the 80% alarm by 5 points: the +10% step.
		{at: 0, sig: sig("consumed", 85), want: 110, action: Up, why: ReasonScaleOut},
		// Every activity starts a 300 s cooldown.
		{at: time.Minute, sig: sig("consumed", 120), want: 110, action: Hold},
		// 120 of 110 breaches by 29 points: the +30% step.
		{at: 5 * time.Minute, sig: sig("consumed", 120), want: 143, action: Up},
		// Breach of 56 points: the +50% step, 214.5 up to 215.
		{at: 10 * time.Minute, sig: sig("consumed", 195), want: 215, action: Up},
		// Below 40% for 3 periods: −20%.
		{at: 15 * time.Minute, sig: sig("consumed", 10), want: 215},
		{at: 16 * time.Minute, sig: sig("consumed", 10), want: 215},
		{at: 17 * time.Minute, sig: sig("consumed", 10), want: 172, action: Down, why: ReasonScaleIn},
	})
	// The change is at least MinAdjustmentMagnitude, one unit: 3 → 4.
	s = newScript(baseline(&StepScaling{P: p}), 1, 10000, 3)
	s.run(t, []step{{at: 0, sig: sig("consumed", 2.5), want: 4}})
}

func TestAIMD(t *testing.T) {
	p := DefaultAIMD()
	p.Signal = "busy"
	p.Throttles = "throttles"
	p.Congestion, p.CongestionAt = "pain", 5
	s := newScript(baseline(&AIMD{P: p}), 1, 1000, 10)
	s.run(t, []step{
		// Nearly used up: add one unit.
		{at: 0, sig: sig("busy", 9.5), want: 11, action: Up, why: ReasonScaleOut},
		// A throttle adds one too, however idle the average.
		{at: time.Minute, sig: sig("busy", 1, "throttles", 2), want: 12, action: Up},
		// Underused for 3 checks: multiply by 0.7 (8.4 up to 9).
		{at: 2 * time.Minute, sig: sig("busy", 3), want: 12, why: ReasonDebounceDn},
		{at: 3 * time.Minute, sig: sig("busy", 3), want: 12},
		{at: 4 * time.Minute, sig: sig("busy", 3), want: 9, action: Down, why: ReasonScaleIn},
		// Downstream congestion: multiply by 0.7 at once (6.3 up to 7).
		{at: 5 * time.Minute, sig: sig("busy", 8.5, "pain", 9), want: 7, action: Down, why: ReasonCongestion},
	})
}

func TestStatic(t *testing.T) {
	s := newScript(baseline(&Static{}), 1, 1000, 42)
	s.run(t, []step{
		{at: 0, sig: sig("busy", 1000, "throttles", 500), want: 42, action: Hold, why: ReasonStatic},
		{at: time.Minute, want: 42, action: Hold},
		{at: 2 * time.Minute, sig: sig("busy", 0), want: 42, action: Hold},
	})
	// With a value, it sets that value once and holds it.
	s = newScript(baseline(&Static{Value: 100}), 1, 1000, 42)
	s.run(t, []step{
		{at: 0, sig: sig("busy", 0), want: 100, action: Up},
		{at: time.Minute, sig: sig("busy", 1000), want: 100, action: Hold},
	})
}

// Every policy stamps when it was evaluated, and the evaluation before:
// whoever reads this target's limit judges its freshness by them.
func TestEveryPolicyStampsItsEvaluations(t *testing.T) {
	tt := DefaultTargetTracking()
	tt.Signal = "busy"
	for _, e := range []*Engine{baseline(&Static{Value: 100}), baseline(&TargetTracking{P: tt}), tuner(1, 0, Guards{})} {
		mem := NewMemory()
		for _, at := range []time.Duration{0, 15 * time.Minute} {
			_, mem = e.Decide(Input{Now: t0.Add(at), Current: 50, Min: 1, Max: 1000, Signals: Signals{"busy": Reading(35, t0.Add(at-3*time.Minute))}}, mem)
		}
		if !mem.LastEval.Equal(t0.Add(15*time.Minute)) || !mem.PrevEval.Equal(t0) {
			t.Errorf("%s: last eval %v, previous %v; want %v and %v", e.Rec.Name(), mem.LastEval, mem.PrevEval, t0.Add(15*time.Minute), t0)
		}
	}
}
