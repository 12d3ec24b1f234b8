package sim

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/autotuner/autotuner/config"
)

// "Every 10 seconds, Lambda can allocate at most 1,000 additional
// execution environment instances ... to each of your functions"
// (https://docs.aws.amazon.com/lambda/latest/dg/scaling-behavior.html):
// from no environments, a flood reaches at most 1,000 more concurrency per
// 10 s, and the rest is throttled.
func TestLambdaScalingRate(t *testing.T) {
	f := lambdaFn{reserved: 1e9, classes: fill(5)}
	f.scaling = scaling{per10s: 1000, tokens: 1000}
	conc := 0.0
	throttled := 0.0
	for sec := int64(0); sec < 60; sec++ {
		carried := f.carry(sec)
		want := 10000.0 // 10,000 invocations/s of 5 s want 50,000
		ok := min(want, f.room(f.limit(), carried, f.e0(0)))
		throttled += want - ok
		conc = f.grow(sec, f.start(sec, ok, 0))
		// After second s Lambda may have added 1,000 + 100·s.
		if limit := 1000 + 100*float64(sec); conc > limit+1e-6 {
			t.Fatalf("second %d: concurrency %v beyond the scaling rate's %v", sec, conc, limit)
		}
	}
	if conc < 6000 || throttled == 0 {
		t.Errorf("after a minute: concurrency %v (want about 1,000 + 100/s × 59 s), throttled %v", conc, throttled)
	}
	// With the rate turned off, the reservation alone binds.
	g := lambdaFn{reserved: 1e9, classes: fill(5)}
	g.carry(0)
	if got := g.start(0, g.room(g.limit(), 0, g.e0(0)), 0); !math.IsInf(g.limit(), 0) && got < 1e6 {
		t.Errorf("scaling_per_10s 0: limited to %v", got)
	}
}

// A new environment takes the cold start before its first invocation, so
// a step in load occupies more concurrency for that time; warm
// environments do not.
func TestLambdaColdStartOccupiesNewEnvironments(t *testing.T) {
	f := lambdaFn{reserved: 1e9, classes: fill(0.5)}
	f.scaling = scaling{coldStart: 2, idle: 600}
	f.carry(0)
	c0 := f.grow(0, f.start(0, 100, 0))
	// 100 invocations of 0.5 s need 50 environments, each new.
	if want := 100*0.5 + 50; math.Abs(c0-want) > 1e-9 {
		t.Errorf("first second: concurrency %v, want 50 busy + 50 initializing", c0)
	}
	f.carry(1)
	f.carry(2)
	f.carry(3)
	c3 := f.grow(3, f.start(3, 100, 0))
	if want := 100 * 0.5; math.Abs(c3-want) > 1e-9 || f.scaling.cold != 0 {
		t.Errorf("same load later: concurrency %v with %v cold, want 50 and none (the environments are warm)", c3, f.scaling.cold)
	}
}

// A function without a reservation shares the unreserved pool: the
// account's concurrency less what the other functions reserve and use
// (https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html);
// the actuator's ceiling leaves the other reservations and the 100
// unreserved executions alone.
func TestLambdaAccountKnobs(t *testing.T) {
	s := setup(t, `
duration: 10m
topology:
  kind: api-lambda-dynamodb
  api: {rate: 5000, burst: 5000}
  lambda: {name: fn, unreserved: true, account_concurrency: 400, other_reserved: 150, other_usage: 200, duration: {median: 1s, p99: 1s}}
traffic: {rate: 300}
`, tablePolicies)
	p := newPlant(s.Scenario, s.curve, nil, 4096)
	if p.fn.reserved != 50 {
		t.Errorf("unreserved pool %v, want 400 − 150 − 200 = 50", p.fn.reserved)
	}
	act := &Actuator{p: p, start: s.Scenario.Start, notes: &notes{}}
	f, err := parsePolicies(s)
	if err != nil {
		t.Fatal(err)
	}
	st, err := act.Current(t.Context(), f.Targets[0], s.Scenario.Start)
	if err != nil {
		t.Fatal(err)
	}
	if st.Constraints.Ceiling != 150 {
		t.Errorf("ceiling %v, want 400 − 100 unreserved − 150 reserved by others", st.Constraints.Ceiling)
	}
	// No reservation reads as unset, with the pool as its value, as
	// GetFunctionConcurrency reports it; setting one reserves.
	if !st.Unset || st.Value != 50 {
		t.Errorf("unreserved function reads %+v, want unset with the pool of 50", st)
	}
	tg := &config.Target{Name: "fn", Kind: config.LambdaReservedConcurrency, Function: "fn", Min: 1, Max: 1000}
	if err := act.Apply(t.Context(), tg, 50, 151, s.Scenario.Start); err == nil {
		t.Error("a reservation above the ceiling was accepted")
	}
	if err := act.Apply(t.Context(), tg, 50, 30, s.Scenario.Start); err != nil {
		t.Fatal(err)
	}
	p.applyDue(0)
	if st, _ := act.Current(t.Context(), tg, s.Scenario.Start); st.Unset || st.Value != 30 {
		t.Errorf("after reserving 30: %+v", st)
	}
	_, err = ParseScenario("x", []byte(`
duration: 1h
topology: {kind: sqs-lambda-dynamodb-downstream, queue: {name: q}, lambda: {async: {}}}
traffic: {rate: 1}
`))
	if err == nil || !strings.Contains(err.Error(), "topology.lambda.async") {
		t.Errorf("async behind a queue: %v", err)
	}
}

