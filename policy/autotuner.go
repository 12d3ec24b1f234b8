package policy

import (
	"math"
	"time"
)

// Setpoint asks that a signal stay near a target value.
//
// With PerLimit set the signal is divided by the current limit first, so a
// ConcurrentExecutions of 35 under a reservation of 50 reads as 70%; that is
// a utilization. Otherwise the signal is compared as it is (a queue age of
// 90 s against a target of 60 s).
//
// A two-sided setpoint can ask for less capacity as well as more; an
// up-only one (a backlog, which is near zero whenever all is well) can only
// ask for more.
type Setpoint struct {
	Signal   string  `json:"signal"`
	Target   float64 `json:"target"`
	PerLimit bool    `json:"per_limit,omitempty"`
	UpOnly   bool    `json:"up_only,omitempty"`
	// Factor and FactorSignal turn the signal into the limit's units
	// before comparing: the signal is multiplied by Factor (when not 0)
	// and by FactorSignal's value × FactorScale (when named). Feed-forward
	// uses them: an upstream arrival rate × a function's duration is the
	// concurrency it will need (Little's law), a rate × write units per
	// request is the capacity a table will need. When FactorSignal is
	// missing the setpoint has no opinion.
	Factor       float64 `json:"factor,omitempty"`
	FactorSignal string  `json:"factor_signal,omitempty"`
	FactorScale  float64 `json:"factor_scale,omitempty"`
	// Backlog names the depth of a queue waiting upstream (messages, as
	// SQS's real-time ApproximateNumberOfMessages). Feed-forward adds
	// depth ÷ Drain (seconds) to the arrival rate: the rate that drains
	// the queue within Drain on top of the inflow. A missing depth adds
	// nothing.
	Backlog string  `json:"backlog,omitempty"`
	Drain   float64 `json:"drain,omitempty"`
	// Floor makes the setpoint a hard lower bound instead of a demand:
	// what it asks for (the signal × its factors ÷ Target, in the
	// limit's units) is the least the limit may be. It is served at
	// once, whatever the band, the debounce or the other signals, and no
	// decrease goes below it. Its signal is a live value with no period
	// (the rate an API in front admits), so it never counts as a new
	// datapoint. When FactorSignal is missing, the last value seen is
	// used (Memory.FloorFactor): a function that idles publishes no
	// duration, and that is exactly when a burst would find it small.
	Floor bool `json:"floor,omitempty"`
}

// FeedForward reports whether the setpoint predicts demand from an
// upstream measurement rather than measuring this limit's own load.
func (sp *Setpoint) FeedForward() bool { return sp.Factor != 0 || sp.FactorSignal != "" }

// ThrottleSpec names the throttle counter and, optionally, the count of
// requests that were served in the same period. With both, the share of
// throttled requests sets how much more capacity is needed; with the
// counter alone any throttle asks for at least Boost more.
type ThrottleSpec struct {
	Signal   string  `json:"signal"`
	Requests string  `json:"requests,omitempty"`
	Boost    float64 `json:"boost"`
}

// PID gains act on the normalized error and produce a relative change of
// the limit, so the same gains serve a limit of 10 and one of 10,000.
type PID struct {
	Kp, Ki, Kd float64
	// DFilter is the weight of the newest derivative sample in its
	// exponential filter (1 = no filtering).
	DFilter float64
	// IntegralLimit clamps the integral (anti-windup).
	IntegralLimit float64
}

// AutotunerParams configure the default policy.
type AutotunerParams struct {
	Setpoints []Setpoint
	Throttles *ThrottleSpec
	Band      float64 // hysteresis band around the setpoint, relative (0.1 = ±10%)
	PID       PID
	UpAfter   int // consecutive evaluations above the band before acting up
	DownAfter int // consecutive evaluations below the band before acting down
}

// DefaultAutotuner holds the defaults of the autotuner policy. Guards such
// as step caps and cooldowns have their own defaults in the config.
func DefaultAutotuner() AutotunerParams {
	return AutotunerParams{
		Band:      0.10,
		PID:       PID{Kp: 0.9, Ki: 0.05, Kd: 0.0, DFilter: 0.5, IntegralLimit: 0.5},
		UpAfter:   1,
		DownAfter: 5,
	}
}

