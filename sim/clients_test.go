package sim

import (
	"math"
	"testing"
	"time"
)

// Retries wait base × 2^i with jitter: full jitter spreads a 4 s backoff
// evenly over the next 4 seconds, none puts it all at 4 s, and a wait
// under a second lands in the next second.
func TestClientBackoffAndJitter(t *testing.T) {
	for _, tc := range []struct {
		jitter string
		i      int
		want   map[int64]float64
	}{
		{"full", 0, map[int64]float64{1: 1}},
		{"full", 5, map[int64]float64{1: 0.25, 2: 0.25, 3: 0.25, 4: 0.25}},
		{"none", 5, map[int64]float64{4: 1}},
		{"equal", 5, map[int64]float64{3: 0.5, 4: 0.5}},
	} {
		c := newClients(&Clients{Retries: 6, Backoff: Duration(125 * time.Millisecond), MaxBackoff: Duration(20 * time.Second), Jitter: tc.jitter})
		c.schedule(100, tc.i, 1)
		for s := int64(1); s < 30; s++ {
			got := c.wheel[(100+s)&(clientWheelSize-1)][tc.i+1]
			if math.Abs(got-tc.want[s]) > 1e-12 {
				t.Errorf("%s jitter, retry %d: %v due at +%ds, want %v", tc.jitter, tc.i+1, got, s, tc.want[s])
			}
		}
	}
}

// A retry storm: clients that retry 429s add to the load the API sees
// (API Gateway's Count counts every attempt), turn some losses into
// delays, and give up after their last retry.
func TestClientRetriesAmplifyLoad(t *testing.T) {
	const scenario = `
duration: 30m
warmup: 0s
topology:
  kind: api-lambda-dynamodb
  api: {rate: 80, burst: 80}
  lambda: {name: fn, reserved: 500}
traffic: {rate: 100}
`
	policies := tablePolicies
	plain, _ := run(t, setup(t, scenario, policies), PolicyAutotuner)
	s := setup(t, scenario+"clients: {retries: 3, backoff: 1s}\n", policies)
	retried, _ := run(t, s, PolicyAutotuner)
	if retried.Layers.APIGateway <= plain.Layers.APIGateway {
		t.Errorf("429s with retries %d, without %d: retries should add throttles", retried.Layers.APIGateway, plain.Layers.APIGateway)
	}
	k := retried.KPIs
	if k.Delayed == 0 {
		t.Error("no request served on a retry")
	}
	if k.Lost >= plain.KPIs.Lost || k.Lost == 0 {
		t.Errorf("lost %d with retries, %d without: want fewer, but some (the API is too small)", k.Lost, plain.KPIs.Lost)
	}
	if d := k.Offered - k.Served - k.Lost; d < -2 || d > 300 {
		t.Errorf("offered %d − served %d − lost %d = %d: only the retries still waiting may be missing", k.Offered, k.Served, k.Lost, d)
	}
	// Count counts the attempts: more than the requests offered.
	p := newPlant(s.Scenario, s.curve, nil, 4096)
	p.tl = newTimeline(30)
	for sec := range int64(1800) {
		p.step(sec)
	}
	sn := &Sensor{p: p, start: s.Scenario.Start, seed: 1, cw: s.Scenario.CloudWatch}
	if count := mustStat(t, sn, mAPICount, "Sum", 0, 600, 1200); count < 600*110 {
		t.Errorf("Count %v over 10 minutes at 100/s offered: want the retries on top", count)
	}
}
