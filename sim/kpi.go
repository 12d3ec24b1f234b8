package sim

import (
	"math"
)

// KPIs are one run's key numbers. The JSON names are a stable interface:
// other tools read them.
type KPIs struct {
	Offered         int64   `json:"offered"`         // requests offered at the entry
	Served          int64   `json:"served"`          // requests that went through every layer
	Throttled       int64   `json:"throttled"`       // throttle events at every layer (see Layers)
	Lost            int64   `json:"lost"`            // requests that never succeed (see Losses)
	Delayed         int64   `json:"delayed"`         // requests that failed at least once, then succeeded on a retry
	OverloadS       int64   `json:"overload_s"`      // seconds a dependency behind the function was over capacity
	MaxQueueAgeS    float64 `json:"max_queue_age_s"` // oldest message, worst second
	P99QueueAgeS    float64 `json:"p99_queue_age_s"` // oldest message, 99th percentile over seconds
	CostUSD         float64 `json:"cost_usd"`        // capacity cost at list price
	Actuations      int     `json:"actuations"`      // changes applied
	Reversals       int     `json:"reversals"`       // a change in the other direction from the target's last one
	QuotaViolations int     `json:"quota_violations"`
}

// Layers splits the throttle events by where they happened. A throttle
// event is not a lost request: behind a queue it is retried, and one
// request may be throttled many times.
type Layers struct {
	APIGateway int64 `json:"api_gateway"` // 429s
	Lambda     int64 `json:"lambda"`      // Throttles (retried by the SQS poller, lost for a synchronous caller)
	DynamoDB   int64 `json:"dynamodb"`    // requests failed by throttle events
	Downstream int64 `json:"downstream"`  // calls the overloaded dependency failed (not counted in throttled)
}

// Losses splits the lost requests by cause. They sum to KPIs.Lost.
type Losses struct {
	Throttled  int64 `json:"throttled"`   // synchronous throttles the client gave up on
	Failed     int64 `json:"failed"`      // failed calls (throttled table, overloaded dependency) nobody retries
	DeadLetter int64 `json:"dead_letter"` // messages moved to the dead-letter queue
	Expired    int64 `json:"expired"`     // messages or events that aged out before they were processed
}

// Timeline is one run, minute by minute. Rates are per second averaged
// over the minute; counts are per minute; limits are as at the minute's end.
type Timeline struct {
	Offered, Served, Lost, Delayed                                   []float64
	APIThrottled, LambdaThrottled, TableThrottled, DownstreamErrors  []float64
	APIRate                                                          []float64
	LambdaNeed, LambdaUsed, LambdaLimit                              []float64
	TableNeed, TableUsed, TableLimit                                 []float64
	QueueDepth, QueueAge                                             []float64
	DownstreamLoad, DownstreamCapacity, DownstreamLatencyMs, CostUSD []float64
}

func newTimeline(minutes int64) *Timeline {
	tl := &Timeline{}
	for _, c := range tl.columns() {
		*c = make([]float64, 0, minutes)
	}
	return tl
}

// columns lists every series of the timeline.
func (tl *Timeline) columns() []*[]float64 {
	return []*[]float64{&tl.Offered, &tl.Served, &tl.Lost, &tl.Delayed, &tl.APIThrottled, &tl.LambdaThrottled, &tl.TableThrottled, &tl.DownstreamErrors,
		&tl.APIRate, &tl.LambdaNeed, &tl.LambdaUsed, &tl.LambdaLimit, &tl.TableNeed, &tl.TableUsed, &tl.TableLimit,
		&tl.QueueDepth, &tl.QueueAge, &tl.DownstreamLoad, &tl.DownstreamCapacity, &tl.DownstreamLatencyMs, &tl.CostUSD}
}

// Result is the outcome of one policy on one scenario.
type Result struct {
	Policy   string    `json:"policy"`
	KPIs     KPIs      `json:"kpis"`
	Layers   Layers    `json:"layers"`
	Losses   Losses    `json:"losses"`
	Timeline *Timeline `json:"-"`
	Notes    []string  `json:"-"`
}

func (p *plant) result(policyName string, acct *accounting, violations int) *Result {
	k := &p.k
	r := &Result{Policy: policyName, Timeline: p.tl}
	r.Layers = Layers{APIGateway: round(k.apiThrottled), Lambda: round(k.lambdaThrottled), DynamoDB: round(k.tableThrottled), Downstream: round(k.downstreamErrors)}
	r.Losses = Losses{Throttled: round(k.lost[lostThrottled]), Failed: round(k.lost[lostFailed]), DeadLetter: round(k.lost[lostDeadLetter]), Expired: round(k.lost[lostExpired])}
	r.KPIs = KPIs{
		Offered:         round(k.offered),
		Served:          round(k.served),
		Throttled:       r.Layers.APIGateway + r.Layers.Lambda + r.Layers.DynamoDB,
		Lost:            r.Losses.Throttled + r.Losses.Failed + r.Losses.DeadLetter + r.Losses.Expired,
		Delayed:         round(k.delayed),
		OverloadS:       k.overloadS,
		MaxQueueAgeS:    k.maxAge,
		P99QueueAgeS:    k.p99Age(),
		CostUSD:         math.Round(k.cost*1e4) / 1e4,
		Actuations:      acct.actuations,
		Reversals:       acct.reversals,
		QuotaViolations: violations,
	}
	return r
}

func round(v float64) int64 { return int64(math.Round(v)) }

// lossCause is why a request was lost; each has a field in Losses.
type lossCause int

const (
	lostThrottled  lossCause = iota // a synchronous throttle with no retry left
	lostFailed                      // a failed call with no retry left
	lostDeadLetter                  // a message moved to the dead-letter queue
	lostExpired                     // a message or event that aged out
	nLossCauses
)

// lose counts n requests that will never succeed. Every model of a loss
// (client retries given up, dead-letter queues, expiry) reports here, so
// lost is one sum however many sources there are.
func (k *kpis) lose(c lossCause, n float64) {
	if n <= 0 {
		return
	}
	k.lost[c] += n
	k.minuteLost += n
}

// delay counts n requests that succeeded after at least one failure (a
// queue redelivery, a client retry). Count each request once, when it
// finally succeeds.
func (k *kpis) delay(n float64) {
	if n <= 0 {
		return
	}
	k.delayed += n
	k.minuteDelayed += n
}
