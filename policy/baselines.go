package policy

import (
	"math"
	"time"
)

// The baselines live beside the engine for honest comparison in the
// simulator and for users who want them. Each follows the documented
// behaviour of the system it is named after; the comment of each type lists
// its rules. All of them run inside an Engine, so bounds, rounding, service
// rules and back-pressure still apply.

// observe reads one signal, counting a datapoint once however often the
// controller ticks. It returns the value, whether it is present, and whether
// it is a datapoint the policy has not seen before.
func observe(in *Input, mem *Memory, name string) (v float64, ok, fresh bool) {
	s := in.Signals[name]
	if !s.Present() {
		return 0, false, false
	}
	fresh = s.At.After(mem.LastSample) || s.At.IsZero() && in.Now.After(mem.LastEval)
	if s.At.After(mem.LastSample) {
		mem.LastSample = s.At
	}
	mem.LastEval = in.Now
	return math.Max(s.Value, 0), true, fresh
}

func missing(name string, cur float64) Proposal {
	return Proposal{Value: cur, Reason: Reason{Code: ReasonMissing, Signal: name}}
}

// utilization is value / limit, with an empty limit counted as fully used
// when anything arrives. Like the autotuner's demand it is capped, so a
// tiny limit cannot turn a reading into infinity.
func utilization(v, limit float64) float64 {
	if limit <= 0 {
		if v > 0 {
			return maxDemand
		}
		return 0
	}
	return math.Min(v/limit, maxDemand)
}

// --- static ---

// Static holds a fixed limit: Value when set, otherwise whatever is in
// force. It never reacts to signals.
type Static struct{ Value float64 }

func (s *Static) Name() string { return "static" }

func (s *Static) Recommend(in *Input, mem *Memory) Proposal {
	mem.LastEval = in.Now
	v := in.Current
	if s.Value > 0 {
		v = s.Value
	}
	return Proposal{Value: v, Reason: Reason{Code: ReasonStatic, Param: v}}
}

// --- target-tracking ---

// TargetTrackingParams configure the AWS Application Auto Scaling baseline.
type TargetTrackingParams struct {
	Signal   string  // consumed capacity in the limit's units (units/s, concurrency)
	Target   float64 // target utilization, 0.7 by default
	OutAfter int     // datapoints above target before scaling out (2)
	InAfter  int     // datapoints below the scale-in threshold before scaling in (15)
	// InMargin puts the scale-in threshold below the target: scale in only
	// below Target × (1 − InMargin).
	InMargin       float64
	OutCooldown    time.Duration
	InCooldown     time.Duration
	DisableScaleIn bool
}

// DefaultTargetTracking holds Application Auto Scaling's defaults.
func DefaultTargetTracking() TargetTrackingParams {
	return TargetTrackingParams{Target: 0.7, OutAfter: 2, InAfter: 15}
}

// TargetTracking reproduces AWS Application Auto Scaling target tracking:
//   - utilization = consumed / current limit, one 1-minute datapoint at a time;
//   - the high alarm fires after OutAfter (2) consecutive datapoints above
//     the target, and keeps firing while they stay above;
//   - the low alarm fires after InAfter (15) consecutive datapoints below
//     the scale-in threshold;
//   - either sets the limit to ceil(consumed / target);
//   - missing datapoints leave both alarms where they are (no action);
//   - it knows nothing of throttles: a throttled request is not consumed.
type TargetTracking struct{ P TargetTrackingParams }

func (t *TargetTracking) Name() string { return "target-tracking" }

func (t *TargetTracking) Recommend(in *Input, mem *Memory) Proposal {
	p := &t.P
	v, ok, fresh := observe(in, mem, p.Signal)
	if !ok {
		return missing(p.Signal, in.Current)
	}
	u := utilization(v, in.Current)
	terms := Terms{Demand: u / p.Target, Error: u/p.Target - 1, Driver: p.Signal}
	if fresh {
		if u > p.Target {
			mem.Above++
		} else {
			mem.Above = 0
		}
		if u < p.Target*(1-p.InMargin) {
			mem.Below++
		} else {
			mem.Below = 0
		}
	}
	terms.Above, terms.Below = mem.Above, mem.Below
	want := ceil(v / p.Target)
	out := Proposal{Value: in.Current, Terms: terms}
	switch {
	case fresh && mem.Above >= p.OutAfter && want > in.Current:
		if p.OutCooldown > 0 && !mem.LastUp.IsZero() && in.Now.Sub(mem.LastUp) < p.OutCooldown {
			out.Reason = Reason{Code: ReasonDebounceUp, Until: mem.LastUp.Add(p.OutCooldown)}
			return out
		}
		out.Value = want
		out.Reason = Reason{Code: ReasonScaleOut, Signal: p.Signal, Value: v, Param: p.Target}
	case fresh && !p.DisableScaleIn && mem.Below >= p.InAfter && want < in.Current:
		if p.InCooldown > 0 && !mem.LastDown.IsZero() && in.Now.Sub(mem.LastDown) < p.InCooldown {
			out.Reason = Reason{Code: ReasonDebounceDn, Until: mem.LastDown.Add(p.InCooldown)}
			return out
		}
		out.Value = want
		out.Reason = Reason{Code: ReasonScaleIn, Signal: p.Signal, Value: v, Param: p.Target}
	default:
		out.Reason = Reason{Code: ReasonInBand, Signal: p.Signal, Value: v, Param: p.Target}
	}
	return out
}

