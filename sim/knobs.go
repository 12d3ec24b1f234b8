package sim

import (
	"fmt"
	"math"
	"time"
)

// The scenario knobs of each service's documented behaviour. Each has the
// default stated in docs/simulator.md: AWS's documented figure where AWS
// documents one.

// TableKnobs shape DynamoDB's best-effort behaviour.
type TableKnobs struct {
	// BurstSeconds is how many seconds of unused provisioned capacity the
	// bank holds (0–300; 300 by default, the documented maximum; burst
	// capacity is best effort, so 0 is a fair test).
	BurstSeconds *float64 `yaml:"burst_seconds"`
	// BurstStart is how full the bank is at the start (0–1; 1 by
	// default: a table idle for 5 minutes before the scenario).
	BurstStart *float64 `yaml:"burst_start"`
	// HotKeyShare is the share of requests that go to one partition key,
	// whose partition serves at most 3,000 RCU and 1,000 WCU (0 by
	// default: keys spread evenly).
	HotKeyShare float64 `yaml:"hot_key_share"`
	// WarmRead and WarmWrite are an on-demand table's warm throughput
	// (12,000 and 4,000 by default, a new table's).
	WarmRead  float64 `yaml:"warm_read"`
	WarmWrite float64 `yaml:"warm_write"`
}

func (k *TableKnobs) defaults(onDemand bool) {
	if k.BurstSeconds == nil {
		k.BurstSeconds = ptr(float64(maxBurstSeconds))
	}
	if k.BurstStart == nil {
		k.BurstStart = ptr(1.0)
	}
	if onDemand && k.WarmRead == 0 {
		k.WarmRead = onDemandWarmRead
	}
	if onDemand && k.WarmWrite == 0 {
		k.WarmWrite = onDemandWarmWrite
	}
}

func (k *TableKnobs) validate() []string {
	var errs []string
	rng := func(name string, v, lo, hi float64) {
		if !finite(v) || v < lo || v > hi {
			errs = append(errs, fmt.Sprintf("topology.table.%s: must be between %v and %v, got %v", name, lo, hi, v))
		}
	}
	rng("burst_seconds", *k.BurstSeconds, 0, maxBurstSeconds)
	rng("burst_start", *k.BurstStart, 0, 1)
	rng("hot_key_share", k.HotKeyShare, 0, 1)
	rng("warm_read", k.WarmRead, 0, 1e6)
	rng("warm_write", k.WarmWrite, 0, 1e6)
	return errs
}

func ptr[T any](v T) *T { return &v }

// CloudWatchFaults are the ways CloudWatch loses or delays datapoints.
// AWS documents none as a figure, so each is off by default.
type CloudWatchFaults struct {
	// Drop is the share of datapoints (one metric, one minute) that never
	// arrive, chosen at random for the seed.
	Drop float64 `yaml:"drop"`
	// Outages are windows in which no metric has any datapoint.
	Outages []Outage `yaml:"outages"`
	// Late delays a share of the minutes (all of a service's metrics
	// together) by a further By.
	Late *Late `yaml:"late"`
}

// Outage is a stretch of the scenario with no datapoints.
type Outage struct {
	At  Duration `yaml:"at"`
	For Duration `yaml:"for"`
}

// Late is a share of datapoints published late.
type Late struct {
	Share float64  `yaml:"share"`
	By    Duration `yaml:"by"`
}

func (f *CloudWatchFaults) validate() []string {
	var errs []string
	if !finite(f.Drop) || f.Drop < 0 || f.Drop > 1 {
		errs = append(errs, fmt.Sprintf("cloudwatch.drop: must be between 0 and 1, got %v", f.Drop))
	}
	for i, o := range f.Outages {
		if o.For <= 0 {
			errs = append(errs, fmt.Sprintf("cloudwatch.outages[%d].for: is required", i))
		}
	}
	if l := f.Late; l != nil {
		if !finite(l.Share) || l.Share < 0 || l.Share > 1 {
			errs = append(errs, fmt.Sprintf("cloudwatch.late.share: must be between 0 and 1, got %v", l.Share))
		}
		if l.By.D() <= 0 || l.By.Seconds() > 3*3600 {
			errs = append(errs, "cloudwatch.late.by: must be above 0 and at most 3h")
		}
	}
	return errs
}