// Asynchronous invocation: "for throttling errors (429) ... Lambda returns
// the event to the queue and attempts to run the function again for up
// to 6 hours by default. The retry interval increases exponentially from
// 1 second after the first attempt to a maximum of 5 minutes", and a
// function error is retried twice, after 1 and then 2 minutes
// (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html).
func TestAsyncInvocationRetries(t *testing.T) {
	q := newAsync(&Async{MaxEventAge: Duration(6 * time.Hour), RetryAttempts: ptr(2)})
	// Throttled retries come at 1, 2, 4 ... seconds, then every 5 minutes.
	got := []int64{}
	for j := range 12 {
		got = append(got, throttleWait(j))
	}
	want := []int64{1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("waits %v, want %v", got, want)
		}
	}
	// An event throttled on every attempt expires after 6 hours; its
	// attempts all count as throttles.
	throttles, sec := 0.0, int64(0)
	for ; sec < 7*3600; sec++ {
		fresh := 0.0
		if sec == 0 {
			fresh = 1
		}
		throttles += q.attempts(sec, fresh)
		q.settle(sec, 1, 0)
		if q.newExpired > 0 {
			break
		}
	}
	if sec < 6*3600-maxThrottleWait || sec > 6*3600 {
		t.Errorf("a throttled event expired at %v, want at 6 hours", time.Duration(sec)*time.Second)
	}
	if throttles < 70 || throttles > 90 {
		t.Errorf("%v throttles for one event over 6 hours, want about 9 + (6 h − 511 s) / 5 min ≈ 79", throttles)
	}
	// A failing event is tried three times in all, at 0, 1 and 3 minutes.
	q = newAsync(&Async{MaxEventAge: Duration(6 * time.Hour), RetryAttempts: ptr(2)})
	var tries []int64
	for sec := int64(0); sec < 600; sec++ {
		fresh := 0.0
		if sec == 0 {
			fresh = 1
		}
		if q.attempts(sec, fresh) > 0 {
			tries = append(tries, sec)
		}
		q.settle(sec, 0, 1)
	}
	if len(tries) != 3 || tries[1] != 60 || tries[2] != 180 || q.newFailed != 1 {
		t.Errorf("attempts at %v s, lost %v; want 0, 60 and 180, then lost", tries, q.newFailed)
	}
}

// In a whole plant, an asynchronous function's callers lose nothing to a
// short throttle: the events wait and are served late (delayed), and what
// was offered is served, lost or still waiting.
func TestAsyncPlantDelaysInsteadOfLosing(t *testing.T) {
	s := setup(t, `
duration: 2h
warmup: 0s
topology:
  kind: api-lambda-dynamodb
  api: {rate: 5000, burst: 5000}
  lambda: {name: fn, reserved: 12, duration: {median: 1s, p99: 1s}, async: {max_event_age: 1h}}
traffic: {rate: 10}
faults:
  - {kind: surge, at: 30m, for: 10m, factor: 1.5}
`, strings.ReplaceAll(strings.ReplaceAll(tablePolicies, "500", "12"), "min: 12", "min: 1"))
	res, _ := run(t, s, PolicyAutotuner)
	k := res.KPIs
	if res.Layers.Lambda == 0 || k.Delayed == 0 {
		t.Fatalf("throttles %d, delayed %d: want both", res.Layers.Lambda, k.Delayed)
	}
	if k.Lost != 0 {
		t.Errorf("lost %d: a 10-minute surge within an hour's event age should lose nothing", k.Lost)
	}
	if d := k.Offered - k.Served - k.Lost; d < -2 || d > 50 {
		t.Errorf("offered %d − served %d − lost %d = %d, want only the events still waiting", k.Offered, k.Served, k.Lost, d)
	}
}