// --- step-scaling ---

// StepAdjustment is one step of a step-scaling policy: when the metric
// exceeds the alarm threshold by at least Lower (and less than Upper, 0 =
// unbounded) the limit changes by Change, a fraction (0.3 = +30%).
type StepAdjustment struct {
	Lower, Upper float64
	Change       float64
}

// StepScalingParams configure the AWS step-scaling baseline.
type StepScalingParams struct {
	Signal        string
	High, Low     float64 // utilization alarm thresholds
	HighPeriods   int     // datapoints above High before scaling out
	LowPeriods    int     // datapoints below Low before scaling in
	Out           []StepAdjustment
	In            []StepAdjustment // Lower/Upper measured below Low
	Cooldown      time.Duration
	MinAdjustment float64 // MinAdjustmentMagnitude, in units
}

// DefaultStepScaling is a common step-scaling setup: above 80% utilization
// for one minute add 10/30/50% by how far above; below 40% for three
// minutes remove 20%; a 300 s cooldown; at least one unit per change.
func DefaultStepScaling() StepScalingParams {
	return StepScalingParams{
		High: 0.8, Low: 0.4, HighPeriods: 1, LowPeriods: 3,
		Out:           []StepAdjustment{{Lower: 0, Upper: 0.1, Change: 0.1}, {Lower: 0.1, Upper: 0.3, Change: 0.3}, {Lower: 0.3, Change: 0.5}},
		In:            []StepAdjustment{{Lower: 0, Change: -0.2}},
		Cooldown:      300 * time.Second,
		MinAdjustment: 1,
	}
}

// StepScaling reproduces AWS step scaling with PercentChangeInCapacity
// adjustments: an alarm on utilization triggers the step whose interval
// contains the breach size; a cooldown follows every activity; the change
// is at least MinAdjustment units.
type StepScaling struct{ P StepScalingParams }

func (s *StepScaling) Name() string { return "step-scaling" }

func pickStep(steps []StepAdjustment, breach float64) (float64, bool) {
	for _, st := range steps {
		if breach >= st.Lower && (st.Upper == 0 || breach < st.Upper) {
			return st.Change, true
		}
	}
	return 0, false
}

func (s *StepScaling) Recommend(in *Input, mem *Memory) Proposal {
	p := &s.P
	v, ok, fresh := observe(in, mem, p.Signal)
	if !ok {
		return missing(p.Signal, in.Current)
	}
	u := utilization(v, in.Current)
	if fresh {
		if u > p.High {
			mem.Above++
		} else {
			mem.Above = 0
		}
		if u < p.Low {
			mem.Below++
		} else {
			mem.Below = 0
		}
	}
	out := Proposal{Value: in.Current, Terms: Terms{Demand: u, Driver: p.Signal, Above: mem.Above, Below: mem.Below}}
	last := mem.LastUp
	if mem.LastDown.After(last) {
		last = mem.LastDown
	}
	if p.Cooldown > 0 && !last.IsZero() && in.Now.Sub(last) < p.Cooldown {
		out.Reason = Reason{Code: ReasonDebounceUp, Until: last.Add(p.Cooldown)}
		return out
	}
	change, dir := 0.0, Hold
	switch {
	case fresh && mem.Above >= p.HighPeriods:
		if c, ok := pickStep(p.Out, u-p.High); ok {
			change, dir = c, Up
		}
	case fresh && mem.Below >= p.LowPeriods:
		if c, ok := pickStep(p.In, p.Low-u); ok {
			change, dir = c, Down
		}
	}
	if dir == Hold || change == 0 {
		out.Reason = Reason{Code: ReasonInBand, Signal: p.Signal, Value: u}
		return out
	}
	delta := in.Current * change
	if math.Abs(delta) < p.MinAdjustment {
		delta = math.Copysign(p.MinAdjustment, change)
	}
	out.Value = in.Current + delta
	code := ReasonScaleOut
	if dir == Down {
		code = ReasonScaleIn
		mem.Below = 0
	}
	out.Reason = Reason{Code: code, Signal: p.Signal, Value: u, Param: change}
	return out
}

