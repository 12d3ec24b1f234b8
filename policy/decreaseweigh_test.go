package policy

import (
	"testing"
	"time"

	"pgregory.net/rapid"
)

// weighGuards are a table's guards with a 30-minute window and its last
// free decrease kept in reserve.
func weighGuards(weigh bool) Guards {
	return Guards{Stabilization: 30 * time.Minute, Resolution: 1, DecreaseReserve: 1, WeighDecreases: weigh}
}

// scarce is a table with its free decreases spent, the last two hours
// ago: one decrease is allowed now, and the next an hour after it.
func scarce() Constraints {
	return Constraints{Decreases: DecreaseQuota{Enforced: true, Today: 5, Last: t0.Add(-2 * time.Hour)}}
}

// A table at 200 whose load has fallen to 50, while the window still
// holds a peak of 180 that leaves it in 10 minutes. Spending the hour's
// decrease now buys 180 for an hour; keeping it 10 minutes buys 50. The
// slot is kept, the record says until when, and at that time the deep
// cut is made.
func TestWeighDecreaseKeepsTheSlotForTheDeeperCut(t *testing.T) {
	s := newScript(guarded(weighGuards(true)), 5, 1000, 200)
	s.mem.Window = []Recommendation{{At: t0.Add(-20 * time.Minute), Value: 180}}
	s.run(t, []step{
		{at: 0, propose: 50, con: scarce(), want: 200, action: Hold, guards: "stabilization service",
			check: func(t *testing.T, d *Decision, _ *Memory) {
				last := d.Steps()[len(d.Steps())-1]
				if want := t0.Add(10 * time.Minute); !last.Until.Equal(want) || last.Param != 50 {
					t.Errorf("step = %+v, want until %v and the deep cut 50", last, want)
				}
			}},
		{at: 10 * time.Minute, propose: 50, con: scarce(), want: 50, action: Down},
	})
}

// Without the weighing (a baseline), the same decrease is spent at once
// on the shallow level.
func TestWeighDecreaseOffSpendsAtOnce(t *testing.T) {
	s := newScript(guarded(weighGuards(false)), 5, 1000, 200)
	s.mem.Window = []Recommendation{{At: t0.Add(-20 * time.Minute), Value: 180}}
	s.run(t, []step{{at: 0, propose: 50, con: scarce(), want: 180, action: Down}})
}

// Waiting 55 minutes of 60 at 200 costs more than the deeper cut saves:
// the shallow decrease goes now. And while free decreases remain beyond
// the reserve, the next one need not wait an hour, so nothing is weighed.
func TestWeighDecreaseOnlyWhenItPays(t *testing.T) {
	g := weighGuards(true)
	g.Stabilization = time.Hour
	s := newScript(guarded(g), 5, 1000, 200)
	s.mem.Window = []Recommendation{{At: t0.Add(-5 * time.Minute), Value: 180}}
	s.run(t, []step{{at: 0, propose: 50, con: scarce(), want: 180, action: Down}})

	s = newScript(guarded(weighGuards(true)), 5, 1000, 200)
	s.mem.Window = []Recommendation{{At: t0.Add(-20 * time.Minute), Value: 180}}
	free := Constraints{Decreases: DecreaseQuota{Enforced: true, Today: 1, Last: t0.Add(-2 * time.Hour)}}
	s.run(t, []step{{at: 0, propose: 50, con: free, want: 180, action: Down}})

	// A table raised within the hour is on a load that comes back faster
	// than the quota's spacing: its slot is spent as soon as allowed.
	s = newScript(guarded(weighGuards(true)), 5, 1000, 200)
	s.mem.Window = []Recommendation{{At: t0.Add(-20 * time.Minute), Value: 180}}
	s.mem.LastUp = t0.Add(-30 * time.Minute)
	s.run(t, []step{{at: 0, propose: 50, con: scarce(), want: 180, action: Down}})
}

// Whatever the window, the quota and the proposal, weighing a decrease
// either leaves the decision as it was or holds the current value: it
// never raises, never cuts deeper, never acts on an increase, and never
// holds while a free decrease beyond the reserve remains.
func TestWeighDecreaseProperties(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		cur := float64(rapid.IntRange(5, 2000).Draw(rt, "current"))
		prop := float64(rapid.IntRange(1, 3000).Draw(rt, "proposal"))
		today := rapid.IntRange(0, 26).Draw(rt, "decreases_today")
		ago := time.Duration(rapid.IntRange(0, 180).Draw(rt, "last_decrease_min_ago")) * time.Minute
		g := weighGuards(true)
		g.Stabilization = time.Duration(rapid.IntRange(1, 90).Draw(rt, "window_min")) * time.Minute
		g.DecreaseReserve = rapid.IntRange(0, 4).Draw(rt, "reserve")
		mem := NewMemory()
		for i := range rapid.IntRange(0, 6).Draw(rt, "entries") {
			at := t0.Add(-time.Duration(rapid.IntRange(0, 90).Draw(rt, "entry_min_ago")) * time.Minute)
			if i > 0 && at.Before(mem.Window[i-1].At) {
				at = mem.Window[i-1].At
			}
			mem.Window = append(mem.Window, Recommendation{At: at, Value: float64(rapid.IntRange(1, 3000).Draw(rt, "entry"))})
		}
		q := DecreaseQuota{Enforced: true, Today: today, Last: t0.Add(-ago)}
		in := Input{Now: t0, Current: cur, Min: 1, Max: 5000, Constraints: Constraints{Decreases: q}}
		decide := func(weigh bool) Decision {
			g.WeighDecreases = weigh
			e := &Engine{Rec: &fixed{v: prop}, Guards: g}
			d, _ := e.Decide(in, mem.Clone())
			return d
		}
		off, on := decide(false), decide(true)
		if on.Final != off.Final && on.Final != cur {
			rt.Fatalf("weighed %v, unweighed %v, current %v\n%s", on.Final, off.Final, cur, on.Explain())
		}
		if on.Final != off.Final && (off.Final >= cur || q.FreeLeft(t0)-1 > g.DecreaseReserve) {
			rt.Fatalf("held %v → %v where it may not\n%s", cur, off.Final, on.Explain())
		}
	})
}
