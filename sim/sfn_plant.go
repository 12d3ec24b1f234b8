package sim

import (
	"math"
	"math/rand/v2"
	"time"
)

// The model of topology (c), at 1-second resolution. Items are counted as
// fluids inside each execution (fractions are kept, so a rate of 0.3 items
// a second is not rounded away), and each execution keeps the
// MaxConcurrency in force when it started: Step Functions runs an
// execution on the definition it started with, so a change reaches only
// executions started after it.

const (
	sfnRing    = 512 // seconds of future completions and retries an execution keeps
	sfnMetrics = 16
)

// sfn metrics, as the controller reads them.
const (
	sfStarted        = iota // AWS/States ExecutionsStarted
	sfSucceeded             // AWS/States ExecutionsSucceeded
	sfFailed                // AWS/States ExecutionsFailed
	sfThrottled             // AWS/States ExecutionThrottled
	sfTime                  // AWS/States ExecutionTime (ms, one sample per finished execution)
	sfInvocations           // AWS/Lambda Invocations
	sfLThrottles            // AWS/Lambda Throttles
	sfConcurrent            // AWS/Lambda ConcurrentExecutions
	sfErrors                // AWS/Lambda Errors
	sfTPRequests            // Custom/ThirdParty Requests
	sfTP429                 // Custom/ThirdParty Throttled (HTTP 429)
	sfWCU                   // AWS/DynamoDB ConsumedWriteCapacityUnits
	sfWThrottle             // AWS/DynamoDB WriteThrottleEvents
	sfProvWCU               // AWS/DynamoDB ProvisionedWriteCapacityUnits
	sfMapConcurrency        // Custom/StepFunctions MapConcurrency: the sum of running executions' MaxConcurrency
	sfItems                 // Custom/StepFunctions ItemsSucceeded
)

var sfnMetricNames = map[string]int{
	"AWS/States ExecutionsStarted":                          sfStarted,
	"AWS/States ExecutionsSucceeded":                        sfSucceeded,
	"AWS/States ExecutionsFailed":                           sfFailed,
	"AWS/States ExecutionThrottled":                         sfThrottled,
	"AWS/States ExecutionTime":                              sfTime,
	"AWS/Lambda Invocations":                                sfInvocations,
	"AWS/Lambda Throttles":                                  sfLThrottles,
	"AWS/Lambda ConcurrentExecutions":                       sfConcurrent,
	"AWS/Lambda Errors":                                     sfErrors,
	"Custom/ThirdParty Requests":                            sfTPRequests,
	"Custom/ThirdParty Throttled":                           sfTP429,
	"AWS/DynamoDB ConsumedWriteCapacityUnits":               sfWCU,
	"AWS/DynamoDB WriteThrottleEvents":                      sfWThrottle,
	"AWS/DynamoDB ProvisionedWriteCapacityUnits":            sfProvWCU,
	"Custom/StepFunctions MapConcurrency":                   sfMapConcurrency,
	"Custom/StepFunctions ItemsSucceeded":                   sfItems,
	"AWS/DynamoDB WriteProvisionedThroughputThrottleEvents": sfWThrottle,
}

// sfnSparse metrics publish nothing for a period in which they were 0.
var sfnSparse = [sfnMetrics]bool{sfStarted: true, sfSucceeded: true, sfFailed: true, sfThrottled: true, sfTime: true,
	sfInvocations: true, sfLThrottles: true, sfConcurrent: true, sfErrors: true, sfTPRequests: true, sfTP429: true, sfWThrottle: true, sfItems: true}

// execution is one workflow run.
type execution struct {
	start   int64
	c       float64 // MaxConcurrency it started with
	dur     int64   // its items' Lambda duration, seconds
	pending float64 // items not started
	running float64 // items whose Lambda is running
	waiting float64 // items waiting for a retry
	done    [sfnRing]float64
	retry   [][sfnRing]float64 // items failed at attempt k, by the second of their retry
	failed  float64
}

// sfnPlant is the modelled system of one run.
type sfnPlant struct {
	sc  *SFNScenario
	rng *rand.Rand

	mapC     float64 // MaxConcurrency in the definition now
	reserved float64 // the Lambda's reserved concurrency
	wcu      float64 // the table's provisioned write capacity

	startTokens, tpTokens, wcuBank float64
	queue                          []int // batch: executions waiting in SQS (their first item index)
	arrivals                       float64
	next                           int // next batch index to enqueue
	running                        []*execution

	vals [sfnMetrics][]float64 // per second, whole run
	k    sfnKPIs
}

