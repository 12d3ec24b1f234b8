package sim

import "math"

// PolicyOracleCausal is the oracle that knows the true demand only as
// CloudWatch would report it, and no future: what a perfect reactive
// controller could do.
const PolicyOracleCausal = "oracle-causal"

// causalPeriod is the period of the demand oracle-causal reads: a
// standard-resolution CloudWatch minute.
const causalPeriod = 60

// causalView reads the true demand as CloudWatch would publish it: the
// arrivals of the newest whole minute whose datapoint the scenario's
// delay has released, with the backlog at that minute's end. It knows the
// demand exactly: no noise, no dropped datapoint, no outage, and the
// arrivals include what a limit turned away.
type causalView struct {
	p      *plant
	sc     *Scenario
	warm   int64   // the plant's clock runs warm seconds ahead of the scenario's
	sensor *Sensor // for the publication delay of each minute
}

// causalHold is how many published minutes oracle-causal sizes for: the
// highest of them, so a limit does not fall between two bursts a few
// minutes apart (target tracking scales in after 15 low minutes too).
const causalHold = 15

// observe returns, at scenario second now, the highest mean arrival rate
// of the last causalHold published minutes, the visible backlog at the
// newest one's end and the downstream's lowest capacity in them.
func (c *causalView) observe(now int64) (rate, backlog, capf float64, ok bool) {
	t := now + c.warm // plant seconds
	svc, m := svcAPI, mAPICount
	if c.p.api == nil {
		svc, m = svcQueue, mQSent
	}
	capf = math.Inf(1)
	seen := 0
	for end := t / causalPeriod * causalPeriod; end >= causalPeriod && t-end < c.p.cw.horizon()-causalPeriod && seen < causalHold; end -= causalPeriod {
		minute := (end - 1) / causalPeriod
		if seen == 0 && t < end+c.sensor.delay(minute, svc) {
			continue // not published yet
		}
		sum := 0.0
		for s := end - causalPeriod; s < end; s++ {
			sum += c.p.cw.vals[m][s&c.p.cw.mask]
		}
		rate = math.Max(rate, sum/causalPeriod)
		if seen == 0 && c.p.q != nil {
			backlog = c.p.cw.vals[mQVisible][(end-1)&c.p.cw.mask]
		}
		if d := c.sc.Topology.Downstream; d != nil {
			capf = math.Min(capf, d.Capacity*c.p.curve.capacityFactor(max(end-1-c.warm, 0)))
		}
		seen++
	}
	return rate, backlog, capf, seen > 0
}
