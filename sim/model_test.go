package sim

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/controller"
)

// From a full bucket under unlimited demand, API Gateway admits
// burst + rate × t requests in seconds 0..t (a bucket holds at least one
// second of refill, as API Gateway's burst ≥ rate in practice).
func TestTokenBucketAdmitsRateTimesTPlusBurst(t *testing.T) {
	for _, tc := range []struct{ rate, burst float64 }{{10, 50}, {2.5, 5}, {1000, 5000}, {0.5, 3}} {
		b := tokenBucket{rate: tc.rate, burst: tc.burst, tokens: tc.burst}
		total := 0.0
		for sec := 0; sec <= 600; sec++ {
			total += b.admit(1e9)
			want := math.Floor(tc.burst + tc.rate*float64(sec) + 1e-9)
			if total != want {
				t.Fatalf("rate %v burst %v: after %ds admitted %v, want burst + rate×t = %v", tc.rate, tc.burst, sec, total, want)
			}
		}
	}
	rapid.Check(t, func(rt *rapid.T) {
		rate := rapid.Float64Range(0.01, 4999).Draw(rt, "rate")
		burst := float64(rapid.IntRange(int(math.Ceil(rate))+1, 5001).Draw(rt, "burst"))
		secs := rapid.IntRange(0, 2000).Draw(rt, "secs")
		b := tokenBucket{rate: rate, burst: burst, tokens: burst}
		total := 0.0
		for s := 0; s <= secs; s++ {
			total += b.admit(1e12)
		}
		if want := burst + rate*float64(secs); math.Abs(total-want) >= 1 {
			rt.Fatalf("admitted %v, want %v ± 1", total, want)
		}
	})
}

// Little's law: at a steady arrival rate the mean concurrency is arrival
// rate × mean duration, for any duration distribution.
func TestLambdaConcurrencyFollowsLittlesLaw(t *testing.T) {
	logn := durationClasses(&DurationDist{Median: Duration(200 * time.Millisecond), P99: Duration(3 * time.Second)}, nil)
	for _, tc := range []struct {
		name    string
		classes [nClasses]float64
		rate    float64
	}{
		{"300ms", fill(0.3), 40},
		{"1s", fill(1), 7},
		{"2.5s", fill(2.5), 10},
		{"7.25s", fill(7.25), 3},
		{"lognormal", logn, 55},
	} {
		f := lambdaFn{reserved: 1e9, classes: tc.classes}
		mean := 0.0
		for _, d := range tc.classes {
			mean += d / nClasses
		}
		var conc float64
		for sec := int64(0); sec < 200; sec++ {
			f.carry(sec)
			conc = f.start(sec, tc.rate, 0)
		}
		if want := tc.rate * mean; math.Abs(conc-want) > 1e-9*want {
			t.Errorf("%s: concurrency %v, want rate × mean duration = %v", tc.name, conc, want)
		}
	}
}

func fill(d float64) (out [nClasses]float64) {
	for i := range out {
		out[i] = d
	}
	return out
}

// Reserved concurrency caps the function: what does not fit is throttled,
// and concurrency never exceeds the reservation.
func TestLambdaReservedConcurrencyCaps(t *testing.T) {
	f := lambdaFn{reserved: 20, classes: fill(2)}
	admitted, offered := 0.0, 0.0
	for sec := int64(0); sec < 100; sec++ {
		carried := f.carry(sec)
		n := math.Min(30, f.room(f.reserved, carried, f.e0(0)))
		offered += 30
		admitted += n
		if c := f.start(sec, n, 0); c > 20+1e-9 {
			t.Fatalf("second %d: concurrency %v above the reservation of 20", sec, c)
		}
	}
	// 20 slots of 2 s each serve 10 per second in the long run.
	if got, want := admitted/100, 10.0; math.Abs(got-want) > 0.25 {
		t.Errorf("admitted %v/s, want about %v/s (reserved / duration)", got, want)
	}
}

