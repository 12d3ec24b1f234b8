package policy

import (
	"math"
)

// Engine is a Recommender with the guard chain around it. Every policy,
// baseline or not, is run through an Engine, so bounds, service rules and
// back-pressure hold whichever policy is chosen.
type Engine struct {
	Rec    Recommender
	Guards Guards
}

var _ Policy = (*Engine)(nil)

// Decide runs the recommender, then the guards in this order:
// bounds, stabilization, step caps, cooldowns, dead band, back-pressure,
// rounding, the smallest decrease, bounds again (and the zero rule),
// service rules, the weighing of a scarce decrease.
func (e *Engine) Decide(in Input, mem Memory) (Decision, Memory) {
	mem = mem.sanitized()
	mem.Version = MemoryVersion
	prev := mem.LastEval // before the recommender stamps it
	if !finite(in.Min) || in.Min < 0 {
		in.Min = 0
	}
	if math.IsNaN(in.Max) || in.Max < in.Min {
		in.Max = in.Min
	}
	in.Current = sanitize(in.Current, in.Min)
	d := Decision{Policy: e.Rec.Name(), Current: in.Current}

	p := e.recommend(&in, &mem)
	p.Value = sanitize(p.Value, in.Current)
	p.Terms.finite()
	p.Reason.Value, p.Reason.Param = clampFinite(p.Reason.Value), clampFinite(p.Reason.Param)
	d.Proposed, d.Reason, d.Terms = p.Value, p.Reason, p.Terms

	c := chain{in: &in, mem: &mem, g: &e.Guards, d: &d, v: p.Value, window: p.Window, windowValue: sanitize(p.WindowValue, p.Value), evidence: sanitize(p.Evidence, 0)}
	c.effectiveBounds()
	c.bounds("bounds")
	c.stabilization()
	c.steps()
	c.cooldowns()
	c.deadBand()
	c.backPressure()
	c.rounding()
	c.minDecrease()
	c.finalBounds()
	c.service()
	c.weighDecrease()
	c.noDecreaseWithoutData(p.Reason.Code)

	// Every policy: how fresh this memory is, and how often it is
	// evaluated, for whoever reads this target's limit.
	if prev.Before(in.Now) {
		mem.PrevEval = prev
	}
	mem.LastEval = in.Now
	d.Final = c.v
	switch {
	case d.Final > in.Current:
		d.Action = Up
		if d.Reason.Code != ReasonAdmitted {
			// Following the door in front is not this limit undoing
			// its own decrease: no flap.
			e.Guards.learnFlaps(&mem, in.Now, Up, c.cut) // before LastUp moves
		}
		mem.LastUp = in.Now
	case d.Final < in.Current:
		d.Action = Down
		e.Guards.learnFlaps(&mem, in.Now, Down, c.cut) // before LastDown moves
		mem.LastDown = in.Now
	default:
		d.Action = Hold
	}
	if d.Action != Hold {
		mem.LastDir = d.Action
	}
	// Anti-windup: the integral freezes while the output is saturated or
	// the actuator is blocked.
	mem.Saturated = c.sat || (c.hold && p.Value != in.Current)
	d.Terms.Frozen = d.Terms.Frozen || mem.Saturated
	return d, mem
}

// sanitize replaces a NaN or infinite value, which no knob can take.
func sanitize(v, fallback float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		if math.IsNaN(fallback) || math.IsInf(fallback, 0) {
			return 0
		}
		return fallback
	}
	return v
}

// clampFinite keeps an explanatory number printable: the audit record is
// JSON, which has no NaN or infinity, and one such number would lose the
// whole record.
func clampFinite(v float64) float64 {
	switch {
	case math.IsNaN(v):
		return 0
	case math.IsInf(v, 1):
		return math.MaxFloat64
	case math.IsInf(v, -1):
		return -math.MaxFloat64
	}
	return v
}

func (t *Terms) finite() {
	for _, p := range []*float64{&t.Demand, &t.Error, &t.P, &t.I, &t.D, &t.Throttle, &t.Band, &t.Count, &t.Forecast, &t.Evidence} {
		*p = clampFinite(*p)
	}
}

// recommend calls the recommender. The policies of this package are called
// through their concrete types: a call through the interface makes the
// compiler move in and mem to the heap on every decision, and Decide is
// meant to allocate nothing. Any other Recommender works through a copy,
// so that only its own calls pay for that.
func (e *Engine) recommend(in *Input, mem *Memory) Proposal {
	switch r := e.Rec.(type) {
	case *Autotuner:
		return r.Recommend(in, mem)
	case *TargetTracking:
		return r.Recommend(in, mem)
	case *HPA:
		return r.Recommend(in, mem)
	case *StepScaling:
		return r.Recommend(in, mem)
	case *Threshold:
		return r.Recommend(in, mem)
	case *AIMD:
		return r.Recommend(in, mem)
	case *Static:
		return r.Recommend(in, mem)
	}
	in2, mem2 := *in, *mem
	p := e.Rec.Recommend(&in2, &mem2)
	*mem = mem2
	return p
}
