package sim

import (
	"math"
	"testing"
)

func steadyAdmit(g *apiGateway, n float64, secs int) (ok, thr, bad float64) {
	for range secs {
		ok, thr = g.admit(n)
	}
	return ok, thr, 0
}

// A usage plan's throttle applies to each API key
// (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-api-usage-plans.html),
// so two keys pass twice the plan's rate, and a key with most of the
// traffic is throttled while the other is not.
func TestUsagePlanThrottlesEachKey(t *testing.T) {
	even := newAPIGateway(&API{UsagePlan: "p", Rate: 100, Burst: 100, APIKnobs: APIKnobs{Keys: []Share{{"a", 0.5}, {"b", 0.5}}}})
	if ok, _, _ := steadyAdmit(even, 200, 100); math.Abs(ok-200) > 1 {
		t.Errorf("two keys at 100/s each: %v/s passed, want 200", ok)
	}
	skew := newAPIGateway(&API{UsagePlan: "p", Rate: 100, Burst: 100, APIKnobs: APIKnobs{Keys: []Share{{"a", 0.9}, {"b", 0.1}}}})
	ok, thr, _ := steadyAdmit(skew, 150, 100)
	if math.Abs(ok-115) > 1 || math.Abs(thr-35) > 1 {
		t.Errorf("keys at 135/s and 15/s under a 100/s plan: passed %v, throttled %v; want 115 and 35", ok, thr)
	}
}

// "Per-API, per-stage throttling limits are applied at the API method
// level" (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html):
// each method gets the stage's default throttle; the account's 10,000/s
// caps them all.
func TestStageThrottlesEachMethod(t *testing.T) {
	g := newAPIGateway(&API{Rate: 100, Burst: 100, APIKnobs: APIKnobs{Methods: []Share{{"GET /a", 0.5}, {"POST /b", 0.5}}}})
	if ok, _, _ := steadyAdmit(g, 300, 100); math.Abs(ok-200) > 1 {
		t.Errorf("two methods at 100/s each: %v/s passed, want 200", ok)
	}
	big := newAPIGateway(&API{Rate: 10000, Burst: 5000, APIKnobs: APIKnobs{Methods: []Share{{"a", 0.5}, {"b", 0.5}}}})
	if ok, _, _ := steadyAdmit(big, 30000, 100); math.Abs(ok-accountAPIRate) > 1 {
		t.Errorf("two methods at 10,000/s: %v/s passed, want the account's 10,000", ok)
	}
	// Under a usage plan, a stage throttle applies after the key's.
	both := newAPIGateway(&API{UsagePlan: "p", Rate: 500, Burst: 500, APIKnobs: APIKnobs{StageRate: 50, StageBurst: 50}})
	if ok, _, _ := steadyAdmit(both, 400, 100); math.Abs(ok-50) > 1 {
		t.Errorf("plan 500/s, stage 50/s: %v/s passed, want 50", ok)
	}
}

// 4XXError counts every client error, not only 429s
// (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-metrics-and-dimensions.html):
// a background rate of other 4xx shows in the metric, and is neither
// offered to the system nor lost by it.
func TestClientErrorsCountIn4XXError(t *testing.T) {
	s := setup(t, `
duration: 10m
warmup: 0s
topology:
  kind: api-lambda-dynamodb
  api: {rate: 5000, burst: 5000, client_error_rate: 0.02}
  lambda: {name: fn, reserved: 500}
traffic: {rate: 100}
`, tablePolicies)
	res, _ := run(t, s, PolicyAutotuner)
	k := res.KPIs
	if k.Lost != 0 || res.Layers.APIGateway != 0 {
		t.Errorf("lost %d, 429s %d: client errors are neither", k.Lost, res.Layers.APIGateway)
	}
	if k.Offered < 57000 || k.Offered > 60500 {
		t.Errorf("offered %d, want about 98%% of 60,000", k.Offered)
	}
	p := newPlant(s.Scenario, s.curve, nil, 4096)
	p.tl = newTimeline(10)
	for sec := range int64(600) {
		p.step(sec)
	}
	sn := &Sensor{p: p, start: s.Scenario.Start, seed: 1, cw: s.Scenario.CloudWatch}
	rate := mustStat(t, sn, mAPI4xx, "Average", 0, 0, 600)
	if math.Abs(rate-0.02) > 0.003 {
		t.Errorf("4XXError Average %v, want the 2%% client error rate", rate)
	}
}
