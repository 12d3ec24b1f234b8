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
	// Cap names a live signal, the limit in force in front of this one
	// (an API's rate): the signal is read as at most that value, so a
	// function or a table behind an API is sized on what the API
	// admits, never on requests it turned away.
	Cap string `json:"cap,omitempty"`
	// Count, when positive, says the signal counts independent events:
	// one unit of its value stands for Count events over its period (60
	// for a per-second Sum over a minute, 1 for a Sum). The band then
	// widens to what counting noise explains (NoiseK·√N).
	Count float64 `json:"count,omitempty"`
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
	// Offered says Requests counts the throttled requests too (API
	// Gateway's Count includes the 429s): served = Requests − throttles.
	Offered bool `json:"offered,omitempty"`
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
	// Forecast learns the target's recurring load (Memory.Profile) and
	// raises the limit ahead of it.
	Forecast bool
}

// DefaultAutotuner holds the defaults of the autotuner policy. Guards such
// as step caps and cooldowns have their own defaults in the config.
func DefaultAutotuner() AutotunerParams {
	return AutotunerParams{
		Band:      0.10,
		PID:       PID{Kp: 0.9, Ki: 0.05, Kd: 0.0, DFilter: 0.5, IntegralLimit: 0.5},
		UpAfter:   1,
		DownAfter: 5,
		Forecast:  true,
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

// Recommend runs the controller (recommend), then applies the floors and
// the forecast around it.
func (a *Autotuner) Recommend(in *Input, mem *Memory) Proposal {
	integral := mem.Integral
	prop := a.recommend(in, mem)
	a.applyFloor(in, mem, &prop, integral)
	a.preScale(in, mem, &prop)
	return prop
}

// applyFloor serves the hard lower bounds (Floor setpoints): what the
// door in front admits is served at once, and no decrease goes below it.
func (a *Autotuner) applyFloor(in *Input, mem *Memory, prop *Proposal, integral float64) {
	floor, sp, rate := a.floor(in, mem)
	// A floor above what may be set is served as far as it can be: at
	// max (or the service's ceiling) it holds, rather than letting the
	// data take the limit down only for the floor to raise it again.
	hi := in.Max
	if c := in.Constraints.Ceiling; c > 0 && c < hi {
		hi = c
	}
	floor = min(floor, hi)
	if floor <= 0 || prop.Value >= floor {
		return
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

// recommend is the controller proper, as a sequence of named stages:
// estimate the demand, take the datapoint's time step, size the band
// around the setpoint by the noise, debounce, run the PID, propose. The
// floors (Recommend) and the forecast (pre-scaling) act around it.
func (a *Autotuner) recommend(in *Input, mem *Memory) Proposal {
	base := math.Max(in.Current, 1e-9)
	a.observeLock(in, mem)
	est := a.estimateDemand(in, mem, base)
	prop := Proposal{Value: in.Current, Window: WindowNone,
		Terms: Terms{Missing: est.missing, Throttle: est.throttled, Driver: est.driver}}
	if est.driver == "" {
		// A gap is no information: it neither counts towards a decrease
		// nor breaks the run of below-band datapoints before it; the
		// decision holds, so nothing is ever lowered on missing data.
		mem.LastEval = in.Now
		code := ReasonMissing
		if est.missing == "" {
			code = ReasonNoSignals
		}
		prop.Reason = Reason{Code: code, Signal: est.missing}
		prop.Terms.Above, prop.Terms.Below = mem.Above, mem.Below
		return prop
	}
	st := a.advance(in, mem, &est, base)
	a.noiseBand(mem, &est, &st, base)
	a.debounce(mem, &est, &st)
	u := a.pid(in, mem, &est, &st)
	prop.Terms = st.terms
	if st.fresh {
		// The stabilization window follows what the data asks for, not
		// the held value of a debounce, so a quiet period can release
		// capacity once the window has seen only low recommendations.
		// It records even when some signal is missing: the window only
		// ever holds capacity up (it takes the highest entry), so a
		// burst seen while the throttle counter was late still counts.
		prop.Window, prop.WindowValue = WindowRecommend, math.Max(st.required, est.predicted*base)
	}
	a.propose(in, mem, &est, &st, u, &prop)
	a.weighQuota(in, mem, &est, &st, &prop)
	return prop
}

// stage carries one evaluation from stage to stage.
type stage struct {
	fresh    bool    // a datapoint not counted before (or an alarm)
	dt       float64 // minutes since the previous datapoint, for the PID
	err      float64 // normalized error: demand − 1
	required float64 // demand × the current limit, in the limit's units
	band     float64 // the hysteresis band in force (noise included)
	noise    float64 // the band a count's or the measured noise asks for (0: none)
	above    bool
	below    bool
	terms    Terms
}

// advance does the datapoint bookkeeping: whether this evaluation brings
// a datapoint not counted before, and the time step since the last one.
// The integral and the derivative advance per datapoint, so their time
// step is the spacing of datapoints, not of ticks: ticking every 10 s on
// 1-minute metrics must not shrink the integral six-fold.
func (a *Autotuner) advance(in *Input, mem *Memory, est *estimate, base float64) stage {
	st := stage{fresh: est.newest.After(mem.LastSample) || in.Alarm, dt: 1}
	prev := mem.LastSample
	if est.newest.After(mem.LastSample) {
		mem.LastSample = est.newest
	}
	switch {
	case !prev.IsZero() && est.newest.After(prev):
		st.dt = est.newest.Sub(prev).Minutes()
	case !mem.LastEval.IsZero():
		st.dt = in.Now.Sub(mem.LastEval).Minutes() // datapoints without a period start
	}
	st.dt = math.Min(math.Max(st.dt, 0), 10)
	mem.LastEval = in.Now
	st.err = est.demand - 1
	st.required = est.demand * base
	st.terms = Terms{Missing: est.missing, Throttle: est.throttled, Driver: est.driver, Demand: est.demand, Error: st.err}
	return st
}

// debounce decides whether this datapoint lies above or below the band,
// and counts the runs of them.
func (a *Autotuner) debounce(mem *Memory, est *estimate, st *stage) {
	e, band := st.err, st.band
	st.above = e > band || est.throttleDemand > 0
	// Never count towards a decrease while the newest throttle datapoint
	// shows throttling, even one too old to push the limit up again, nor
	// on a datapoint older than the last throttle seen: it describes the
	// load before the throttling that came after it (stale evidence).
	st.below = e < -band && est.twoSided > 0 && est.missing == "" && est.throttled == 0 && !a.staleForDecrease(mem, est)
	st.terms.InBand = !st.above && e >= -band
	if st.fresh {
		switch {
		case st.above:
			mem.Above++
			mem.Below = 0
		case st.below:
			mem.Below++
			mem.Above = 0
		case e < -band && (est.throttled > 0 || a.staleForDecrease(mem, est)):
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
	st.terms.Above, st.terms.Below = mem.Above, mem.Below
}

// staleForDecrease reports whether the datapoints a decrease would act
// on are no newer than the last period in which this limit throttled.
func (a *Autotuner) staleForDecrease(mem *Memory, est *estimate) bool {
	return !mem.Throttled.IsZero() && !est.oldestTwoSided.After(mem.Throttled)
}

// pid advances the PID on the normalized error and returns its output, a
// relative change of the limit.
func (a *Autotuner) pid(in *Input, mem *Memory, est *estimate, st *stage) float64 {
	p, e := &a.P, st.err
	// The integral does not wind down while throttling: that error is
	// not allowed to become a decrease later.
	if st.fresh && !st.terms.InBand && !mem.Saturated && in.Constraints.Blocked == "" && !(e < 0 && est.throttled > 0) {
		mem.Integral += e * st.dt
	}
	if lim := p.PID.IntegralLimit; lim > 0 {
		mem.Integral = math.Max(-lim, math.Min(lim, mem.Integral))
	}
	if st.terms.InBand {
		mem.Integral *= 0.5 // bleed off inside the band so old error cannot push later
	}
	base := math.Max(in.Current, 1e-9)
	if st.fresh && mem.LastRequired > 0 && st.dt > 0 {
		raw := (st.required - mem.LastRequired) / base / st.dt
		f := p.PID.DFilter
		if f <= 0 || f > 1 {
			f = 1
		}
		mem.DFiltered = f*raw + (1-f)*mem.DFiltered
	}
	if st.fresh {
		mem.LastRequired = st.required
	}
	st.terms.P = p.PID.Kp * e
	st.terms.I = p.PID.Ki * mem.Integral
	st.terms.D = p.PID.Kd * mem.DFiltered
	st.terms.Frozen = mem.Saturated
	return st.terms.P + st.terms.I + st.terms.D
}

// propose turns the stage's verdict into a value and a reason. It acts
// only on a datapoint not acted on before (or an alarm): ticking faster
// than the metric's period must not repeat a change.
func (a *Autotuner) propose(in *Input, mem *Memory, est *estimate, st *stage, u float64, prop *Proposal) {
	p, cur := &a.P, in.Current
	base := math.Max(cur, 1e-9)
	driver, val, set := est.driver, est.driverValue, est.driverSet
	switch {
	case (st.above || st.below) && !st.fresh:
		prop.Reason = Reason{Code: ReasonStale, Signal: driver, Value: val, Param: set}
	case st.above && (mem.Above >= a.upAfter(est, st) || in.Alarm):
		if est.throttleDemand > 0 {
			// A throttle asks for at least the throttle demand, whatever
			// the gains: throttles are the one signal that is never noise.
			u = math.Max(u, est.throttleDemand-1)
		}
		if u <= 0 {
			prop.Reason = Reason{Code: ReasonInBand}
			return
		}
		prop.Value = cur * (1 + u)
		if cur <= 0 {
			prop.Value = st.required
		}
		if est.evidence {
			// The share of requests turned away measures the need: one
			// step goes there, whatever a step cap meant for noise.
			prop.Evidence = est.throttleDemand * base
			prop.Terms.Evidence = prop.Evidence
		}
		code := ReasonAboveBand
		if in.Alarm {
			code = ReasonAlarm
		} else if est.throttleDemand > 0 && driver == "throttles" {
			code = ReasonThrottled
		}
		prop.Reason = Reason{Code: code, Signal: driver, Value: val, Param: set}
	case st.above:
		prop.Reason = Reason{Code: ReasonDebounceUp, Signal: driver, Value: val, Param: float64(a.upAfter(est, st))}
	case st.below && mem.Below >= max(p.DownAfter, 1):
		if u >= 0 {
			prop.Reason = Reason{Code: ReasonInBand}
			return
		}
		prop.Value = math.Max(cur*(1+math.Max(u, -0.99)), est.predicted*base)
		if prop.Value >= cur {
			prop.Value = cur
			prop.Reason = Reason{Code: ReasonInBand, Signal: "feedforward", Value: est.predicted * base}
			return
		}
		prop.Reason = Reason{Code: ReasonBelowBand, Signal: driver, Value: val, Param: set}
	case st.below:
		prop.Reason = Reason{Code: ReasonDebounceDn, Signal: driver, Value: val, Param: float64(p.DownAfter)}
	case st.err < -st.band && est.missing != "":
		prop.Reason = Reason{Code: ReasonMissing, Signal: est.missing}
	case st.err < -st.band && est.throttled > 0:
		prop.Reason = Reason{Code: ReasonStillThrottled, Signal: p.Throttles.Signal, Value: est.throttled}
	case st.err < -st.band && a.staleForDecrease(mem, est):
		prop.Reason = Reason{Code: ReasonStaleEvidence, Signal: driver, Value: val, Until: mem.Throttled}
	case !st.fresh:
		prop.Reason = Reason{Code: ReasonStale}
	default:
		prop.Reason = Reason{Code: ReasonInBand, Signal: driver, Value: val, Param: set}
	}
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