// sfnKPIs are the run's outcomes.
type sfnKPIs struct {
	durations        []float64 // seconds, per finished execution
	started, failed  int
	itemsDone        float64
	itemsRetried     float64
	itemsFailed      float64
	tp429, lThrottle float64
	tableThrottle    float64
	lastFinish       int64
}

func newSFNPlant(sc *SFNScenario, seconds int64) *sfnPlant {
	p := &sfnPlant{sc: sc, rng: rand.New(rand.NewPCG(sc.Seed, 0x7366)), mapC: sc.MaxConcurrency, reserved: sc.Reserved, wcu: sc.TableWrite,
		startTokens: sc.StartBucket, wcuBank: 300 * sc.TableWrite}
	for m := range p.vals {
		p.vals[m] = make([]float64, seconds)
	}
	return p
}

// arrive enqueues the executions that arrive at second t.
func (p *sfnPlant) arrive(t int64, rate float64) []float64 {
	sc := p.sc
	var sizes []float64
	if sc.Batch > 0 {
		if t == 0 {
			for i := 0; i < sc.Batch; i += sc.ItemsPerExecution {
				p.queue = append(p.queue, i)
			}
		}
		return nil
	}
	p.arrivals += rate
	for p.arrivals >= 1 {
		p.arrivals--
		sizes = append(sizes, p.drawItems())
	}
	return sizes
}

func (p *sfnPlant) drawItems() float64 {
	d := p.sc.Items
	sigma := math.Log(d.P99/d.Median) / 2.326
	return math.Max(1, math.Round(d.Median*math.Exp(sigma*p.rng.NormFloat64())))
}

// startExecutions starts what StartExecution's bucket (and the starter's
// in-flight limit) allows.
func (p *sfnPlant) startExecutions(t int64, sizes []float64) {
	sc := p.sc
	p.startTokens = math.Min(sc.StartBucket, p.startTokens+sc.StartRefill)
	retryAttempts := max(1, sc.Retry.MaxAttempts)
	for _, n := range sizes {
		if p.startTokens < 1 {
			p.vals[sfThrottled][t]++
			continue // the caller gives up; a real one retries, counted as throttled
		}
		p.startTokens--
		p.launch(t, n, sc.ItemDuration, retryAttempts)
	}
	for len(p.queue) > 0 && len(p.running) < sc.InFlight && p.startTokens >= 1 {
		i := p.queue[0]
		p.queue = p.queue[1:]
		n := math.Min(float64(sc.ItemsPerExecution), float64(sc.Batch-i))
		p.startTokens--
		p.launch(t, n, sc.durationOf(i), retryAttempts)
	}
}

func (p *sfnPlant) launch(t int64, items float64, d time.Duration, levels int) {
	e := &execution{start: t, c: p.mapC, dur: max(1, int64(math.Round(d.Seconds()))), pending: items, retry: make([][sfnRing]float64, levels+1)}
	p.running = append(p.running, e)
	p.vals[sfStarted][t]++
	p.k.started++
}

// step simulates second t; rate is the executions arriving per second.
func (p *sfnPlant) step(t int64, rate float64) {
	p.startExecutions(t, p.arrive(t, rate))
	slot := t % sfnRing
	levels := max(1, p.sc.Retry.MaxAttempts)
	// Attempts of this second, by execution and attempt number.
	att := make([][]float64, len(p.running))
	var want float64
	for i, e := range p.running {
		done := e.done[slot]
		e.done[slot] = 0
		e.running = math.Max(0, e.running-done)
		p.k.itemsDone += done
		p.vals[sfItems][t] += done
		a := make([]float64, levels+1)
		held := e.running + e.waiting
		for k := 1; k < levels; k++ {
			a[k+1] = e.retry[k][slot] // retried after attempt k: attempt k+1
			e.retry[k][slot] = 0
			e.waiting = math.Max(0, e.waiting-a[k+1])
		}
		a[1] = math.Min(e.pending, math.Max(0, e.c-held)) // a Map iteration holds its slot through retries
		e.pending -= a[1]
		for _, x := range a {
			want += x
		}
		att[i] = a
	}
	ok := p.serve(t, want)
	p.settle(t, att, ok, levels)
	p.finish(t)
}

