package policy

import (
	"math"
	"time"
)

// estimate is what one evaluation's readings say about the capacity this
// limit needs: the first stage of the autotuner, before any band,
// debounce or gain is applied.
type estimate struct {
	demand      float64 // highest demand ratio (required / current limit)
	driver      string  // the signal that set it
	driverValue float64
	driverSet   float64
	// driverCount is how many events one unit of the driver's value
	// stands for over its period (0: not a count), for the noise band.
	driverCount float64
	driverSP    *Setpoint

	twoSided int
	missing  string
	// newest is the newest datapoint read; oldestTwoSided the oldest
	// datapoint among the two-sided setpoints, which a decrease acts on.
	newest         time.Time
	oldestTwoSided time.Time

	throttled      float64 // throttles in the newest throttle datapoint
	throttleDemand float64 // the demand ratio those throttles reveal (0: none new)
	// evidence: the throttle demand was measured from the share of
	// requests turned away (offered ÷ served), not guessed by a boost.
	evidence bool

	// predicted is the demand ratio the upstream arrivals predict
	// (feed-forward). It never drives a decrease, and no decrease goes
	// below it: a limit cut upstream (back-pressure) lowers this
	// target's own load, not the traffic still waiting for it.
	predicted float64
	// sized is the highest demand ratio of the setpoints alone, before
	// the throttles: what the measured load asks for.
	sized float64
}

func (e *estimate) consider(ratio float64, sp *Setpoint, value float64) {
	ratio = math.Min(ratio, maxDemand)
	if ratio > e.demand || e.driver == "" {
		e.demand, e.driver, e.driverValue, e.driverSet = ratio, sp.Signal, value, sp.Target
		e.driverCount, e.driverSP = sp.Count, sp
	}
}

// estimateDemand reads every setpoint and the throttle counter.
func (a *Autotuner) estimateDemand(in *Input, mem *Memory, base float64) estimate {
	var est estimate
	for i := range a.P.Setpoints {
		sp := &a.P.Setpoints[i]
		if !sp.Floor {
			a.setpointDemand(in, mem, base, sp, &est)
		}
	}
	est.sized = est.demand
	a.throttleDemand(in, mem, base, &est)
	if in.Alarm {
		est.throttleDemand = math.Max(est.throttleDemand, 1+math.Max(2*a.P.Band, 0.2))
	}
	if est.throttleDemand > 0 && est.throttleDemand >= est.demand {
		est.demand, est.driver, est.driverValue, est.driverSet = est.throttleDemand, "throttles", est.throttled, 0
		est.driverCount, est.driverSP = 0, nil
	}
	return est
}

// setpointDemand adds one setpoint's demand ratio to est.
func (a *Autotuner) setpointDemand(in *Input, mem *Memory, base float64, sp *Setpoint, est *estimate) {
	s := in.Signals[sp.Signal]
	if !s.Present() {
		if !sp.UpOnly && est.missing == "" {
			est.missing = sp.Signal
		}
		return
	}
	if s.At.After(est.newest) {
		est.newest = s.At
	}
	v, ok := a.setpointValue(in, base, sp, s)
	if !ok {
		return // without the duration there is no prediction
	}
	ratio := v / sp.Target
	if sp.PerLimit {
		ratio = v / (sp.Target * base)
	}
	if sp.FeedForward() {
		est.predicted = math.Max(est.predicted, math.Min(ratio, maxDemand))
	}
	if sp.UpOnly {
		if ratio <= 1 {
			return // a healthy backlog has no opinion about decreases
		}
		if !sp.FeedForward() && !s.At.IsZero() && !mem.underLimitInForce(s.At) {
			// A backlog measured before the last increase describes
			// the old limit; it drains with a lag, so pushing again on
			// it would double into an overshoot. Wait for a datapoint
			// taken under the new limit.
			return
		}
	} else {
		est.twoSided++
		if est.oldestTwoSided.IsZero() || s.At.Before(est.oldestTwoSided) {
			est.oldestTwoSided = s.At
		}
	}
	est.consider(ratio, sp, s.Value)
}

