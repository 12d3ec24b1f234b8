package sim

import (
	"math"
	"testing"

	"pgregory.net/rapid"
)

// Burst capacity is best effort
// (https://repost.aws/knowledge-center/dynamodb-spiky-workloads-short-intervals:
// "provided on a best effort's basis and isn't guaranteed"): with
// burst_seconds 0 a spike above the provisioned capacity is throttled at
// once, and a bank that starts empty absorbs nothing until it has filled.
func TestBurstBankIsAKnob(t *testing.T) {
	none := newCapacity(100, false, 0, 1, 0)
	if got := none.consume(150); got != 100 {
		t.Errorf("burst_seconds 0: served %v of 150, want the provisioned 100", got)
	}
	empty := newCapacity(100, false, 300, 0, 0)
	if got := empty.consume(150); got != 100 {
		t.Errorf("burst_start 0: served %v of 150 at once, want 100", got)
	}
	half := newCapacity(100, false, 300, 0.5, 0)
	if half.bank != 15000 {
		t.Errorf("burst_start 0.5: bank %v, want half of 300 s × 100", half.bank)
	}
	rapid.Check(t, func(rt *rapid.T) {
		secs := rapid.Float64Range(0, 300).Draw(rt, "burst_seconds")
		prov := rapid.Float64Range(1, 40000).Draw(rt, "prov")
		c := newCapacity(prov, false, secs, 1, 0)
		served := 0.0
		for range 400 {
			served += c.consume(10 * prov)
		}
		// Never more than the provisioned capacity plus the bank.
		if limit := 400*prov + secs*prov; served > limit*(1+1e-12) {
			rt.Fatalf("served %v, more than 400 s × prov + the bank = %v", served, limit)
		}
	})
}

// "If a resulting hot partition exceeds the per partition limits of 3,000
// RCU or 1,000 WCU per second, or a combination of both, your table
// throttles", and burst capacity cannot help it
// (https://repost.aws/knowledge-center/dynamodb-spiky-workloads-short-intervals).
func TestHotPartitionCeiling(t *testing.T) {
	tb := &tableState{read: newCapacity(40000, false, 300, 1, 0), write: newCapacity(40000, false, 300, 1, 0), wpr: 1, hot: 0.5}
	st := tb.serve(4000) // 2,000 writes/s on one key: its partition serves 1,000
	if math.Abs(st.failed-1000) > 1e-9 || math.Abs(st.fw-1000) > 1e-9 {
		t.Errorf("hot key at 2,000 WCU: failed %v (write events %v), want 1,000", st.failed, st.fw)
	}
	// A linear combination: 1,500 RCU and 500 WCU fill one partition.
	tb = &tableState{read: newCapacity(40000, false, 300, 1, 0), write: newCapacity(40000, false, 300, 1, 0), rpr: 1.5, wpr: 0.5, hot: 1}
	if st := tb.serve(1000); st.failed > 1e-9 {
		t.Errorf("1,500 RCU + 500 WCU on one partition: failed %v, want none", st.failed)
	}
	if st := tb.serve(2000); math.Abs(st.failed-1000) > 1e-9 {
		t.Errorf("3,000 RCU + 1,000 WCU on one partition: failed %v, want half of 2,000", st.failed)
	}
}

// On-demand "instantly accommodates up to double the previous peak", and
// "if you exceed double your previous traffic's peak within 30 minutes,
// then you might experience throttling"; a new table sustains 4,000 write
// request units (https://repost.aws/knowledge-center/on-demand-table-throttling-dynamodb,
// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/on-demand-capacity-mode.html).
func TestOnDemandDoublesThePreviousPeak(t *testing.T) {
	c := newCapacity(1e6, true, 300, 1, onDemandWarmWrite)
	sec := int64(0)
	run := func(demand float64, seconds int64) (served float64) {
		for range seconds {
			served = c.consume(demand)
			if (sec+1)%60 == 0 {
				c.endMinute(sec / 60)
			}
			sec++
		}
		return served
	}
	if got := run(6000, 60); got != onDemandWarmWrite {
		t.Fatalf("a new table at 6,000 WRU/s served %v, want its warm 4,000", got)
	}
	// 4,000 sustained for 30 minutes becomes the previous peak: 8,000 is
	// then instant, 10,000 is not.
	run(4000, 30*60)
	if got := run(8000, 1); got != 8000 {
		t.Errorf("8,000 after 30 minutes at 4,000: served %v, want all", got)
	}
	if got := run(10000, 1); got != 8000 {
		t.Errorf("10,000 after 30 minutes at 4,000: served %v, want double the peak, 8,000", got)
	}
	// The table maximum (OnDemandThroughput) still caps it.
	c.prov = 5000
	if got := run(8000, 1); got != 5000 {
		t.Errorf("with a maximum of 5,000: served %v", got)
	}
}

// "ProvisionedReadCapacityUnits ... published every 5 minutes"
// (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/metrics-dimensions.html):
// a 1-minute period has a datapoint only in the minute that holds a
// 5-minute timestamp.
func TestProvisionedMetricsEveryFiveMinutes(t *testing.T) {
	s := setup(t, tableScenario, tablePolicies)
	p := newPlant(s.Scenario, s.curve, nil, 4096)
	p.tl = newTimeline(60)
	for sec := range int64(1200) {
		p.step(sec)
	}
	sn := &Sensor{p: p, start: s.Scenario.Start, seed: 1, cw: s.Scenario.CloudWatch}
	r := resolvedSignal{ok: true, m: mTProvWrite, stat: "Average"}
	var have []int64
	for m := range int64(18) {
		if _, ok := sn.statistic(r, m*60, m*60+60); ok {
			have = append(have, m)
		}
	}
	if want := []int64{0, 5, 10, 15}; !equalInts(have, want) {
		t.Errorf("minutes with a Provisioned datapoint %v, want %v", have, want)
	}
}

func equalInts(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

const tableScenario = `
duration: 1h
topology:
  kind: api-lambda-dynamodb
  api: {rate: 5000, burst: 5000}
  lambda: {name: fn, reserved: 500, duration: {median: 100ms, p99: 400ms}}
  table: {name: t, write: 50, reads_per_request: 2, writes_per_request: 1}
traffic: {rate: 40}
`

const tablePolicies = `
version: 1
targets:
  - name: fn
    kind: lambda-reserved-concurrency
    function: fn
    min: 500
    max: 500
    signals:
      busy: {namespace: AWS/Lambda, metric: ConcurrentExecutions, dimensions: {FunctionName: fn}, stat: Maximum}
    policy:
      static: {value: 500}
`
