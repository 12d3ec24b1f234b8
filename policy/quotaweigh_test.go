package policy

import (
	"math"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// tableTuner is the autotuner on a provisioned table's writes, as the
// built-in policies configure it: consumed/limit at 70%, throttle events
// against the writes of the same period, the default boost of 50%.
func tableTuner() *Engine {
	p := DefaultAutotuner()
	p.Setpoints = []Setpoint{{Signal: "consumed", Target: 0.7, PerLimit: true}}
	p.Throttles = &ThrottleSpec{Signal: "throttled", Requests: "writes", Boost: 0.5}
	g := lambdaGuards()
	g.DecreaseReserve, g.MinSaving = 1, 0.1
	return &Engine{Rec: &Autotuner{P: p}, Guards: g}
}

// spentQuota is a table that has used its 4 free decreases today, the
// last 10 minutes before t0: the next decrease waits until t0+50m.
func spentQuota() Constraints {
	return Constraints{Decreases: DecreaseQuota{Enforced: true, Today: 4, Last: t0.Add(-10 * time.Minute)}}
}

// smallBand is the band the autotuner uses at a limit of cur with no
// count to size its noise: one over √(load in units).
func smallBand(cur float64) float64 { return 1 / math.Sqrt(cur*0.7) }

// A table at its setpoint throttles two writes out of 3,060 in one minute:
// a peak within the second, not a load the table cannot carry. The
// throttle boost would raise it 50% (75 → 113) and that capacity would be
// held until the quota lets it down, an hour; the raise stops at the two
// throttled writes plus one noise band, and the audit record says why.
// Throttles again under that partial raise show the burst is not short:
// the next raise is the full one.
func TestQuotaWeighedPartialRaiseThenFull(t *testing.T) {
	s := newScript(tableTuner(), 5, 4000, 75)
	partial := math.Ceil(75 + 2 + smallBand(75)*75)
	s.run(t, []step{
		{at: 0, sig: sig("consumed", 51.0, "throttled", 2, "writes", 3060), con: spentQuota(),
			want: partial, action: Up, why: ReasonQuotaWeighed, check: func(t *testing.T, d *Decision, m *Memory) {
				if d.Reason.Value != 2 || d.Reason.Param <= 0 {
					t.Errorf("reason = %+v, want the 2 throttles and the units not bought", d.Reason)
				}
				if want := t0.Add(50 * time.Minute); !d.Reason.Until.Equal(want) {
					t.Errorf("until = %v, want %v (the quota's next decrease)", d.Reason.Until, want)
				}
				if !m.Weighed.Equal(t0) {
					t.Errorf("memory weighed = %v, want %v", m.Weighed, t0)
				}
			}},
		// The next datapoints were taken under the partial raise and
		// throttle again: full boost.
		{at: 5 * time.Minute, sig: sig("consumed", 60.0, "throttled", 40, "writes", 3600), con: spentQuota(),
			want: math.Ceil(partial * 1.5), action: Up, why: ReasonThrottled},
	})
}

// Where a function's concurrency comes down the next minute, there is no
// quota to weigh: the same throttles raise it by the full boost.
func TestQuotaWeighOnlyWhereTheQuotaIsEnforced(t *testing.T) {
	s := newScript(tableTuner(), 5, 4000, 75)
	s.run(t, []step{
		{at: 0, sig: sig("consumed", 51.0, "throttled", 2, "writes", 3060),
			want: math.Ceil(75 * 1.5), action: Up, why: ReasonThrottled},
	})
}

// A measured throttle share is evidence of the need, not a guess: a
// table that turned away a third of its writes gets what they measure.
func TestQuotaWeighLeavesEvidenceAlone(t *testing.T) {
	s := newScript(tableTuner(), 5, 4000, 75)
	s.run(t, []step{
		{at: 0, sig: sig("consumed", 74.0, "throttled", 2200, "writes", 4440), con: spentQuota(),
			action: Up, why: ReasonThrottled, want: math.Ceil((4440.0 + 2200) / 4440 / 0.7 * 74)},
	})
}

// Whatever the table, its load and its throttles, weighing the decrease
// quota never raises more than the unweighed policy would, still raises
// on a throttle, covers at least the throttled requests (or the whole
// unweighed raise when that is smaller), and never goes below what the
// measured load asks for.
func TestQuotaWeighProperties(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		cur := float64(rapid.IntRange(5, 3000).Draw(rt, "current"))
		util := rapid.Float64Range(0, 1).Draw(rt, "utilization")
		thr := float64(rapid.IntRange(1, 100000).Draw(rt, "throttled"))
		served := math.Round(util * cur * 60)
		today := rapid.IntRange(0, 27).Draw(rt, "decreases_today")
		ago := time.Duration(rapid.IntRange(0, 180).Draw(rt, "last_decrease_min_ago")) * time.Minute
		stamp := t0.Add(-readingDelay)
		sigs := Signals{"consumed": Reading(util*cur, stamp), "throttled": Reading(thr, stamp), "writes": Reading(served, stamp)}
		decide := func(enforced bool) Decision {
			con := Constraints{Decreases: DecreaseQuota{Enforced: enforced, Today: today, Last: t0.Add(-ago)}}
			d, _ := tableTuner().Decide(Input{Now: t0, Current: cur, Min: 5, Max: 40000, Signals: sigs, Constraints: con}, NewMemory())
			return d
		}
		free, weighed := decide(false), decide(true)
		if weighed.Final > free.Final {
			rt.Fatalf("weighed %v above unweighed %v\n%s", weighed.Final, free.Final, weighed.Explain())
		}
		if weighed.Final <= cur {
			rt.Fatalf("throttled, yet no raise: %v\n%s", weighed.Final, weighed.Explain())
		}
		if floor := math.Min(free.Final, cur+thr); weighed.Final < floor-1e-9 {
			rt.Fatalf("weighed %v below %v (throttles covered)\n%s", weighed.Final, floor, weighed.Explain())
		}
		if need := util * cur / 0.7; weighed.Final < math.Min(need, free.Final)-1e-9 {
			rt.Fatalf("weighed %v below the measured need %v\n%s", weighed.Final, need, weighed.Explain())
		}
		if weighed.Reason.Code == ReasonQuotaWeighed && weighed.Reason.Value != thr {
			rt.Fatalf("reason value %v, want the %v throttles", weighed.Reason.Value, thr)
		}
	})
}

// BenchmarkDecideTable runs the autotuner on a provisioned table with the
// decrease quota enforced and spent, so the quota weighing (before a
// raise) and the decrease weighing (before a decrease) are on the path:
// one decision a minute, a sawtooth of load with throttles at its peaks.
func BenchmarkDecideTable(b *testing.B) {
	e := tableTuner()
	e.Guards.WeighDecreases = true
	mem := NewMemory()
	cur := 100.0
	sigs := Signals{}
	now := t0
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		now = now.Add(time.Minute)
		at := now.Add(-readingDelay)
		used := 40 + float64(i%60)
		thr := 0.0
		if i%60 > 50 {
			thr = 3
		}
		sigs["consumed"] = Reading(used, at)
		sigs["throttled"] = Reading(thr, at)
		sigs["writes"] = Reading(used*60, at)
		con := Constraints{Decreases: DecreaseQuota{Enforced: true, Today: 5, Last: now.Add(-30 * time.Minute)}}
		d, m := e.Decide(Input{Now: now, Current: cur, Min: 5, Max: 4000, Signals: sigs, Constraints: con}, mem)
		cur, mem = d.Final, m
	}
}