// DynamoDB "retains up to 5 minutes (300 seconds) of unused read and
// write capacity" (https://repost.aws/knowledge-center/dynamodb-spiky-workloads-short-intervals):
// with burst_seconds at its default the bank holds exactly 300 s and is
// spent on a spike before throttling.
func TestBurstBankAbsorbsExactly300Seconds(t *testing.T) {
	c := newCapacity(100, false, maxBurstSeconds, 0, 0)
	for range 1000 { // idle far longer than 300 s: the bank stops at 300 s
		c.consume(0)
	}
	if c.bank != maxBurstSeconds*100 {
		t.Fatalf("bank after idling %v, want 300 × 100", c.bank)
	}
	full := 0
	for {
		if c.consume(200) < 200 {
			break
		}
		full++
		if full > 10000 {
			t.Fatal("never throttled")
		}
	}
	if full != 300 {
		t.Errorf("double the provisioned capacity was served for %d s, want 300", full)
	}
	// Half-used capacity refills the bank at half the rate.
	c = newCapacity(10, false, maxBurstSeconds, 0, 0)
	for range 100 {
		c.consume(5)
	}
	if c.bank != 500 {
		t.Errorf("bank %v after 100 s at half use, want 500", c.bank)
	}
}

// A queue grows by arrivals minus service, oldest first.
func TestQueueGrowthIsArrivalMinusService(t *testing.T) {
	q := newQueue()
	const in, out = 10.0, 4.0
	for sec := int64(0); sec < 10000; sec++ {
		q.push(sec, in)
		q.pop(out)
		if want := (in - out) * float64(sec+1); math.Abs(q.depth-want) > 1e-6 {
			t.Fatalf("second %d: depth %v, want %v", sec, q.depth, want)
		}
		// The oldest message left was sent in second ⌊out·(sec+1)/in⌋.
		if want := float64(sec - int64(math.Floor(out*float64(sec+1)/in+1e-9))); q.age(sec) != want {
			t.Fatalf("second %d: age %v, want %v", sec, q.age(sec), want)
		}
	}
}

// In a whole plant, whatever was offered and not served is still queued.
func TestPlantQueueHoldsOfferedMinusServed(t *testing.T) {
	s := setup(t, `
duration: 1h
warmup: 0s
topology:
  kind: sqs-lambda-dynamodb-downstream
  queue: {name: q}
  lambda: {name: fn, reserved: 5, duration: {median: 1s, p99: 2s}}
  table: {name: t, write: 1000}
  downstream: {name: d, capacity: 1000}
traffic: {rate: 30}
`, `
version: 1
targets:
  - name: fn
    kind: lambda-reserved-concurrency
    function: fn
    min: 5
    max: 5
    signals:
      busy: {namespace: AWS/Lambda, metric: ConcurrentExecutions, dimensions: {FunctionName: fn}, stat: Maximum}
    policy:
      static: {value: 5}
`)
	res, _ := run(t, s, PolicyAutotuner)
	k := res.KPIs
	last := len(res.Timeline.QueueDepth) - 1
	if k.Offered < 2*k.Served {
		t.Fatalf("offered %d, served %d: the reservation of 5 should serve well under half", k.Offered, k.Served)
	}
	if got, want := res.Timeline.QueueDepth[last], float64(k.Offered-k.Served); math.Abs(got-want) > 2 {
		t.Errorf("queue depth %v at the end, want offered − served = %v", got, want)
	}
}

// The simulated DynamoDB accepts and rejects decreases exactly as AWS's
// rule says: 4 at any time in a UTC day, then one per hour since the last,
// at most 27 a day, counted afresh at midnight UTC.
func TestDecreaseQuotaMatchesAWSRule(t *testing.T) {
	s := setup(t, `
duration: 1h
topology:
  kind: api-lambda-dynamodb
  api: {rate: 100}
  table: {name: t, write: 40000}
traffic: {rate: 1}
`, "")
	p := newPlant(s.Scenario, s.curve, nil, 3600)
	act := &Actuator{p: p, start: s.Scenario.Start, notes: &notes{}}
	tg := &config.Target{Name: "w", Kind: config.DynamoDBProvisioned, Table: "t", Capacity: "write"}

	// AWS's rule, written out independently of policy.DecreaseQuota.
	type day struct {
		n    int
		last time.Time
	}
	days := map[string]*day{}
	awsAllows := func(now time.Time) bool {
		d := days[now.UTC().Format("2006-01-02")]
		if d == nil {
			return true
		}
		return d.n < 4 || (d.n < 27 && now.Sub(d.last) >= time.Hour)
	}

	value := 40000.0
	accepted, rejected := 0, 0
	for i := 0; i < 3*24*6; i++ { // every 10 minutes for three days
		now := s.Scenario.Start.Add(time.Duration(i) * 10 * time.Minute)
		p.applyDue(int64(now.Sub(s.Scenario.Start) / time.Second))
		want := awsAllows(now)
		err := act.Apply(t.Context(), tg, value, value-1, now)
		if got := err == nil; got != want {
			t.Fatalf("%s: decrease accepted=%v, AWS's rule says %v (err %v)", now.Format(time.RFC3339), got, want, err)
		}
		if err != nil {
			rejected++
			if c := controller.Classify(err); c != controller.ClassQuota {
				t.Fatalf("rejected with class %q, want %q", c, controller.ClassQuota)
			}
			continue
		}
		accepted++
		value--
		key := now.UTC().Format("2006-01-02")
		if days[key] == nil {
			days[key] = &day{}
		}
		days[key].n++
		days[key].last = now
		// The decrease takes effect after its UPDATING time.
		p.applyDue(int64(now.Sub(s.Scenario.Start)/time.Second) + s.Scenario.Actuation.DynamoDBDecrease.Seconds())
	}
	if accepted != 3*27 {
		t.Errorf("accepted %d decreases in three days, want 3 × 27", accepted)
	}
	if act.Violations != rejected {
		t.Errorf("violations %d, want one per rejected call (%d)", act.Violations, rejected)
	}
}

