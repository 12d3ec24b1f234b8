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
// rounding, bounds again (and the zero rule), service rules.
func (e *Engine) Decide(in Input, mem Memory) (Decision, Memory) {
	mem = mem.sanitized()
	mem.Version = MemoryVersion
	if !finite(in.Min) || in.Min < 0 {
		in.Min = 0
	}
	if math.IsNaN(in.Max) || in.Max < in.Min {
		in.Max = in.Min
	}
	in.Current = sanitize(in.Current, in.Min)
	d := Decision{Policy: e.Rec.Name(), Current: in.Current}

	p := e.Rec.Recommend(&in, &mem)
	p.Value = sanitize(p.Value, in.Current)
	d.Proposed, d.Reason, d.Terms = p.Value, p.Reason, p.Terms

	c := chain{in: &in, mem: &mem, g: &e.Guards, d: &d, v: p.Value}
	c.effectiveBounds()
	c.bounds("bounds")
	c.stabilization()
	c.steps()
	c.cooldowns()
	c.deadBand()
	c.backPressure()
	c.rounding()
	c.finalBounds()
	c.service()

	d.Final = c.v
	switch {
	case d.Final > in.Current:
		d.Action = Up
		mem.LastUp = in.Now
	case d.Final < in.Current:
		d.Action = Down
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