// --- hpa ---

// HPAParams configure the Kubernetes Horizontal Pod Autoscaler baseline.
type HPAParams struct {
	Signal            string
	Target            float64 // target utilization
	Tolerance         float64 // 0.1
	DownStabilization time.Duration
	UpPercent         float64 // 1.0 = +100% per UpPeriod
	UpUnits           float64 // 4 per UpPeriod; the larger of the two wins
	UpPeriod          time.Duration
}

// DefaultHPA holds the Kubernetes defaults.
func DefaultHPA() HPAParams {
	return HPAParams{Target: 0.7, Tolerance: 0.1, DownStabilization: 300 * time.Second, UpPercent: 1.0, UpUnits: 4, UpPeriod: 15 * time.Second}
}

// HPA reproduces the Kubernetes HPA algorithm:
//   - ratio = utilization / target; no change while |ratio − 1| ≤ tolerance;
//   - desired = ceil(current × ratio);
//   - scale-down follows the highest desired value of the last 300 s;
//   - scale-up is limited to max(+100%, +4) per 15 s;
//   - a missing metric means no scale-down.
type HPA struct{ P HPAParams }

func (h *HPA) Name() string { return "hpa" }

func (h *HPA) Recommend(in *Input, mem *Memory) Proposal {
	p := &h.P
	v, ok, _ := observe(in, mem, p.Signal)
	if !ok {
		return missing(p.Signal, in.Current)
	}
	cur := in.Current
	ratio := utilization(v, cur) / p.Target
	desired := cur
	if math.Abs(ratio-1) > p.Tolerance {
		desired = ceil(cur * ratio)
		if cur <= 0 {
			desired = ceil(v / p.Target)
		}
	}
	// Scale-down stabilization: the highest recommendation of the window.
	win := pushWindow(mem.Window, in.Now, p.DownStabilization, desired)
	mem.Window = win
	stab := desired
	for _, r := range win {
		stab = math.Max(stab, r.Value)
	}
	if desired < cur {
		desired = math.Min(stab, cur)
	}
	// Scale-up rate: the larger of the percent and the unit policy.
	if desired > cur {
		lim := math.Max(cur*(1+p.UpPercent), cur+p.UpUnits)
		if !mem.LastUp.IsZero() && p.UpPeriod > 0 && in.Now.Sub(mem.LastUp) < p.UpPeriod {
			lim = cur
		}
		desired = math.Min(desired, lim)
	}
	out := Proposal{Value: desired, Terms: Terms{Demand: ratio, Error: ratio - 1, Driver: p.Signal, InBand: math.Abs(ratio-1) <= p.Tolerance}}
	switch {
	case desired > cur:
		out.Reason = Reason{Code: ReasonScaleOut, Signal: p.Signal, Value: v, Param: p.Target}
	case desired < cur:
		out.Reason = Reason{Code: ReasonScaleIn, Signal: p.Signal, Value: v, Param: p.Target}
	default:
		out.Reason = Reason{Code: ReasonInBand, Signal: p.Signal, Value: v, Param: p.Target}
	}
	return out
}

// --- threshold (dynamic-dynamodb) ---

// ThresholdParams configure the dynamic-dynamodb baseline.
type ThresholdParams struct {
	Signal           string
	Upper, Lower     float64 // utilization thresholds, 0.9 and 0.3
	Increase         float64 // 0.5 = +50% of current
	Decrease         float64 // 0.5 = −50% of current
	ChecksBeforeDown int     // consecutive low checks before a decrease
	Throttles        string  // optional throttle-events signal
	ThrottledUpper   float64 // throttle events above which to increase
}

// DefaultThreshold holds dynamic-dynamodb's defaults.
func DefaultThreshold() ThresholdParams {
	return ThresholdParams{Upper: 0.9, Lower: 0.3, Increase: 0.5, Decrease: 0.5, ChecksBeforeDown: 10}
}

// Threshold reproduces dynamic-dynamodb: above the upper utilization
// threshold (or above the throttled-events threshold) increase by a
// percentage of the current value; below the lower threshold for N
// consecutive checks decrease by a percentage.
type Threshold struct{ P ThresholdParams }

func (t *Threshold) Name() string { return "threshold" }

