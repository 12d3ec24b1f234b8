package policy

import (
	"fmt"
	"testing"
	"time"

	"pgregory.net/rapid"
)

var gsT0 = time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)

// region is one regional bucket of a global limit, as the tests play it.
type region struct {
	eng    *Engine
	mem    Memory
	limit  float64
	min    float64
	demand float64
}

// newRegions builds n regions whose GlobalShare policies name each other.
func newRegions(global float64, limits, mins []float64, g Guards) []*region {
	rs := make([]*region, len(limits))
	for i := range limits {
		p := GlobalShareParams{Global: global, Own: demandOf(i), Resolution: 0.01}
		for j := range limits {
			if j != i {
				p.Peers = append(p.Peers, Peer{Name: fmt.Sprint("r", j), Limit: fmt.Sprint("limit_", j), Min: mins[j], Demand: demandOf(j)})
			}
		}
		g.Resolution = 0.01
		rs[i] = &region{eng: &Engine{Rec: &GlobalShare{P: p}, Guards: g}, mem: NewMemory(), limit: limits[i], min: mins[i]}
	}
	return rs
}

func demandOf(i int) Demand {
	return Demand{Acquired: fmt.Sprint("acquired_", i), Denied: fmt.Sprint("denied_", i)}
}

// tick lets every region decide from one snapshot of all limits and
// demands (as the controller reads other targets' limits once per tick),
// then applies the decisions; a region in failed keeps its limit, as when
// its change is refused. It returns each region's decision.
func tick(rs []*region, now time.Time, missing map[string]bool, failed map[int]bool) []Decision {
	sig := Signals{}
	for j, r := range rs {
		sig[fmt.Sprint("limit_", j)] = Signal{Value: r.limit, Valid: true}
		sig[fmt.Sprint("acquired_", j)] = Reading(r.demand*0.8, now.Add(-3*time.Minute))
		sig[fmt.Sprint("denied_", j)] = Reading(r.demand*0.2, now.Add(-3*time.Minute))
	}
	for k := range missing {
		delete(sig, k)
	}
	out := make([]Decision, len(rs))
	for i, r := range rs {
		d, m := r.eng.Decide(Input{Now: now, Current: r.limit, Min: r.min, Max: 1e6, Signals: sig}, r.mem)
		out[i] = d
		if !failed[i] {
			r.mem = m
		}
	}
	for i, r := range rs {
		if !failed[i] {
			r.limit = out[i].Final
		}
	}
	return out
}

// TestGlobalShareLowersFirst is the script: 500 rps shared by two regions
// at 250 each. us-east-1's demand grows to 300 and eu-west-1's falls to
// 100. In the first tick eu-west-1 lowers to its share and us-east-1, with
// no headroom yet, waits; in the second us-east-1 takes the room.
func TestGlobalShareLowersFirst(t *testing.T) {
	rs := newRegions(500, []float64{250, 250}, []float64{10, 10}, Guards{})
	rs[0].demand, rs[1].demand = 300, 100
	d := tick(rs, gsT0, nil, nil)
	if d[0].Reason.Code != ReasonShareWait || rs[0].limit != 250 {
		t.Fatalf("t+0 us-east-1: %s → %v, want to wait at 250", d[0].Reason.Code, rs[0].limit)
	}
	if d[1].Reason.Code != ReasonShareLower || rs[1].limit != 130 {
		t.Fatalf("t+0 eu-west-1: %s → %v, want lowered to 10 + 480×100/400 = 130", d[1].Reason.Code, rs[1].limit)
	}
	d = tick(rs, gsT0.Add(time.Minute), nil, nil)
	if d[0].Reason.Code != ReasonShareRaise || rs[0].limit != 370 {
		t.Fatalf("t+1m us-east-1: %s → %v, want raised to 370", d[0].Reason.Code, rs[0].limit)
	}
	d = tick(rs, gsT0.Add(2*time.Minute), map[string]bool{"denied_1": true}, nil)
	if d[0].Reason.Code != ReasonMissing || d[0].Reason.Signal != "denied_1" || rs[0].limit != 370 {
		t.Fatalf("t+2m with eu-west-1's denials missing: %s (%s) → %v, want a hold", d[0].Reason.Code, d[0].Reason.Signal, rs[0].limit)
	}
}

// TestGlobalShareNeverExceeds: with any number of regions, any demands
// changing every tick, any starting shares within the limit, readings
// going missing and changes failing at random, and the guards of the
// engine around the policy, the shares in force never sum above the
// global limit; and once demand holds still and nothing fails, they reach
// the allocation.
func TestGlobalShareNeverExceeds(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(2, 5).Draw(t, "regions")
		global := rapid.Float64Range(10, 5000).Draw(t, "global")
		mins, limits := make([]float64, n), make([]float64, n)
		left := global
		for i := range mins {
			mins[i] = quantize(rapid.Float64Range(0.01, global/float64(2*n)).Draw(t, "min"), 0.01, true)
			limits[i] = mins[i]
			left -= mins[i]
		}
		for i := range limits { // start anywhere within the limit
			extra := quantize(rapid.Float64Range(0, left/float64(n)).Draw(t, "extra"), 0.01, false)
			limits[i] += extra
		}
		g := Guards{}
		guarded := rapid.Bool().Draw(t, "guards")
		if guarded {
			g.StepUp, g.StepDown = Step{Pct: 0.5}, Step{Pct: 0.2}
			g.CooldownDown = 2 * time.Minute
		}
		rs := newRegions(global, limits, mins, g)
		now := gsT0
		check := func(when string) {
			var sum float64
			for _, r := range rs {
				sum += r.limit
			}
			if sum > global*(1+1e-9)+1e-9 {
				t.Fatalf("%s: shares sum to %v > global %v", when, sum, global)
			}
		}
		check("start")
		for k := 0; k < rapid.IntRange(1, 30).Draw(t, "ticks"); k++ {
			for _, r := range rs {
				if rapid.Bool().Draw(t, "demand_changes") {
					r.demand = rapid.Float64Range(0, 2*global).Draw(t, "demand")
				}
			}
			missing, failed := map[string]bool{}, map[int]bool{}
			if rapid.IntRange(0, 4).Draw(t, "trouble") == 0 {
				missing[fmt.Sprint("acquired_", rapid.IntRange(0, n-1).Draw(t, "which"))] = true
				failed[rapid.IntRange(0, n-1).Draw(t, "which")] = true
			}
			now = now.Add(time.Minute)
			tick(rs, now, missing, failed)
			check(fmt.Sprint("tick ", k))
		}
		if guarded {
			return
		}
		demands := make([]float64, n)
		for i, r := range rs {
			demands[i] = r.demand
		}
		alloc := Allocate(global, demands, mins)
		for k := 0; k < 4; k++ {
			now = now.Add(time.Minute)
			tick(rs, now, nil, nil)
			check("settling")
		}
		// A share lies on the knob's 0.01 grid, so it may sit up to one
		// step above an allocation that falls between two steps (4999 for
		// 4998.999995); the sum above never exceeds the global limit.
		for i, r := range rs {
			if d := alloc[i] - r.limit; d > 0.01*float64(n)+1e-6 || d < -0.01-1e-6 {
				t.Fatalf("region %d settled at %v, allocation %v", i, r.limit, alloc[i])
			}
		}
	})
}