// serve passes this second's attempts through the Lambda's reservation,
// the third party's hard limit and the table's capacity, and returns the
// share that succeeds.
func (p *sfnPlant) serve(t int64, want float64) float64 {
	sc := p.sc
	inFlight := 0.0
	for _, e := range p.running {
		inFlight += e.running
	}
	admitted := math.Min(want, math.Max(0, p.reserved-inFlight))
	// The third party counts requests in fixed one-minute windows, the
	// "N requests per minute" kind: a burst is fine, the minute's total
	// is not.
	if t%60 == 0 {
		p.tpTokens = sc.ThirdPartyRate * 60
	}
	calls := admitted
	tpOK := math.Min(calls, p.tpTokens)
	p.tpTokens -= tpOK
	p.wcuBank = math.Min(300*p.wcu, p.wcuBank+p.wcu)
	wOK := math.Min(tpOK, p.wcuBank)
	p.wcuBank -= wOK
	p.vals[sfInvocations][t] = admitted
	p.vals[sfLThrottles][t] = want - admitted
	p.vals[sfErrors][t] = admitted - wOK
	p.vals[sfTPRequests][t] = calls
	p.vals[sfTP429][t] = calls - tpOK
	p.vals[sfWCU][t] = wOK
	p.vals[sfWThrottle][t] = tpOK - wOK
	p.vals[sfProvWCU][t] = p.wcu
	p.k.lThrottle += want - admitted
	p.k.tp429 += calls - tpOK
	p.k.tableThrottle += tpOK - wOK
	if want <= 0 {
		return 1
	}
	return wOK / want
}

// settle moves each execution's attempts on: successes run for the
// item's duration, failures wait for a retry (backoff with full jitter)
// until MaxAttempts, then fail the item.
func (p *sfnPlant) settle(t int64, att [][]float64, ok float64, levels int) {
	r := p.sc.Retry
	conc, mapC := 0.0, 0.0
	for i, e := range p.running {
		for k := 1; k <= levels; k++ {
			a := att[i][k]
			if a <= 0 {
				continue
			}
			succ := a * ok
			e.running += succ
			// Items of one kind still differ: their durations spread
			// evenly over [d/2, 3d/2], which also keeps items started in
			// one second from finishing, and calling again, in lockstep.
			lo, hi := max(1, e.dur/2), max(1, e.dur*3/2)
			for d := lo; d <= hi; d++ {
				e.done[(t+d)%sfnRing] += succ / float64(hi-lo+1)
			}
			fail := a - succ
			if fail <= 0 {
				continue
			}
			if k >= levels {
				e.failed += fail
				p.k.itemsFailed += fail
				continue
			}
			// Full jitter: the wait is uniform in (0, interval × rate^(k−1)].
			span := int64(math.Ceil(r.Interval.Seconds() * math.Pow(r.BackoffRate, float64(k-1))))
			span = min(max(span, 1), sfnRing-1)
			for d := int64(1); d <= span; d++ {
				e.retry[k][(t+d)%sfnRing] += fail / float64(span)
			}
			e.waiting += fail
			p.k.itemsRetried += fail
		}
		conc += e.running
		mapC += e.c
	}
	p.vals[sfConcurrent][t] = conc
	p.vals[sfMapConcurrency][t] = mapC
}

// finish closes the executions with nothing left to do.
func (p *sfnPlant) finish(t int64) {
	n := 0
	for _, e := range p.running {
		if e.pending+e.running+e.waiting > 1e-3 {
			p.running[n] = e
			n++
			continue
		}
		d := float64(t - e.start + 1)
		p.k.durations = append(p.k.durations, d)
		p.k.lastFinish = t + 1
		p.vals[sfTime][t] = math.Max(p.vals[sfTime][t], d*1000)
		if e.failed >= 0.5 {
			p.k.failed++
			p.vals[sfFailed][t]++
		} else {
			p.vals[sfSucceeded][t]++
		}
	}
	clear(p.running[n:])
	p.running = p.running[:n]
}

// busy reports whether any execution is running or waiting to start.
func (p *sfnPlant) busy() bool { return len(p.running) > 0 || len(p.queue) > 0 }