// Autotuner is the default policy: a hysteresis band around the setpoints,
// with a PID controller on the normalized error whose output is a relative
// change of the limit. It is throttle-aware: a throttle is direct evidence
// that the limit is too low, whatever the average utilization says.
//
// Several signals combine as follows. Each present signal yields a demand
// ratio (required capacity / current limit). An increase follows the
// highest ratio; a decrease needs every two-sided signal present and below
// the band, and the throttle counter present (a sparse counter says
// `missing: zero`). A missing signal therefore blocks decreases, never
// increases driven by the others.
//
// Each datapoint acts once: the counters advance and a change is proposed
// only on a datapoint newer than the last one seen, and a throttle
// datapoint counts only once, and only if its period began after the last
// increase (before that it describes a limit no longer in force).
type Autotuner struct{ P AutotunerParams }

var _ Recommender = (*Autotuner)(nil)

func (a *Autotuner) Name() string { return "autotuner" }

// maxDemand caps a demand ratio so that an empty limit or a huge spike
// cannot produce an infinite proposal; the step guards damp it further.
const maxDemand = 100

func (a *Autotuner) Recommend(in *Input, mem *Memory) Proposal {
	floor, sp, rate := a.floor(in, mem)
	// A floor above what may be set is served as far as it can be: at
	// max (or the service's ceiling) it holds, rather than letting the
	// data take the limit down only for the floor to raise it again.
	hi := in.Max
	if c := in.Constraints.Ceiling; c > 0 && c < hi {
		hi = c
	}
	floor = min(floor, hi)
	integral := mem.Integral
	prop := a.recommend(in, mem)
	if floor <= 0 || prop.Value >= floor {
		return prop
	}
	// The floor, not the controller, sets this output: the error of
	// this datapoint must not wind the integral up (or down) meanwhile.
	mem.Integral = integral
	cur := in.Current
	switch {
	case floor > cur:
		// Serve what the door in front admits, now: no band, no
		// debounce, no fresh datapoint needed. It is absolute, so
		// asking again next tick cannot compound.
		prop.Value = floor
		prop.Reason = Reason{Code: ReasonAdmitted, Signal: sp.Signal, Value: rate, Param: floor}
		prop.Terms.Driver = sp.Signal
	case prop.Value < cur:
		// A decrease stops at the floor.
		prop.Value = floor
		if floor >= cur {
			prop.Reason = Reason{Code: ReasonInBand, Signal: sp.Signal, Value: rate, Param: floor}
		}
	}
	return prop
}

// floor is the highest hard lower bound the Floor setpoints ask for, in
// the limit's units, with the setpoint and the signal value behind it; 0
// when there is none. It remembers the factor signal's last value.
func (a *Autotuner) floor(in *Input, mem *Memory) (floor float64, by *Setpoint, rate float64) {
	for i := range a.P.Setpoints {
		sp := &a.P.Setpoints[i]
		if !sp.Floor {
			continue
		}
		s := in.Signals[sp.Signal]
		v := s.Value
		if sp.Factor != 0 {
			v *= sp.Factor
		}
		if sp.FactorSignal != "" {
			f := in.Signals[sp.FactorSignal]
			if f.Present() && f.Value > 0 && !math.IsInf(f.Value, 0) {
				mem.FloorFactor = f.Value
			}
			if mem.FloorFactor <= 0 {
				continue // never seen: no floor yet
			}
			v *= mem.FloorFactor * sp.FactorScale
		}
		if !s.Present() || sp.Target <= 0 || math.IsNaN(v) || math.IsInf(v, 0) || v <= 0 {
			continue
		}
		if need := v / sp.Target; need > floor {
			floor, by, rate = need, sp, s.Value
		}
	}
	return floor, by, rate
}

