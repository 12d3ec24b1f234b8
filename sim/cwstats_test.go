package sim

import (
	"math"
	"testing"
)

// statPlant is a plant whose metric store a test fills by hand.
func statPlant(t *testing.T, cw string) (*plant, *Sensor) {
	t.Helper()
	s := setup(t, tableScenario+cw, tablePolicies)
	p := newPlant(s.Scenario, s.curve, nil, 4096)
	return p, &Sensor{p: p, start: s.Scenario.Start, seed: 1, cw: s.Scenario.CloudWatch}
}

func mustStat(t *testing.T, sn *Sensor, m metric, stat string, pct float64, from, to int64) float64 {
	t.Helper()
	v, ok := sn.statistic(resolvedSignal{ok: true, m: m, stat: stat, pct: pct}, from, to)
	if !ok {
		t.Fatalf("%s %s: no datapoint", metrics[m].name, stat)
	}
	return v
}

// CloudWatch's statistics are over the samples a metric received
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_concepts.html#Statistic).
// Lambda's Duration has one sample per invocation
// (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html):
// a busy second weighs more than a quiet one.
func TestDurationStatisticsArePerInvocation(t *testing.T) {
	p, sn := statPlant(t, "")
	fn := &p.fn
	// 10 s at the base durations with 100 invocations a second, 10 s
	// with 1 s more latency and 1 invocation a second.
	for sec := range int64(20) {
		n, extra := 100.0, 0.0
		if sec >= 10 {
			n, extra = 1, 1
		}
		p.cw.put(mLInvocations, sec, n)
		p.cw.put(mLDuration, sec, (fn.mean+extra)*1000)
	}
	want := (1000*fn.mean*1000 + 10*(fn.mean+1)*1000) / 1010
	if got := mustStat(t, sn, mLDuration, "Average", 0, 0, 20); math.Abs(got-want) > 1e-6 {
		t.Errorf("Average %v ms, want the per-invocation mean %v (the per-second mean would be %v)", got, want, (fn.mean+0.5)*1000)
	}
	if got := mustStat(t, sn, mLDuration, "SampleCount", 0, 0, 20); got != 1010 {
		t.Errorf("SampleCount %v, want 1,010 invocations", got)
	}
	// p50 lies among the busy seconds' invocations: a base class.
	p50 := mustStat(t, sn, mLDuration, "p", 50, 0, 20)
	if p50 > fn.classes[nClasses-1]*1000+1e-9 {
		t.Errorf("p50 %v ms is above every base duration class", p50)
	}
	if got := mustStat(t, sn, mLDuration, "Maximum", 0, 0, 20); math.Abs(got-(fn.classes[nClasses-1]+1)*1000) > 1e-6 {
		t.Errorf("Maximum %v ms, want the longest class plus the slow seconds' 1 s", got)
	}
}

// API Gateway's 4XXError Average is the error rate: errors ÷ requests
// (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-metrics-and-dimensions.html),
// and DynamoDB's Consumed*CapacityUnits Average is per request
// (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/metrics-dimensions.html).
func TestErrorRateAndPerRequestAverages(t *testing.T) {
	p, sn := statPlant(t, "")
	for sec := range int64(60) {
		p.cw.put(mAPICount, sec, 100)
		p.cw.put(mAPI4xx, sec, float64(sec%2)*10) // 5% of requests
		p.cw.put(mTRequests, sec, 40)
		p.cw.put(mTConsumedRead, sec, 80) // 2 RCU per request
	}
	if got := mustStat(t, sn, mAPI4xx, "Average", 0, 0, 60); math.Abs(got-0.05) > 1e-12 {
		t.Errorf("4XXError Average %v, want the error rate 0.05", got)
	}
	if got := mustStat(t, sn, mAPI4xx, "Sum", 0, 0, 60); got != 300 {
		t.Errorf("4XXError Sum %v, want 300 errors", got)
	}
	if got := mustStat(t, sn, mAPI4xx, "Maximum", 0, 0, 60); got != 1 {
		t.Errorf("4XXError Maximum %v, want 1 (some request failed)", got)
	}
	if got := mustStat(t, sn, mTConsumedRead, "Average", 0, 0, 60); got != 2 {
		t.Errorf("ConsumedReadCapacityUnits Average %v, want 2 units per request", got)
	}
	if got := mustStat(t, sn, mTConsumedRead, "Sum", 0, 0, 60); got != 4800 {
		t.Errorf("ConsumedReadCapacityUnits Sum %v, want 4,800", got)
	}
	if got := mustStat(t, sn, mTConsumedRead, "SampleCount", 0, 0, 60); got != 2400 {
		t.Errorf("ConsumedReadCapacityUnits SampleCount %v, want 2,400 requests", got)
	}
}

// The CloudWatch fault knobs: dropped datapoints, outages and late
// datapoints. AWS documents no rate for them, so they are off by default.
func TestCloudWatchFaultKnobs(t *testing.T) {
	p, sn := statPlant(t, `
cloudwatch:
  drop: 0.3
  outages: [{at: 10m, for: 5m}]
  late: {share: 0.5, by: 10m}
`)
	for sec := range int64(3600) {
		p.cw.put(mLConcurrent, sec, 7)
	}
	r := resolvedSignal{ok: true, m: mLConcurrent, stat: "Maximum"}
	dropped := 0
	for m := range int64(60) {
		_, ok := sn.statistic(r, m*60, m*60+60)
		if m >= 10 && m < 15 && ok {
			t.Errorf("minute %d is inside the outage and has a datapoint", m)
		}
		if !ok && (m < 10 || m >= 15) {
			dropped++
		}
	}
	if dropped < 5 || dropped > 30 {
		t.Errorf("%d of 55 minutes dropped, want about 30%%", dropped)
	}
	late := 0
	for m := range int64(100) {
		if sn.delay(m, svcLambda) >= 10*60 {
			late++
		}
	}
	if late < 30 || late > 70 {
		t.Errorf("%d of 100 minutes 10 minutes late, want about half", late)
	}
	// A 5-minute window over an outage minute aggregates what is left.
	if got, ok := sn.statistic(r, 12*60, 17*60); !ok && !sn.skipMinute(mLConcurrent, 15) && !sn.skipMinute(mLConcurrent, 16) {
		t.Errorf("a window reaching past the outage has no datapoint (%v)", got)
	}
	_, sn0 := statPlant(t, "")
	if sn0.cw.Drop != 0 || len(sn0.cw.Outages) != 0 || sn0.cw.Late != nil || sn0.delay(1, svcLambda) > 3*60 {
		t.Error("CloudWatch faults are on by default")
	}
}
