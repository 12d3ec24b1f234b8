package sim

import (
	"math"
	"time"

	"github.com/autotuner/autotuner/policy"
)

// plan is the expected demand minute by minute, computed before the
// run: the highest arrival rate and the lowest downstream capacity of each
// minute (+Inf without a downstream).
type plan struct {
	rate []float64
	capf []float64
}

// oracleUtil is the downstream load the oracle aims for: above it the
// modelled latency climbs steeply.
const oracleUtil = 0.9

// drainTime is how fast the oracle works off a backlog, in seconds.
const drainTime = 120

func newPlan(sc *Scenario, c *curve, dur int64) *plan {
	n := (dur + 59) / 60
	pl := &plan{rate: make([]float64, n), capf: make([]float64, n)}
	for i := range pl.capf {
		pl.capf[i] = math.Inf(1)
	}
	for t := int64(0); t < dur; t++ {
		m := t / 60
		pl.rate[m] = math.Max(pl.rate[m], c.rate(t))
		if d := sc.Topology.Downstream; d != nil {
			pl.capf[m] = math.Min(pl.capf[m], d.Capacity*c.capacityFactor(t))
		}
	}
	return pl
}

// oracle is the simulator's physical limit: a policy.Recommender that
// reads the plan, so it knows demand before it arrives, and looks ahead by
// the knob's actuation delay so the change is in force when needed. It
// runs inside the product's engine like any policy, so the services' rules
// (the decrease quota, the usage-plan rate) bind it too.
type oracle struct {
	pl       *plan
	p        *plant
	start    time.Time
	lookhead int64                             // seconds
	units    func(thr, capNow float64) float64 // throughput → limit units
	// drains is set for the function's knobs: they also work off the
	// queued backlog. The table and the API size for arrivals only, so
	// that a backlog does not keep a table UPDATING (and its other
	// capacity waiting) with small increases.
	drains bool
}

var _ policy.Recommender = (*oracle)(nil)

func (o *oracle) Name() string { return PolicyOracle }

// Recommend asks for what the coming minutes need: the expected arrivals
// plus the queued backlog worked off over drainTime, but never more than
// oracleUtil of the downstream's capacity.
func (o *oracle) Recommend(in *policy.Input, mem *policy.Memory) policy.Proposal {
	mem.LastEval = in.Now
	now := int64(in.Now.Sub(o.start) / time.Second)
	// In the warm-up (now < 0) the plan's first minute is what comes.
	first, last := max(now, 0)/60, max(now+o.lookhead, 0)/60
	backlog := 0.0
	if o.drains {
		backlog = o.p.visibleNow() / drainTime
	}
	need, any := 0.0, false
	for m := max(first, 0); m <= last && m < int64(len(o.pl.rate)); m++ {
		thr := math.Min(o.pl.rate[m]+backlog, oracleUtil*o.pl.capf[m])
		need = math.Max(need, o.units(thr, o.pl.capf[m]))
		any = true
	}
	if !any {
		need = in.Current
	}
	return policy.Proposal{Value: need, Reason: policy.Reason{Code: policy.ReasonOracle, Value: need}}
}

// headroom covers Poisson noise around an expected count x.
func headroom(x float64) float64 { return x + 2*math.Sqrt(x) + 1 }

// oracleUnits converts a throughput into the units of knob k.
func (s *Setup) oracleUnits(k knob) func(thr, capNow float64) float64 {
	tp := &s.Scenario.Topology
	mean := s.meanDuration
	switch k {
	case kAPIRate, kStageRate:
		return func(thr, _ float64) float64 { return headroom(thr) }
	case kAPIBurst, kStageBurst:
		return func(thr, _ float64) float64 { return 2 * headroom(thr) }
	case kReserved, kESM:
		return func(thr, capNow float64) float64 {
			lat := 0.0
			if d := tp.Downstream; d != nil {
				lat = latencyAt(d.Latency.D().Seconds(), thr/capNow)
			}
			return headroom(thr * (mean + lat))
		}
	case kRead, kWrite:
		per := tp.Table.WritesPerRequest
		if k == kRead {
			per = tp.Table.ReadsPerRequest
		}
		return func(thr, _ float64) float64 { return math.Max(1, math.Ceil(thr*per*1.2)) } // the bank absorbs noise; 20% drains a backlog
	}
	return func(float64, float64) float64 { return 0 }
}