func (a *Autotuner) recommend(in *Input, mem *Memory) Proposal {
	p := &a.P
	cur := in.Current
	base := math.Max(cur, 1e-9)
	a.observeLock(in, mem)

	var (
		demand      = 0.0
		driver      string
		driverValue float64
		driverSet   float64
		twoSided    int
		missing     string
		newest      time.Time
		throttled   float64
		// predicted is the demand ratio the upstream arrivals predict
		// (feed-forward). It never drives a decrease, and no decrease
		// goes below it: a limit cut upstream (back-pressure) lowers this
		// target's own load, not the traffic still waiting for it.
		predicted float64
	)
	consider := func(ratio float64, name string, value, set float64) {
		ratio = math.Min(ratio, maxDemand)
		if ratio > demand || driver == "" {
			demand, driver, driverValue, driverSet = ratio, name, value, set
		}
	}
	for i := range p.Setpoints {
		sp := &p.Setpoints[i]
		if sp.Floor {
			continue // a bound, applied after the decision (floor)
		}
		s := in.Signals[sp.Signal]
		if !s.Present() {
			if !sp.UpOnly && missing == "" {
				missing = sp.Signal
			}
			continue
		}
		if s.At.After(newest) {
			newest = s.At
		}
		v := math.Max(s.Value, 0)
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
				continue // without the duration there is no prediction
			}
			v *= math.Max(f.Value, 0) * sp.FactorScale
		}
		var ratio float64
		if sp.PerLimit {
			ratio = v / (sp.Target * base)
		} else {
			ratio = v / sp.Target
		}
		if sp.FeedForward() {
			predicted = math.Max(predicted, math.Min(ratio, maxDemand))
		}
		if sp.UpOnly {
			if ratio <= 1 {
				continue // a healthy backlog has no opinion about decreases
			}
			if !sp.FeedForward() && !s.At.IsZero() && !mem.underLimitInForce(s.At) {
				// A backlog measured before the last increase describes
				// the old limit; it drains with a lag, so pushing again on
				// it would double into an overshoot. Wait for a datapoint
				// taken under the new limit.
				continue
			}
		} else {
			twoSided++
		}
		consider(ratio, sp.Signal, s.Value, sp.Target)
	}
	throttleDemand := 0.0
	if t := p.Throttles; t != nil {
		s := in.Signals[t.Signal]
		if !s.Present() && missing == "" {
			// Without the counter nobody knows whether requests were
			// turned away, so it blocks decreases as any missing signal
			// does. A sparse counter says `missing: zero` to avoid this.
			missing = t.Signal
		}
		if s.Present() {
			if s.At.After(newest) {
				newest = s.At
			}
			// A throttle datapoint counts once, and only if its period
			// began under the limit now in force: throttles of a period
			// that started before the last increase describe a limit
			// that is gone, and would push it up a second time.
			// A period that starts at the very tick of an increase, or
			// while the service still reported the knob locked (a table
			// stays UPDATING for minutes after a change), ran under the
			// old limit for at least part of it, so it is not current.
			unseen := s.At.IsZero() || s.At.After(mem.LastThrottle)
			current := s.At.IsZero() || mem.underLimitInForce(s.At)
			if s.At.After(mem.LastThrottle) {
				mem.LastThrottle = s.At
			}
			if s.Value > 0 {
				throttled = s.Value
			}
			if s.Value > 0 && unseen && current {
				throttleDemand = 1 + math.Max(t.Boost, 2*p.Band)
				if r := in.Signals[t.Requests]; t.Requests != "" && r.Present() && r.Value > 0 {
					// offered / served is how much more the period needed
					// than it got. What it got is best read from the
					// utilization signal of the same period (the capacity
					// actually used, in the limit's units): that makes the
					// estimate absolute, so a limit raised since, or a
					// change still taking effect, is not multiplied a
					// second time. Without it, served ≈ the current limit.
					ratio := (r.Value + s.Value) / r.Value
					if u := a.utilTarget(); u > 0 {
						ratio /= u
					}
					if used, ok := a.usedAt(in, s.At); ok {
						ratio *= used / base
					}
					throttleDemand = math.Max(throttleDemand, ratio)
				}
				throttleDemand = math.Min(throttleDemand, maxDemand)
			}
		}
	}
	if in.Alarm {
		throttleDemand = math.Max(throttleDemand, 1+math.Max(2*p.Band, 0.2))
	}
	if throttleDemand > 0 && throttleDemand >= demand {
		demand, driver, driverValue, driverSet = throttleDemand, "throttles", throttled, 0
	}

	terms := Terms{Missing: missing, Throttle: throttled, Driver: driver}
	prop := Proposal{Value: cur, Terms: terms, Window: WindowNone}

	if driver == "" {
		// A gap is no information: it neither counts towards a decrease
		// nor breaks the run of below-band datapoints before it; the
		// decision holds, so nothing is ever lowered on missing data.
		mem.LastEval = in.Now
		code := ReasonMissing
		if missing == "" {
			code = ReasonNoSignals
		}
		prop.Reason = Reason{Code: code, Signal: missing}
		prop.Terms.Above, prop.Terms.Below = mem.Above, mem.Below
		return prop
	}

	// A datapoint is counted once, however often we tick.
	fresh := newest.After(mem.LastSample) || in.Alarm
	prevSample := mem.LastSample
	if newest.After(mem.LastSample) {
		mem.LastSample = newest
	}
	e := demand - 1
	terms.Demand, terms.Error = demand, e
	// The band widens where the load is a handful of units: a count of N
	// fluctuates by about √N on its own (Poisson), so at a limit of 10 a
	// 10% band would chase noise, one unit up and one down. At a limit of
	// 100 or more the configured band rules.
	band := p.Band
	if noise := 1 / math.Sqrt(math.Max(base*a.utilTarget(), 1)); noise > band {
		band = noise
	}
	above := e > band || throttleDemand > 0
	// Never count towards a decrease while the newest throttle datapoint
	// shows throttling, even one too old to push the limit up again.
	below := e < -band && twoSided > 0 && missing == "" && throttled == 0
	terms.InBand = !above && e >= -band

	if fresh {
		switch {
		case above:
			mem.Above++
			mem.Below = 0
		case below:
			mem.Below++
			mem.Above = 0
		case e < -band && throttled > 0:
			// Throttling is evidence against a decrease: the run of
			// below-band datapoints starts again.
			mem.Above, mem.Below = 0, 0
		case e < -band:
			// Below the band but a signal is missing: never count
			// towards a decrease; the run waits for complete data.
			mem.Above = 0
		default:
			mem.Above, mem.Below = 0, 0
		}
	}
	terms.Above, terms.Below = mem.Above, mem.Below

	// PID on the normalized error, output a relative change.
	// The integral and the derivative advance per datapoint, so their
	// time step is the spacing of datapoints, not of ticks: ticking every
	// 10 s on 1-minute metrics must not shrink the integral six-fold.
	dt := 1.0
	switch {
	case !prevSample.IsZero() && newest.After(prevSample):
		dt = newest.Sub(prevSample).Minutes()
	case !mem.LastEval.IsZero():
		dt = in.Now.Sub(mem.LastEval).Minutes() // datapoints without a period start
	}
	dt = math.Min(math.Max(dt, 0), 10)
	mem.LastEval = in.Now
	required := demand * base
	if fresh {
		// The stabilization window follows what the data asks for, not
		// the held value of a debounce, so a quiet period can release
		// capacity once the window has seen only low recommendations.
		// It records even when some signal is missing: the window only
		// ever holds capacity up (it takes the highest entry), so a
		// burst seen while the throttle counter was late still counts.
		prop.Window, prop.WindowValue = WindowRecommend, math.Max(required, predicted*base)
	}
	// The integral does not wind down while throttling: that error is
	// not allowed to become a decrease later.
	if fresh && !terms.InBand && !mem.Saturated && in.Constraints.Blocked == "" && !(e < 0 && throttled > 0) {
		mem.Integral += e * dt
	}
	if lim := p.PID.IntegralLimit; lim > 0 {
		mem.Integral = math.Max(-lim, math.Min(lim, mem.Integral))
	}
	if terms.InBand {
		mem.Integral *= 0.5 // bleed off inside the band so old error cannot push later
	}
	if fresh && mem.LastRequired > 0 && dt > 0 {
		raw := (required - mem.LastRequired) / base / dt
		f := p.PID.DFilter
		if f <= 0 || f > 1 {
			f = 1
		}
		mem.DFiltered = f*raw + (1-f)*mem.DFiltered
	}
	if fresh {
		mem.LastRequired = required
	}
	terms.P = p.PID.Kp * e
	terms.I = p.PID.Ki * mem.Integral
	terms.D = p.PID.Kd * mem.DFiltered
	terms.Frozen = mem.Saturated
	u := terms.P + terms.I + terms.D
	prop.Terms = terms

	// Act only on a datapoint not acted on before (or an alarm): ticking
	// faster than the metric's period must not repeat a change.
	switch {
	case above && !fresh:
		prop.Reason = Reason{Code: ReasonStale, Signal: driver, Value: driverValue, Param: driverSet}
	case above && (mem.Above >= max(p.UpAfter, 1) || in.Alarm):
		if throttleDemand > 0 {
			// A throttle asks for at least the throttle demand, whatever
			// the gains: throttles are the one signal that is never noise.
			u = math.Max(u, throttleDemand-1)
		}
		if u <= 0 {
			prop.Reason = Reason{Code: ReasonInBand}
			return prop
		}
		prop.Value = cur * (1 + u)
		if cur <= 0 {
			prop.Value = required
		}
		code := ReasonAboveBand
		if in.Alarm {
			code = ReasonAlarm
		} else if throttleDemand > 0 && driver == "throttles" {
			code = ReasonThrottled
		}
		prop.Reason = Reason{Code: code, Signal: driver, Value: driverValue, Param: driverSet}
	case above:
		prop.Reason = Reason{Code: ReasonDebounceUp, Signal: driver, Value: driverValue, Param: float64(p.UpAfter)}
	case below && !fresh:
		prop.Reason = Reason{Code: ReasonStale, Signal: driver, Value: driverValue, Param: driverSet}
	case below && mem.Below >= max(p.DownAfter, 1):
		if u >= 0 {
			prop.Reason = Reason{Code: ReasonInBand}
			return prop
		}
		prop.Value = math.Max(cur*(1+math.Max(u, -0.99)), predicted*base)
		if prop.Value >= cur {
			prop.Value = cur
			prop.Reason = Reason{Code: ReasonInBand, Signal: "feedforward", Value: predicted * base}
			return prop
		}
		prop.Reason = Reason{Code: ReasonBelowBand, Signal: driver, Value: driverValue, Param: driverSet}
	case below:
		prop.Reason = Reason{Code: ReasonDebounceDn, Signal: driver, Value: driverValue, Param: float64(p.DownAfter)}
	case e < -band && missing != "":
		prop.Reason = Reason{Code: ReasonMissing, Signal: missing}
	case e < -band && throttled > 0:
		prop.Reason = Reason{Code: ReasonStillThrottled, Signal: p.Throttles.Signal, Value: throttled}
	case !fresh:
		prop.Reason = Reason{Code: ReasonStale}
	default:
		prop.Reason = Reason{Code: ReasonInBand, Signal: driver, Value: driverValue, Param: driverSet}
	}
	return prop
}