// QueueKnobs are the SQS queue's and its event source mapping's settings.
type QueueKnobs struct {
	// BatchSize is the mapping's batch size (1–10,000; 10 by default, as
	// Lambda's). Above 10 a batching window is required.
	BatchSize float64 `yaml:"batch_size"`
	// BatchWindow is MaximumBatchingWindowInSeconds (0–300 s; 0 by default).
	BatchWindow Duration `yaml:"batch_window"`
	// ReportBatchItemFailures returns only the failed messages of a batch
	// (off by default, as Lambda's: one failure returns the whole batch).
	ReportBatchItemFailures bool `yaml:"report_batch_item_failures"`
	// VisibilityTimeout is how long a received message stays invisible
	// (0–12 h; 30 s by default, as SQS's).
	VisibilityTimeout Duration `yaml:"visibility_timeout"`
	// MaxReceiveCount is the redrive policy's: after that many receives a
	// message goes to the dead-letter queue (1–1,000; 0 by default: no
	// redrive policy).
	MaxReceiveCount int `yaml:"max_receive_count"`
	// Retention is the message retention period (1 min–14 days; 4 days by
	// default, as SQS's). An older message is deleted: lost.
	Retention Duration `yaml:"retention"`
}

func (k *QueueKnobs) defaults() {
	if k.BatchSize == 0 {
		k.BatchSize = 10
	}
	if k.VisibilityTimeout == 0 {
		k.VisibilityTimeout = Duration(30 * time.Second)
	}
	if k.Retention == 0 {
		k.Retention = Duration(4 * 24 * time.Hour)
	}
}

func (k *QueueKnobs) validate() []string {
	var errs []string
	bad := func(cond bool, format string, args ...any) {
		if cond {
			errs = append(errs, fmt.Sprintf(format, args...))
		}
	}
	bad(!finite(k.BatchSize) || k.BatchSize < 1 || k.BatchSize > 10000 || k.BatchSize != math.Trunc(k.BatchSize), "topology.queue.batch_size: must be a whole number from 1 to 10000, got %v", k.BatchSize)
	bad(k.BatchWindow.Seconds() > 300, "topology.queue.batch_window: must be at most 5m")
	bad(k.BatchSize > 10 && k.BatchWindow.Seconds() < 1, "topology.queue.batch_window: a batch_size above 10 needs a batching window of at least 1s")
	bad(k.VisibilityTimeout.Seconds() < 1 || k.VisibilityTimeout.Seconds() > 12*3600, "topology.queue.visibility_timeout: must be between 1s and 12h")
	bad(k.MaxReceiveCount < 0 || k.MaxReceiveCount > 1000, "topology.queue.max_receive_count: must be 0 (no redrive policy) or 1..1000, got %d", k.MaxReceiveCount)
	bad(k.Retention.Seconds() < 60 || k.Retention.Seconds() > 14*86400, "topology.queue.retention: must be between 1m and 14d")
	return errs
}

// lateBy is the longest extra delay of a late datapoint.
func (cw *CloudWatch) lateBy() int64 {
	if cw.Late == nil {
		return 0
	}
	return cw.Late.By.Seconds()
}

