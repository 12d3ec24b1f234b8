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
	OverloadS       int64   `json:"overload_s"`      // seconds a dependency behind the function was over capacity
	MaxQueueAgeS    float64 `json:"max_queue_age_s"` // oldest message, worst second
	P99QueueAgeS    float64 `json:"p99_queue_age_s"` // oldest message, 99th percentile over seconds
	CostUSD         float64 `json:"cost_usd"`        // capacity cost at list price
	Actuations      int     `json:"actuations"`      // changes applied
	Reversals       int     `json:"reversals"`       // a change in the other direction from the target's last one
	QuotaViolations int     `json:"quota_violations"`
}

// Layers splits the throttled requests by where they were turned away.
type Layers struct {
	APIGateway int64 `json:"api_gateway"` // 429s
	Lambda     int64 `json:"lambda"`      // Throttles (retried by the SQS poller, lost for a synchronous caller)
	DynamoDB   int64 `json:"dynamodb"`    // requests failed by throttle events
	Downstream int64 `json:"downstream"`  // calls the overloaded dependency failed (not counted in throttled)
}

// Timeline is one run, minute by minute. Rates are per second averaged
// over the minute; counts are per minute; limits are as at the minute's end.
type Timeline struct {
	Offered, Served                                                  []float64
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
	return []*[]float64{&tl.Offered, &tl.Served, &tl.APIThrottled, &tl.LambdaThrottled, &tl.TableThrottled, &tl.DownstreamErrors,
		&tl.APIRate, &tl.LambdaNeed, &tl.LambdaUsed, &tl.LambdaLimit, &tl.TableNeed, &tl.TableUsed, &tl.TableLimit,
		&tl.QueueDepth, &tl.QueueAge, &tl.DownstreamLoad, &tl.DownstreamCapacity, &tl.DownstreamLatencyMs, &tl.CostUSD}
}

// Result is the outcome of one policy on one scenario.
type Result struct {
	Policy   string    `json:"policy"`
	KPIs     KPIs      `json:"kpis"`
	Layers   Layers    `json:"-"`
	Timeline *Timeline `json:"-"`
	Notes    []string  `json:"-"`
}

func (p *plant) result(policyName string, acct *accounting, violations int) *Result {
	k := &p.k
	r := &Result{Policy: policyName, Timeline: p.tl}
	r.Layers = Layers{APIGateway: round(k.apiThrottled), Lambda: round(k.lambdaThrottled), DynamoDB: round(k.tableThrottled), Downstream: round(k.downstreamErrors)}
	r.KPIs = KPIs{
		Offered:         round(k.offered),
		Served:          round(k.served),
		Throttled:       r.Layers.APIGateway + r.Layers.Lambda + r.Layers.DynamoDB,
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