// Utilization is the setpoint on the limit's own utilization (a
// two-sided percentage of the limit), or nil without one.
func (p *AutotunerParams) Utilization() *Setpoint {
	for i := range p.Setpoints {
		if sp := &p.Setpoints[i]; sp.PerLimit && !sp.UpOnly {
			return sp
		}
	}
	return nil
}

// saturated reports whether the knob is a bottleneck, not merely busy: its
// utilization reads within the band of the limit, or its newest throttle
// datapoint shows throttling. The second matters right after an increase:
// the utilization datapoints still describe the old, lower limit (a table
// stays UPDATING for minutes), while the throttles say plainly that this
// limit is what holds the queue back.
func (a *Autotuner) saturated(in *Input, base float64) bool {
	sp := a.P.Utilization()
	if sp == nil {
		return false
	}
	if s := in.Signals[sp.Signal]; s.Present() && s.Value >= (1-a.P.Band)*base {
		return true
	}
	if t := a.P.Throttles; t != nil {
		if s := in.Signals[t.Signal]; s.Present() && s.Value > 0 {
			return true
		}
	}
	return false
}

// observeLock remembers the ticks at which the knob is still locked by our
// own last increase (a table UPDATING after it): from the increase on,
// every tick blocked without a break. A block for another reason (a
// sibling knob changed this tick, an account pool at its floor) says
// nothing about which limit a period ran under, and is not recorded.
func (a *Autotuner) observeLock(in *Input, mem *Memory) {
	if mem.LastBlocked.After(in.Now) {
		mem.LastBlocked = time.Time{} // a clock that went back
	}
	if in.Constraints.Blocked == "" || mem.LastUp.IsZero() || mem.LastUp.After(in.Now) {
		return
	}
	if mem.LockPending() {
		mem.LastBlocked = in.Now
	}
}

// usedAt is the utilization signal's value in the limit's units for the
// period that starts at at: the capacity the target actually used then.
// It reports false without a utilization setpoint, or when its datapoint
// is of another period or missing.
func (a *Autotuner) usedAt(in *Input, at time.Time) (float64, bool) {
	sp := a.P.Utilization()
	if sp == nil || at.IsZero() {
		return 0, false
	}
	s := in.Signals[sp.Signal]
	if !s.Present() || !s.At.Equal(at) || s.Value <= 0 {
		return 0, false
	}
	return s.Value, true
}

// utilTarget is the utilization setpoint, used to add headroom to the
// demand a throttle ratio reveals.
func (a *Autotuner) utilTarget() float64 {
	if sp := a.P.Utilization(); sp != nil {
		return sp.Target
	}
	return 1
}