// LambdaKnobs shape the function's scaling and its account.
type LambdaKnobs struct {
	// ScalingPer10s is the scaling rate: environments Lambda adds per 10 s
	// (1,000 by default, as documented; 0 turns the limit off).
	ScalingPer10s float64 `yaml:"scaling_per_10s"`
	// ColdStart is the time a new environment takes before its first
	// invocation (250ms by default; AWS documents a range, not a figure).
	ColdStart Duration `yaml:"cold_start"`
	// IdleTimeout is how long an idle environment lives (10m by default;
	// AWS does not document it).
	IdleTimeout Duration `yaml:"idle_timeout"`
	// Unreserved starts the function without reserved concurrency: it
	// shares the account's unreserved pool with the other functions.
	Unreserved bool `yaml:"unreserved"`
	// OtherReserved is the concurrency other functions in the account
	// reserve; OtherUsage what they use of the unreserved pool (both 0 by
	// default).
	OtherReserved float64 `yaml:"other_reserved"`
	OtherUsage    float64 `yaml:"other_usage"`
	// Async makes the function's callers invoke it asynchronously (no
	// queue topology only).
	Async *Async `yaml:"async"`
}

// Async is the function's asynchronous invocation configuration.
type Async struct {
	// MaxEventAge is how long Lambda keeps an event (60s–6h; 6h by default).
	MaxEventAge Duration `yaml:"max_event_age"`
	// RetryAttempts is how often a failed invocation is retried (0–2; 2 by
	// default).
	RetryAttempts *int `yaml:"retry_attempts"`
}

// scalingDefault is Lambda's documented per-function scaling rate.
const scalingDefault = 1000

func (k *LambdaKnobs) defaults() {
	if k.ScalingPer10s == 0 {
		k.ScalingPer10s = scalingDefault
	}
	if k.ColdStart == 0 {
		k.ColdStart = Duration(250 * time.Millisecond)
	}
	if k.IdleTimeout == 0 {
		k.IdleTimeout = Duration(10 * time.Minute)
	}
	if a := k.Async; a != nil {
		if a.MaxEventAge == 0 {
			a.MaxEventAge = Duration(6 * time.Hour)
		}
		if a.RetryAttempts == nil {
			a.RetryAttempts = ptr(2)
		}
	}
}

func (l *Lambda) validateKnobs(queue bool) []string {
	var errs []string
	bad := func(cond bool, format string, args ...any) {
		if cond {
			errs = append(errs, fmt.Sprintf(format, args...))
		}
	}
	k := &l.LambdaKnobs
	bad(!finite(k.ScalingPer10s) || k.ScalingPer10s < 0 || k.ScalingPer10s > 1e6, "topology.lambda.scaling_per_10s: must be between 0 and 1000000, got %v", k.ScalingPer10s)
	bad(k.ColdStart.D() > 15*time.Minute, "topology.lambda.cold_start: must be at most 15m")
	bad(!finite(k.OtherReserved) || k.OtherReserved < 0 || k.OtherReserved > l.AccountConcurrency-lambdaUnreservedFloor && k.OtherReserved > 0,
		"topology.lambda.other_reserved: must be between 0 and account_concurrency − 100, got %v", k.OtherReserved)
	bad(!finite(k.OtherUsage) || k.OtherUsage < 0 || k.OtherUsage > l.AccountConcurrency, "topology.lambda.other_usage: must be between 0 and account_concurrency, got %v", k.OtherUsage)
	if a := k.Async; a != nil {
		bad(queue, "topology.lambda.async: a function behind an SQS queue is invoked by its event source mapping, not asynchronously")
		bad(a.MaxEventAge.Seconds() < 60 || a.MaxEventAge.Seconds() > 6*3600, "topology.lambda.async.max_event_age: must be between 1m and 6h")
		bad(*a.RetryAttempts < 0 || *a.RetryAttempts > 2, "topology.lambda.async.retry_attempts: must be 0, 1 or 2, got %d", *a.RetryAttempts)
	}
	return errs
}

// unreservedPool is what a function without a reservation may use: the
// account's concurrency less the others' reservations and usage.
func (l *Lambda) unreservedPool() float64 {
	return max(0, l.AccountConcurrency-l.OtherReserved-l.OtherUsage)
}

