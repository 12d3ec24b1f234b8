package sim

import (
	"fmt"
	"time"
)

// TopologyStepFunctions is topology (c): executions of a Step Functions
// workflow, started directly or through SQS, each running a Map over its
// items; every item invokes a Lambda that calls a third-party API with a
// fixed, hard rate limit and writes a DynamoDB item.
const TopologyStepFunctions = "stepfunctions-map-lambda-dynamodb"

// SFNScenario is one run of topology (c).
type SFNScenario struct {
	Name, Description string
	Duration          time.Duration
	Start             time.Time
	Seed              uint64

	// Executions arrive as a batch (Batch items split into executions of
	// ItemsPerExecution) or from a rate (executions per second: a trace
	// or a constant), each with a number of items drawn from Items.
	Batch             int
	ItemsPerExecution int
	// Phases describe the batch's items in file order: how many, and the
	// Lambda's duration for each (small records, then large ones).
	Phases []ItemPhase
	// ViaSQS starts executions from a queue with at most InFlight
	// executions running (the starter's own concurrency); otherwise every
	// arrival calls StartExecution at once.
	ViaSQS   bool
	InFlight int
	Trace    *TraceSpec
	Rate     float64 // executions per second when there is no trace
	Items    ItemsDist

	MaxConcurrency float64 // the Map's MaxConcurrency as deployed
	Distributed    bool    // Distributed Map (up to 10,000) or inline (40)
	Retry          RetrySpec

	Reserved       float64 // the item Lambda's reserved concurrency
	ItemDuration   time.Duration
	TableWrite     float64 // provisioned WCU; one unit per item
	ThirdPartyRate float64 // the third-party API's hard limit, requests per second, counted per minute
	// StartExecution's token bucket (us-east-1 Standard: 1,300, 300/s).
	StartBucket, StartRefill float64
}

// ItemPhase is a run of items of one kind in the batch.
type ItemPhase struct {
	Items    int
	Duration time.Duration
}

// ItemsDist is a log-normal number of items per execution.
type ItemsDist struct{ Median, P99 float64 }

// RetrySpec is the Map task's Retry: IntervalSeconds, BackoffRate,
// MaxAttempts and full jitter, for Lambda throttles, the third party's
// 429 and DynamoDB throttles alike.
type RetrySpec struct {
	Interval    time.Duration
	BackoffRate float64
	MaxAttempts int
}

// Step Functions' StartExecution bucket, Standard workflows, in us-east-1
// (https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html).
const (
	StartExecutionBucket = 1300
	StartExecutionRefill = 300
)

// SFNScenarios lists the built-in topology (c) scenarios.
func SFNScenarios() []string { return []string{"stepfunctions-fanout", "stepfunctions-trace"} }

// SFNScenarioByName returns a built-in topology (c) scenario.
func SFNScenarioByName(name string) (*SFNScenario, error) {
	day := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	retry := RetrySpec{Interval: 2 * time.Second, BackoffRate: 2, MaxAttempts: 6}
	switch name {
	case "stepfunctions-fanout":
		return &SFNScenario{
			Name: name,
			Description: "An S3 file of 50,000 items lands at 09:00: 20,000 small records (1 s each) then 30,000 large ones (4 s). " +
				"A starter reads it through SQS into executions of 500 items, 4 running at a time. The third-party API takes 3,000 requests a minute, hard.",
			Duration: 4 * time.Hour, Start: day, Seed: 14,
			Batch: 50000, ItemsPerExecution: 500, ViaSQS: true, InFlight: 4,
			Phases:         []ItemPhase{{Items: 20000, Duration: time.Second}, {Items: 30000, Duration: 4 * time.Second}},
			MaxConcurrency: 10, Distributed: false, Retry: retry,
			Reserved: 100, ItemDuration: time.Second, TableWrite: 100, ThirdPartyRate: 50,
			StartBucket: StartExecutionBucket, StartRefill: StartExecutionRefill,
		}, nil
	case "stepfunctions-trace":
		return &SFNScenario{
			Name: name,
			Description: "Executions start at the rate of the NASA 1995 web log (a real trace, one execution per two requests, a day played in six hours), " +
				"each a Map over a log-normal number of items (median 20, p99 400) of 1 s; the third-party API takes 3,000 requests a minute.",
			Duration: 6 * time.Hour, Start: day.Add(-9 * time.Hour), Seed: 14,
			Trace: &TraceSpec{File: "nasa-http-1995-per-minute.csv", Column: "requests", Filter: map[string]string{"segment": "jul"},
				Step: Duration(time.Minute), Scale: 0.5, Compress: 4},
			Items:          ItemsDist{Median: 20, P99: 400},
			MaxConcurrency: 10, Distributed: false, Retry: retry,
			Reserved: 100, ItemDuration: time.Second, TableWrite: 100, ThirdPartyRate: 50,
			StartBucket: StartExecutionBucket, StartRefill: StartExecutionRefill,
		}, nil
	}
	return nil, fmt.Errorf("no topology (c) scenario %q (one of %v)", name, SFNScenarios())
}

// durationOf is the Lambda duration of the item at index i of the batch.
func (sc *SFNScenario) durationOf(i int) time.Duration {
	for _, ph := range sc.Phases {
		if i < ph.Items {
			return ph.Duration
		}
		i -= ph.Items
	}
	return sc.ItemDuration
}