// setpointValue is the setpoint's signal in the limit's units: the
// backlog added while this knob is the bottleneck, the factors applied,
// an arrival rate capped at what the limit in front admits. It reports
// false when a factor signal is missing.
func (a *Autotuner) setpointValue(in *Input, base float64, sp *Setpoint, s Signal) (float64, bool) {
	v := math.Max(s.Value, 0)
	if c := sp.Cap; c != "" {
		// Only what the upstream limit lets through reaches this one:
		// requests turned away at the front need no capacity here.
		if l := in.Signals[c]; l.Present() && l.Value >= 0 {
			v = math.Min(v, l.Value)
		}
	}
	if sp.Backlog != "" && sp.Drain > 0 && a.saturated(in, base) {
		// The queue is this knob's demand only while this knob is a
		// bottleneck: a queue held back elsewhere (a consumer cut by
		// back-pressure) cannot be drained through it any faster.
		if b := in.Signals[sp.Backlog]; b.Present() {
			v += math.Max(b.Value, 0) / sp.Drain
		}
	}
	if sp.Factor != 0 {
		v *= sp.Factor
	}
	if sp.FactorSignal != "" {
		f := in.Signals[sp.FactorSignal]
		if !f.Present() {
			return 0, false
		}
		v *= math.Max(f.Value, 0) * sp.FactorScale
	}
	return v, true
}

// throttleDemand reads the throttle counter into est: whether this period
// throttled, and, for a datapoint not counted before and taken under the
// limit now in force, how much more capacity the throttles ask for.
func (a *Autotuner) throttleDemand(in *Input, mem *Memory, base float64, est *estimate) {
	t := a.P.Throttles
	if t == nil {
		return
	}
	s := in.Signals[t.Signal]
	if !s.Present() {
		if est.missing == "" {
			// Without the counter nobody knows whether requests were
			// turned away, so it blocks decreases as any missing signal
			// does. A sparse counter says `missing: zero` to avoid this.
			est.missing = t.Signal
		}
		return
	}
	if s.At.After(est.newest) {
		est.newest = s.At
	}
	// A throttle datapoint counts once, and only if its period began
	// under the limit now in force: throttles of a period that started
	// before the last increase describe a limit that is gone, and would
	// push it up a second time. A period that starts at the very tick of
	// an increase, or while the service still reported the knob locked
	// (a table stays UPDATING for minutes after a change), ran under the
	// old limit for at least part of it, so it is not current.
	unseen := s.At.IsZero() || s.At.After(mem.LastThrottle)
	current := s.At.IsZero() || mem.underLimitInForce(s.At)
	if s.At.After(mem.LastThrottle) {
		mem.LastThrottle = s.At
	}
	if s.Value <= 0 {
		return
	}
	est.throttled = s.Value
	if at := s.At; at.IsZero() {
		mem.Throttled = in.Now
	} else if at.After(mem.Throttled) {
		mem.Throttled = at
	}
	if !unseen || !current {
		return
	}
	d := 1 + math.Max(t.Boost, 2*a.P.Band)
	if ratio, ok := a.throttleShare(in, base, t, s); ok && ratio > d {
		d, est.evidence = ratio, true
	}
	est.throttleDemand = math.Min(d, maxDemand)
}

// throttleShare is the demand ratio the share of throttled requests
// reveals: offered ÷ served is how much more the period needed than it
// got. What it got is best read from the utilization signal of the same
// period (the capacity actually used, in the limit's units): that makes
// the estimate absolute, so a limit raised since, or a change still
// taking effect, is not multiplied a second time. Without it, served ≈
// the current limit. It reports false when the request count is missing.
func (a *Autotuner) throttleShare(in *Input, base float64, t *ThrottleSpec, s Signal) (float64, bool) {
	if t.Requests == "" {
		return 0, false
	}
	r := in.Signals[t.Requests]
	if !r.Present() {
		return 0, false
	}
	served, offered := r.Value, r.Value+s.Value
	if t.Offered {
		// The count includes the requests turned away (API Gateway's
		// Count counts the 429s it answered).
		served, offered = r.Value-s.Value, r.Value
	}
	if served <= 0 {
		return 0, false
	}
	ratio := offered / served
	if u := a.utilTarget(); u > 0 {
		ratio /= u
	}
	if used, ok := a.usedAt(in, s.At); ok {
		// The utilization signal of an API counts the rejected requests
		// too: the capacity it used is only the served part.
		if t.Offered && used > 0 && r.Value > 0 {
			used *= served / r.Value
		}
		ratio *= used / base
	}
	return ratio, true
}