// APIKnobs are a REST API's keys, methods and client errors. With a
// usage_plan, rate and burst are the plan's throttle for each key and
// stage_rate/stage_burst the stage's for each method; without one, rate
// and burst are the stage's.
type APIKnobs struct {
	// Keys are the usage plan's API keys and their shares of the
	// traffic (one key by default).
	Keys []Share `yaml:"keys"`
	// Methods are the stage's methods and their shares of the traffic
	// (one by default).
	Methods []Share `yaml:"methods"`
	// StageRate and StageBurst are the stage's default method throttle
	// under a usage plan (none by default: only the account's).
	StageRate  float64 `yaml:"stage_rate"`
	StageBurst float64 `yaml:"stage_burst"`
	// ClientErrorRate is the share of requests answered with a 4xx other
	// than 429 (0 by default), counted in 4XXError.
	ClientErrorRate float64 `yaml:"client_error_rate"`
}

// Share is a named part of the traffic.
type Share struct {
	Name  string  `yaml:"name"`
	Share float64 `yaml:"share"`
}

func (k *APIKnobs) validate() []string {
	var errs []string
	bad := func(cond bool, format string, args ...any) {
		if cond {
			errs = append(errs, fmt.Sprintf(format, args...))
		}
	}
	for _, l := range []struct {
		name string
		list []Share
	}{{"keys", k.Keys}, {"methods", k.Methods}} {
		bad(len(l.list) > 100, "topology.api.%s: at most 100", l.name)
		for i, s := range l.list {
			bad(!finite(s.Share) || s.Share <= 0 || s.Share > 1, "topology.api.%s[%d].share: must be above 0 and at most 1, got %v", l.name, i, s.Share)
		}
	}
	bad(!finite(k.StageRate) || k.StageRate < 0 || k.StageRate > maxAPIRate, "topology.api.stage_rate: must be between 0 and 10000, got %v", k.StageRate)
	bad(!finite(k.StageBurst) || k.StageBurst < 0 || k.StageBurst > maxAPIBurst, "topology.api.stage_burst: must be between 0 and 5000, got %v", k.StageBurst)
	bad(!finite(k.ClientErrorRate) || k.ClientErrorRate < 0 || k.ClientErrorRate >= 1, "topology.api.client_error_rate: must be between 0 and 1, got %v", k.ClientErrorRate)
	return errs
}

// Clients is how synchronous callers retry a 429 or a 5xx.
type Clients struct {
	// Retries is how many times a request is retried (0–10; 0 by default).
	Retries int `yaml:"retries"`
	// Backoff is the first wait (100ms by default), doubling each retry up
	// to MaxBackoff (20s by default).
	Backoff    Duration `yaml:"backoff"`
	MaxBackoff Duration `yaml:"max_backoff"`
	// Jitter is full (a wait uniform in [0, backoff], the default), equal
	// (in [backoff/2, backoff]) or none.
	Jitter string `yaml:"jitter"`
}

func (c *Clients) defaults() {
	if c.Backoff == 0 {
		c.Backoff = Duration(100 * time.Millisecond)
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = Duration(20 * time.Second)
	}
	if c.Jitter == "" {
		c.Jitter = "full"
	}
}

func (c *Clients) validate() []string {
	var errs []string
	if c.Retries < 0 || c.Retries > 10 {
		errs = append(errs, fmt.Sprintf("clients.retries: must be between 0 and 10, got %d", c.Retries))
	}
	if c.MaxBackoff.Seconds() > 900 || c.MaxBackoff < c.Backoff {
		errs = append(errs, "clients.max_backoff: must be at least backoff and at most 15m")
	}
	if c.Jitter != "full" && c.Jitter != "equal" && c.Jitter != "none" {
		errs = append(errs, fmt.Sprintf("clients.jitter: must be full, equal or none, got %q", c.Jitter))
	}
	return errs
}
