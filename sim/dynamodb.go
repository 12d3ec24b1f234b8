package sim

import "github.com/autotuner/autotuner/policy"

// DynamoDB figures the model enforces.
//
// Burst capacity: "DynamoDB currently retains up to 5 minutes (300
// seconds) of unused read and write capacity", provided "on a best
// effort's basis", and "might consume the burst capacity for background
// maintenance" (https://repost.aws/knowledge-center/dynamodb-spiky-workloads-short-intervals).
// Hence a scenario knob (burst_seconds, 0–300) and how full the bank
// starts (burst_start), instead of a guaranteed full bank.
//
// Partitions: "Each partition on the table can serve up to 3,000 read
// request units or 1,000 write request units, or a linear combination of
// both", and burst capacity cannot relieve a hot partition (same page, and
// https://repost.aws/knowledge-center/on-demand-table-throttling-dynamodb).
//
// On-demand: a table "instantly accommodates up to double the previous
// peak"; "if you exceed double your previous traffic's peak within 30
// minutes, then you might experience throttling"; a new on-demand table
// sustains 4,000 write and 12,000 read request units
// (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/on-demand-capacity-mode.html).
const (
	maxBurstSeconds   = 300
	partitionRCU      = 3000
	partitionWCU      = 1000
	onDemandWarmRead  = 12000
	onDemandWarmWrite = 4000
	onDemandPeakAge   = 30 // minutes before a new peak counts as the previous peak
)

// tableState is a DynamoDB table: two capacities, the share of requests
// that go to its hottest partition key, and the control-plane state that
// the actuator reports.
type tableState struct {
	read, write    capacity
	rpr, wpr       float64 // capacity units per request
	hot            float64 // share of requests on the hottest partition key
	updatingUntil  int64   // the table is UPDATING before this second
	quota          policy.DecreaseQuota
	lastIncreaseAt int64
}

// capacity is one DynamoDB capacity (read or write). Provisioned, it has
// a burst bank of up to bankSeconds of unused capacity. On-demand, prov
// is the table's maximum and the table itself serves at most twice the
// peak it reached at least 30 minutes ago (or its warm throughput).
type capacity struct {
	prov        float64
	bank        float64
	bankSeconds float64
	onDemand    bool

	// On-demand peak tracking: per-minute maxima of the last 30 minutes
	// in a ring, and the peak of everything older.
	warm    float64
	peak    float64
	minutes [onDemandPeakAge]float64
	cur     float64
}

// newCapacity is a capacity at the start of a run. A provisioned table's
// bank starts at startFull of its size.
func newCapacity(prov float64, onDemand bool, bankSeconds, startFull, warm float64) capacity {
	c := capacity{prov: prov, onDemand: onDemand, bankSeconds: bankSeconds, warm: warm}
	if !onDemand {
		c.bank = bankSeconds * prov * startFull
	}
	return c
}

// ceiling is what the capacity serves this second before the bank.
func (c *capacity) ceiling() float64 {
	if !c.onDemand {
		return c.prov
	}
	return min(c.prov, max(c.warm, 2*c.peak))
}

// consume serves what it can of demand units and returns the served part.
func (c *capacity) consume(demand float64) float64 {
	if c.onDemand {
		s := min(demand, c.ceiling())
		c.cur = max(c.cur, s)
		return s
	}
	if demand <= c.prov {
		c.bank = min(c.bank+c.prov-demand, c.bankSeconds*c.prov)
		return demand
	}
	use := min(demand-c.prov, c.bank)
	c.bank -= use
	return c.prov + use
}

// endMinute ages the on-demand peak: the minute leaving the 30-minute
// ring becomes part of the previous peak.
func (c *capacity) endMinute(minute int64) {
	if !c.onDemand {
		return
	}
	i := minute % onDemandPeakAge
	c.peak = max(c.peak, c.minutes[i])
	c.minutes[i], c.cur = c.cur, 0
}

// tableStep is one second of the table: the requests it failed, in total
// and by read and write, and the units it consumed.
type tableStep struct {
	failed, fr, fw, sr, sw, dr, dw float64
}

// serve runs n requests through the hottest partition, then the table's
// capacity. A request the hot partition throttles counts as a read and a
// write throttle event if it does both; burst capacity does not help it.
func (tb *tableState) serve(n float64) tableStep {
	var st tableStep
	var fp float64
	if tb.hot > 0 && n > 0 {
		load := n * tb.hot * (tb.rpr/partitionRCU + tb.wpr/partitionWCU)
		if load > 1 {
			fp = n * tb.hot * (1 - 1/load)
		}
	}
	m := n - fp
	st.dr, st.dw = n*tb.rpr, n*tb.wpr
	st.sr, st.sw = tb.read.consume(m*tb.rpr), tb.write.consume(m*tb.wpr)
	var fr, fw float64
	if tb.rpr > 0 {
		fr = (m*tb.rpr - st.sr) / tb.rpr
		st.fr = fr + fp
	}
	if tb.wpr > 0 {
		fw = (m*tb.wpr - st.sw) / tb.wpr
		st.fw = fw + fp
	}
	st.failed = min(n, fp+max(fr, fw))
	return st
}