// While a table is UPDATING, another update is refused as AWS refuses it,
// and the actuator tells the policy it is blocked.
func TestDynamoDBUpdatingBlocks(t *testing.T) {
	s := setup(t, `
duration: 1h
topology:
  kind: api-lambda-dynamodb
  api: {rate: 100}
  table: {name: t, write: 100}
actuation: {dynamodb_updating: 4m}
traffic: {rate: 1}
`, "")
	p := newPlant(s.Scenario, s.curve, nil, 3600)
	act := &Actuator{p: p, start: s.Scenario.Start, notes: &notes{}}
	tg := &config.Target{Name: "w", Kind: config.DynamoDBProvisioned, Table: "t", Capacity: "write"}
	now := s.Scenario.Start
	if err := act.Apply(t.Context(), tg, 100, 200, now); err != nil {
		t.Fatal(err)
	}
	st, _ := act.Current(t.Context(), tg, now.Add(time.Minute))
	if st.Value != 100 || st.Constraints.Blocked == "" {
		t.Errorf("during UPDATING: value %v blocked %q, want the old 100 and blocked", st.Value, st.Constraints.Blocked)
	}
	err := act.Apply(t.Context(), tg, 100, 300, now.Add(time.Minute))
	if controller.Classify(err) != controller.ClassConflict {
		t.Errorf("update during UPDATING: %v, want a conflict (ResourceInUseException)", err)
	}
	p.applyDue(4 * 60)
	if st, _ := act.Current(t.Context(), tg, now.Add(4*time.Minute)); st.Value != 200 || st.Constraints.Blocked != "" {
		t.Errorf("after UPDATING: %+v, want 200 and not blocked", st)
	}
}

// API Gateway takes one usage-plan update per 20 s, and says so in
// NotBefore so that the engine waits.
func TestUsagePlanUpdateRate(t *testing.T) {
	s := setup(t, `
duration: 1h
topology:
  kind: api-lambda-dynamodb
  api: {rate: 100, usage_plan: x}
traffic: {rate: 1}
`, "")
	p := newPlant(s.Scenario, s.curve, nil, 3600)
	act := &Actuator{p: p, start: s.Scenario.Start, notes: &notes{}}
	tg := &config.Target{Name: "plan", Kind: config.APIGatewayUsagePlan, UsagePlan: "x", Limit: "rate", BurstRatio: 2}
	now := s.Scenario.Start
	if err := act.Apply(t.Context(), tg, 100, 150, now); err != nil {
		t.Fatal(err)
	}
	p.applyDue(0)
	if b := p.knobValue(kAPIBurst); b != 300 {
		t.Errorf("burst %v, want rate × burst_ratio = 300", b)
	}
	st, _ := act.Current(t.Context(), tg, now.Add(5*time.Second))
	if want := now.Add(20 * time.Second); !st.Constraints.NotBefore.Equal(want) {
		t.Errorf("NotBefore %v, want %v", st.Constraints.NotBefore, want)
	}
	if err := act.Apply(t.Context(), tg, 150, 200, now.Add(5*time.Second)); controller.Classify(err) != controller.ClassThrottled || act.Violations != 1 {
		t.Errorf("second update within 20 s: %v (violations %d), want TooManyRequestsException", err, act.Violations)
	}
	if err := act.Apply(t.Context(), tg, 150, 200, now.Add(20*time.Second)); err != nil {
		t.Errorf("update after 20 s: %v", err)
	}
}