func (t *Threshold) Recommend(in *Input, mem *Memory) Proposal {
	p := &t.P
	v, ok, fresh := observe(in, mem, p.Signal)
	if !ok {
		return missing(p.Signal, in.Current)
	}
	u := utilization(v, in.Current)
	thr := 0.0
	if p.Throttles != "" {
		if s := in.Signals[p.Throttles]; s.Present() {
			thr = s.Value
		}
	}
	out := Proposal{Value: in.Current, Terms: Terms{Demand: u, Driver: p.Signal, Throttle: thr}}
	if !fresh {
		out.Reason = Reason{Code: ReasonStale}
		return out
	}
	switch {
	case u > p.Upper || (p.Throttles != "" && thr > p.ThrottledUpper):
		mem.Below = 0
		out.Value = in.Current * (1 + p.Increase)
		out.Reason = Reason{Code: ReasonScaleOut, Signal: p.Signal, Value: u, Param: p.Upper}
	case u < p.Lower:
		mem.Below++
		if mem.Below >= p.ChecksBeforeDown {
			mem.Below = 0
			out.Value = in.Current * (1 - p.Decrease)
			out.Reason = Reason{Code: ReasonScaleIn, Signal: p.Signal, Value: u, Param: p.Lower}
		} else {
			out.Reason = Reason{Code: ReasonDebounceDn, Signal: p.Signal, Value: u, Param: float64(p.ChecksBeforeDown)}
		}
	default:
		mem.Below = 0
		out.Reason = Reason{Code: ReasonInBand, Signal: p.Signal, Value: u}
	}
	out.Terms.Below = mem.Below
	return out
}

// --- aimd ---

// AIMDParams configure the additive-increase, multiplicative-decrease
// baseline.
type AIMDParams struct {
	Signal       string  // busy measure in the limit's units
	Throttles    string  // optional throttle counter
	High, Low    float64 // utilization above High adds; below Low for LowAfter checks multiplies
	Add          float64 // units added per evaluation
	Beta         float64 // multiplier on decrease (0.7 keeps 70%)
	LowAfter     int
	Congestion   string // optional downstream signal: at or above CongestionAt, multiply by Beta
	CongestionAt float64
}

// DefaultAIMD holds the AIMD defaults.
func DefaultAIMD() AIMDParams {
	return AIMDParams{High: 0.9, Low: 0.5, Add: 1, Beta: 0.7, LowAfter: 3}
}

// AIMD adds Add units whenever the limit is nearly used up or throttles
// appear, and multiplies by Beta when downstream signals congestion or the
// limit has been underused for LowAfter checks, as TCP does with its window.
type AIMD struct{ P AIMDParams }

func (a *AIMD) Name() string { return "aimd" }

func (a *AIMD) Recommend(in *Input, mem *Memory) Proposal {
	p := &a.P
	v, ok, fresh := observe(in, mem, p.Signal)
	if !ok {
		return missing(p.Signal, in.Current)
	}
	u := utilization(v, in.Current)
	thr := 0.0
	if s := in.Signals[p.Throttles]; p.Throttles != "" && s.Present() {
		thr = s.Value
	}
	out := Proposal{Value: in.Current, Terms: Terms{Demand: u, Driver: p.Signal, Throttle: thr}}
	if !fresh {
		out.Reason = Reason{Code: ReasonStale}
		return out
	}
	if p.Congestion != "" {
		if s := in.Signals[p.Congestion]; s.Present() && s.Value >= p.CongestionAt {
			mem.Below = 0
			out.Value = in.Current * p.Beta
			out.Reason = Reason{Code: ReasonCongestion, Signal: p.Congestion, Value: s.Value, Param: p.CongestionAt}
			return out
		}
	}
	switch {
	case u >= p.High || thr > 0:
		mem.Below = 0
		out.Value = in.Current + p.Add
		out.Reason = Reason{Code: ReasonScaleOut, Signal: p.Signal, Value: u, Param: p.High}
	case u < p.Low:
		mem.Below++
		if mem.Below >= p.LowAfter {
			mem.Below = 0
			out.Value = in.Current * p.Beta
			out.Reason = Reason{Code: ReasonScaleIn, Signal: p.Signal, Value: u, Param: p.Low}
		} else {
			out.Reason = Reason{Code: ReasonDebounceDn, Signal: p.Signal, Value: u, Param: float64(p.LowAfter)}
		}
	default:
		mem.Below = 0
		out.Reason = Reason{Code: ReasonInBand, Signal: p.Signal, Value: u}
	}
	out.Terms.Below = mem.Below
	return out
}

// ceil rounds up, ignoring float noise: 20 × (21/20/0.7) is 30, not the
// 31 that 30.000000000000004 would give.
func ceil(x float64) float64 { return quantize(x, 1, true) }
