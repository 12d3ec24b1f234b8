package sim

import (
	"math"
	"time"

	"github.com/autotuner/autotuner/config"
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
//
// With causal set it is oracle-causal instead: it knows the true demand,
// but only as CloudWatch would report it (the last published minute, with
// the scenario's delay), and nothing of the future.
type oracle struct {
	pl       *plan
	p        *plant
	start    time.Time
	lookhead int64                             // seconds
	units    func(thr, capNow float64) float64 // throughput → limit units
	// drains is set for every knob on the consumer's side of a queue
	// (the function's and the table's): they also work off the queued
	// backlog, so the table is sized for what the function drains, not
	// only for what arrives.
	drains bool
	// tableCap is set for the function's knobs behind a queue: they drain
	// no faster than the table's capacity in force takes, because a
	// throttled write returns its whole batch to the queue.
	tableCap bool
	causal   *causalView
	// inflight is set for the function's knobs on a synchronous path.
	inflight bool
}

var _ policy.Recommender = (*oracle)(nil)

func (o *oracle) Name() string {
	if o.causal != nil {
		return PolicyOracleCausal
	}
	return PolicyOracle
}

// Recommend asks for what the coming minutes need: the expected arrivals
// plus the queued backlog worked off over drainTime, but never more than
// oracleUtil of the downstream's capacity, nor (for the function behind a
// queue) more than the table takes.
func (o *oracle) Recommend(in *policy.Input, mem *policy.Memory) policy.Proposal {
	mem.LastEval = in.Now
	now := int64(in.Now.Sub(o.start) / time.Second)
	need, ok := 0.0, false
	o.demand(now, func(rate, backlog, capf float64) {
		thr := math.Min(rate+backlog/drainTime, oracleUtil*capf)
		if o.tableCap {
			thr = math.Min(thr, o.p.tableThroughput())
		}
		v := o.units(thr, capf)
		if o.inflight {
			// Invocations started earlier still hold their concurrency:
			// after a peak of long invocations the need falls only as
			// they end. On the synchronous path room costs nothing and
			// admits no more than arrives, so the oracle keeps what is in
			// flight plus a minute of arrivals.
			v = math.Max(v, headroom(o.p.fn.level+thr*math.Min(o.p.fn.mean, 60)))
		}
		need = math.Max(need, v)
		ok = true
	})
	if !ok {
		need = in.Current
	}
	return policy.Proposal{Value: need, Reason: policy.Reason{Code: policy.ReasonOracle, Value: need}}
}

// demand calls see with each minute's rate, backlog and downstream
// capacity that the oracle plans for at second now: the coming minutes
// for the foresight oracle, the last published one for the causal one.
func (o *oracle) demand(now int64, see func(rate, backlog, capf float64)) {
	if o.causal != nil {
		if rate, backlog, capf, ok := o.causal.observe(now); ok {
			if !o.drains {
				backlog = 0
			}
			see(rate, backlog, capf)
		}
		return
	}
	backlog := 0.0
	if o.drains {
		backlog = o.p.visibleNow()
	}
	// In the warm-up (now < 0) the plan's first minute is what comes.
	first, last := max(now, 0)/60, max(now+o.lookhead, 0)/60
	for m := first; m <= last && m < int64(len(o.pl.rate)); m++ {
		see(o.pl.rate[m], backlog, o.pl.capf[m])
	}
}

// tableThroughput is the requests per second the table's capacity in
// force serves without throttling (+Inf without a table).
func (p *plant) tableThroughput() float64 {
	tb := p.table
	if tb == nil {
		return math.Inf(1)
	}
	thr := math.Inf(1)
	if tb.rpr > 0 {
		thr = math.Min(thr, tb.read.ceiling()/tb.rpr)
	}
	if tb.wpr > 0 {
		thr = math.Min(thr, tb.write.ceiling()/tb.wpr)
	}
	return thr
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
		// The bank absorbs the noise of a second; 20% drains a backlog.
		// Without a bank (burst capacity is best effort), noise needs
		// room of its own: three standard deviations of a Poisson count.
		bankless := tp.Table.BurstSeconds != nil && *tp.Table.BurstSeconds < 60
		return func(thr, _ float64) float64 {
			x := thr * per
			v := math.Ceil(x * 1.2)
			if bankless {
				v = math.Max(v, math.Ceil(x+3*math.Sqrt(x)+1))
			}
			return math.Max(1, v)
		}
	}
	return func(float64, float64) float64 { return 0 }
}

// chooseOracle gives every target an oracle: the foresight one or the
// causal one.
func (s *Setup) chooseOracle(f *config.File, name string, p *plant, act *Actuator) {
	sc := s.Scenario
	var cv *causalView
	if name == PolicyOracleCausal {
		cv = &causalView{p: p, sc: sc, warm: sc.WarmupS(), sensor: &Sensor{p: p, seed: sc.Seed, cw: sc.CloudWatch}}
	}
	queued := sc.Topology.Queue != nil
	for _, t := range f.Targets {
		k, err := act.bind(t)
		if err != nil {
			continue
		}
		delay := int64(0)
		switch k {
		case kRead, kWrite:
			delay = sc.Actuation.DynamoDBUpdating.Seconds()
		case kReserved, kESM:
			delay = sc.Actuation.Lambda.Seconds()
		}
		o := &oracle{pl: s.getPlan(), p: p, start: sc.Start, lookhead: int64(f.Defaults.Interval/time.Second) + delay + 60, units: s.oracleUnits(k), causal: cv}
		fn := k == kReserved || k == kESM
		o.drains = queued && (fn || k == kRead || k == kWrite)
		o.tableCap = queued && fn
		// Only the foresight oracle reads the concurrency in flight now;
		// oracle-causal knows nothing CloudWatch has not published.
		o.inflight = !queued && fn && cv == nil
		t.Engine = &policy.Engine{Rec: o, Guards: policy.Guards{Resolution: t.Resolution(), AllowZero: t.AllowZero}}
	}
}