// The Poisson sampler has the right mean and variance in each of its
// regimes.
func TestPoissonMoments(t *testing.T) {
	g := poissonGen{r: rand.New(rand.NewPCG(1, 2))}
	for _, lam := range []float64{0.3, 4, 9.9, 10, 25, 150, 999, 5000} {
		const n = 200000
		var s, s2 float64
		for range n {
			k := g.draw(lam)
			if k < 0 || k != math.Trunc(k) {
				t.Fatalf("lam %v: drew %v", lam, k)
			}
			s += k
			s2 += k * k
		}
		mean := s / n
		variance := s2/n - mean*mean
		// Within 5 standard errors.
		if se := math.Sqrt(lam / n); math.Abs(mean-lam) > 5*se {
			t.Errorf("lam %v: mean %v", lam, mean)
		}
		if math.Abs(variance-lam) > 0.03*lam+0.01 {
			t.Errorf("lam %v: variance %v", lam, variance)
		}
	}
}

// The simulated world checks the product's promise to stay within bounds
// with its own eyes: a change outside them is refused and counted as a
// violation, as a quota breach is.
func TestBoundsBreachIsAViolation(t *testing.T) {
	s := setup(t, `
duration: 1h
topology:
  kind: api-lambda-dynamodb
  api: {rate: 100}
  lambda: {name: f, reserved: 10}
  table: {name: t, write: 100}
traffic: {rate: 1}
`, "")
	p := newPlant(s.Scenario, s.curve, nil, 3600)
	act := &Actuator{p: p, start: s.Scenario.Start, notes: &notes{}}
	tg := &config.Target{Name: "f", Kind: config.LambdaReservedConcurrency, Function: "f", Min: 5, Max: 50}
	now := s.Scenario.Start
	for _, to := range []float64{51, 4} {
		if err := act.Apply(t.Context(), tg, 10, to, now); controller.Classify(err) != controller.ClassInvalid {
			t.Errorf("apply %v outside [5, 50]: %v, want refused", to, err)
		}
	}
	if err := act.Apply(t.Context(), tg, 10, 50, now); err != nil {
		t.Fatal(err)
	}
	if act.Violations != 2 {
		t.Errorf("violations = %d, want 2", act.Violations)
	}
}

// The simulated table takes its read and write changes in one UpdateTable,
// as the real actuator sends them: one UPDATING and one decrease for both.
func TestDynamoDBReadAndWriteInOneUpdate(t *testing.T) {
	s := setup(t, `
duration: 1h
topology:
  kind: api-lambda-dynamodb
  api: {rate: 100}
  table: {name: t, read: 50, write: 100}
actuation: {dynamodb_updating: 4m, dynamodb_decrease: 2m}
traffic: {rate: 1}
`, "")
	p := newPlant(s.Scenario, s.curve, nil, 3600)
	act := &Actuator{p: p, start: s.Scenario.Start, notes: &notes{}}
	r := &config.Target{Name: "r", Kind: config.DynamoDBProvisioned, Table: "t", Capacity: "read", Min: 1, Max: 1000}
	w := &config.Target{Name: "w", Kind: config.DynamoDBProvisioned, Table: "t", Capacity: "write", Min: 1, Max: 1000}
	if act.CoalesceKey(r) != act.CoalesceKey(w) || act.CoalesceKey(r) == "" {
		t.Fatalf("keys %q %q", act.CoalesceKey(r), act.CoalesceKey(w))
	}
	now := s.Scenario.Start
	errs := act.ApplyGroup(t.Context(), []controller.Change{{Target: r, From: 50, To: 40}, {Target: w, From: 100, To: 80}}, now)
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("errors %v", errs)
	}
	if q := p.table.quota; q.Today != 1 {
		t.Errorf("decreases spent = %d, want 1 for both", q.Today)
	}
	p.applyDue(2 * 60)
	for _, tg := range []*config.Target{r, w} {
		st, _ := act.Current(t.Context(), tg, now.Add(2*time.Minute))
		if want := map[string]float64{"r": 40, "w": 80}[tg.Name]; st.Value != want || st.Constraints.Blocked != "" {
			t.Errorf("%s after the update: %+v, want %v", tg.Name, st, want)
		}
	}
	// While UPDATING, both are refused.
	errs = act.ApplyGroup(t.Context(), []controller.Change{{Target: r, From: 40, To: 60}, {Target: w, From: 80, To: 90}}, now.Add(time.Minute))
	for i, err := range errs {
		if controller.Classify(err) != controller.ClassConflict {
			t.Errorf("change %d during UPDATING: %v, want a conflict", i, err)
		}
	}
	if act.Violations != 0 {
		t.Errorf("violations = %d", act.Violations)
	}
}
