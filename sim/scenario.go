package sim

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Scenario is one simulation: how long, which plant, which traffic and
// which faults. It is read from YAML (see docs/simulator.md).
type Scenario struct {
	Name        string   `yaml:"name"`
	Description string   `yaml:"description"`
	Duration    Duration `yaml:"duration"`
	// Warmup runs the plant at the first rate before the scored duration,
	// under every policy, so no policy is judged on its cold start; nil
	// means DefaultWarmup, 0 none.
	Warmup     *Duration  `yaml:"warmup"`
	Seed       uint64     `yaml:"seed"`
	Start      time.Time  `yaml:"start"`    // virtual start; midnight UTC by default so days align with quotas
	Policies   string     `yaml:"policies"` // policies file, relative to the scenario file; empty: the topology's built-in one
	Topology   Topology   `yaml:"topology"`
	Traffic    Traffic    `yaml:"traffic"`
	Faults     []Fault    `yaml:"faults"`
	CloudWatch CloudWatch `yaml:"cloudwatch"`
	Actuation  Actuation  `yaml:"actuation"`
	Clients    *Clients   `yaml:"clients"` // synchronous callers' retries; none by default
	// Recurring declares that the load recurs (cron bursts, daily
	// peaks): the goals then compare the autotuner's lost with the
	// foresight oracle's (GoalRecurring).
	Recurring bool `yaml:"recurring"`

	// dir is where the scenario file lives, for relative paths.
	dir string
}

// Topology kinds.
const (
	TopologyAPI   = "api-lambda-dynamodb"            // (a) API Gateway → Lambda → DynamoDB
	TopologyQueue = "sqs-lambda-dynamodb-downstream" // (b) SQS → consumer Lambda → DynamoDB → downstream API
)

// Topology is the chain a request travels: [API Gateway] → [SQS] → Lambda
// → [DynamoDB] → [downstream]. The bracketed parts are optional; a queue
// makes the Lambda an asynchronous consumer that retries, no queue makes it
// a synchronous backend whose throttled requests are lost.
type Topology struct {
	Kind       string      `yaml:"kind"`
	API        *API        `yaml:"api"`
	Queue      *Queue      `yaml:"queue"`
	Lambda     Lambda      `yaml:"lambda"`
	Table      *Table      `yaml:"table"`
	Downstream *Downstream `yaml:"downstream"`
}

// API is an API Gateway stage with a usage plan: a token bucket.
type API struct {
	Name      string  `yaml:"name"` // ApiName dimension
	Stage     string  `yaml:"stage"`
	UsagePlan string  `yaml:"usage_plan"`
	RestAPI   string  `yaml:"rest_api"`
	Rate      float64 `yaml:"rate"`  // requests per second
	Burst     float64 `yaml:"burst"` // bucket size
	APIKnobs  `yaml:",inline"`
}

// Queue is an SQS queue feeding the Lambda.
type Queue struct {
	Name string `yaml:"name"`
	// EventSourceMapping is the mapping's UUID, matched against
	// lambda-sqs-max-concurrency targets.
	EventSourceMapping string `yaml:"event_source_mapping"`
	QueueKnobs         `yaml:",inline"`
}

// Lambda is a function with reserved concurrency.
type Lambda struct {
	Name     string  `yaml:"name"`
	Reserved float64 `yaml:"reserved"`
	// MaxConcurrency is the SQS event source mapping's MaximumConcurrency
	// (2–1000); 0 means not set.
	MaxConcurrency float64 `yaml:"max_concurrency"`
	// AccountConcurrency is the account's concurrency limit (1000).
	AccountConcurrency float64      `yaml:"account_concurrency"`
	Duration           DurationDist `yaml:"duration"`
	LambdaKnobs        `yaml:",inline"`
}

// DurationDist is a function's duration distribution: log-normal from a
// median and a p99, or the percentiles of a real function from
// azure2019-durations.csv.
type DurationDist struct {
	Median Duration `yaml:"median"`
	P99    Duration `yaml:"p99"`
	// Trace picks a row of a durations CSV by the prefix of its first
	// column (HashFunction).
	Trace *DurationTrace `yaml:"trace"`
}

// DurationTrace names a row of azure2019-durations.csv.
type DurationTrace struct {
	File string `yaml:"file"`
	Row  string `yaml:"row"`
	// Scale multiplies the durations (0 means 1).
	Scale float64 `yaml:"scale"`
}

// Table is a DynamoDB table in provisioned or on-demand mode.
type Table struct {
	Name             string  `yaml:"name"`
	Read             float64 `yaml:"read"`  // provisioned RCU, or the on-demand read maximum
	Write            float64 `yaml:"write"` // provisioned WCU, or the on-demand write maximum
	ReadsPerRequest  float64 `yaml:"reads_per_request"`
	WritesPerRequest float64 `yaml:"writes_per_request"`
	OnDemand         bool    `yaml:"on_demand"`
	TableKnobs       `yaml:",inline"`
}

// Downstream is a dependency the Lambda calls last: a capacity in requests
// per second whose latency and error rate rise when it is exceeded.
type Downstream struct {
	Name     string   `yaml:"name"`
	Capacity float64  `yaml:"capacity"`
	Latency  Duration `yaml:"latency"` // at low load
}

// Traffic is the offered request rate: a base, times a diurnal wave, times
// spikes, or a replayed trace.
type Traffic struct {
	Rate    float64    `yaml:"rate"` // requests per second
	Diurnal *Diurnal   `yaml:"diurnal"`
	Spikes  *Spikes    `yaml:"spikes"`
	Trace   *TraceSpec `yaml:"trace"`
}

// Diurnal multiplies the rate by 1 + amplitude·sin, peaking at PeakAt.
type Diurnal struct {
	Amplitude float64  `yaml:"amplitude"` // 0..1
	Period    Duration `yaml:"period"`    // 24h unless compressed
	PeakAt    Duration `yaml:"peak_at"`   // offset of the peak within the period
}

// Spikes is a train of rectangular spikes.
type Spikes struct {
	Every  Duration `yaml:"every"`
	Start  Duration `yaml:"start"`
	Width  Duration `yaml:"width"`
	Factor float64  `yaml:"factor"`
}

// Fault kinds.
const (
	FaultSurge    = "surge"    // the rate rises by Factor over Ramp and holds for For
	FaultBrownout = "brownout" // the downstream loses CapacityLoss of its capacity for For
)

// Fault is an event in the scenario.
type Fault struct {
	Kind         string   `yaml:"kind"`
	At           Duration `yaml:"at"`
	Ramp         Duration `yaml:"ramp"`
	For          Duration `yaml:"for"`
	Factor       float64  `yaml:"factor"`
	CapacityLoss float64  `yaml:"capacity_loss"` // 0.6 = 60%
}

// CloudWatch shapes how the controller sees the metrics.
type CloudWatch struct {
	// A datapoint becomes visible DelayMin + (DelayMax−DelayMin)·u³ after
	// its period ends (u uniform): mostly near DelayMin, sometimes late.
	DelayMin         Duration `yaml:"delay_min"`
	DelayMax         Duration `yaml:"delay_max"`
	Noise            float64  `yaml:"noise"` // relative standard deviation of multiplicative noise
	CloudWatchFaults `yaml:",inline"`
}

// Actuation shapes how fast the simulated services apply changes.
type Actuation struct {
	DynamoDBUpdating Duration `yaml:"dynamodb_updating"` // an increase's UPDATING time
	DynamoDBDecrease Duration `yaml:"dynamodb_decrease"` // a decrease's UPDATING time
	Lambda           Duration `yaml:"lambda"`
}

// Duration is a time.Duration written as "90s", "5m" or "2h".
type Duration time.Duration

func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want a duration such as 90s, 5m or 2h", n.Line)
	}
	s := strings.TrimSpace(n.Value)
	if strings.HasSuffix(s, "d") {
		var days float64
		if _, err := fmt.Sscanf(strings.TrimSuffix(s, "d"), "%g", &days); err != nil || days < 0 || days > 3650 {
			return fmt.Errorf("line %d: bad duration %q", n.Line, s)
		}
		*d = Duration(days * float64(24*time.Hour))
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return fmt.Errorf("line %d: bad duration %q: want for example 90s, 5m, 2h or 28d", n.Line, s)
	}
	*d = Duration(v)
	return nil
}

func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// D is the duration as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Seconds is the duration in whole seconds.
func (d Duration) Seconds() int64 { return int64(time.Duration(d) / time.Second) }

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// maxScenarioSize keeps a hostile input from exhausting memory.
const maxScenarioSize = 1 << 20

// maxDuration bounds a scenario: 400 days at 1-second resolution.
const maxDuration = 400 * 24 * time.Hour

// ParseScenario reads and validates a scenario. name is used in messages.
func ParseScenario(name string, data []byte) (*Scenario, error) {
	if len(data) > maxScenarioSize {
		return nil, fmt.Errorf("%s: scenario is %d bytes; the limit is %d", name, len(data), maxScenarioSize)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var sc Scenario
	if err := dec.Decode(&sc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: scenario is empty", name)
		}
		return nil, fmt.Errorf("%s: %v", name, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	sc.defaults()
	if errs := sc.validate(); len(errs) > 0 {
		return nil, fmt.Errorf("%s: %s", name, strings.Join(errs, "; "))
	}
	return &sc, nil
}

func (sc *Scenario) defaults() {
	if sc.Start.IsZero() {
		sc.Start = time.Date(2026, 7, 6, 0, 0, 0, 0, time.UTC)
	}
	sc.Start = sc.Start.UTC().Truncate(time.Second)
	if sc.Seed == 0 {
		sc.Seed = 1
	}
	tp := &sc.Topology
	if tp.Kind == "" {
		tp.Kind = TopologyAPI
		if tp.Queue != nil {
			tp.Kind = TopologyQueue
		}
	}
	if tp.Lambda.Name == "" {
		tp.Lambda.Name = "fn"
	}
	if tp.Lambda.AccountConcurrency == 0 {
		tp.Lambda.AccountConcurrency = 1000
	}
	tp.Lambda.LambdaKnobs.defaults()
	if tp.Lambda.Reserved == 0 {
		tp.Lambda.Reserved = 50
	}
	if tp.Lambda.Duration.Median == 0 && tp.Lambda.Duration.Trace == nil {
		tp.Lambda.Duration.Median = Duration(200 * time.Millisecond)
	}
	if tp.Lambda.Duration.P99 == 0 {
		tp.Lambda.Duration.P99 = Duration(4 * time.Duration(tp.Lambda.Duration.Median))
	}
	if a := tp.API; a != nil {
		if a.Name == "" {
			a.Name = "api"
		}
		if a.Stage == "" {
			a.Stage = "prod"
		}
		if a.Burst == 0 {
			a.Burst = 2 * a.Rate
		}
		if a.StageRate > 0 && a.StageBurst == 0 {
			a.StageBurst = 2 * a.StageRate
		}
	}
	if q := tp.Queue; q != nil && q.Name == "" {
		q.Name = "queue"
	}
	if q := tp.Queue; q != nil {
		q.QueueKnobs.defaults()
	}
	if t := tp.Table; t != nil {
		if t.Name == "" {
			t.Name = "table"
		}
		if t.WritesPerRequest == 0 && t.ReadsPerRequest == 0 {
			t.WritesPerRequest = 1
		}
		if t.Read == 0 {
			t.Read = 5
		}
		if t.Write == 0 {
			t.Write = 5
		}
		t.TableKnobs.defaults(t.OnDemand)
	}
	if d := tp.Downstream; d != nil {
		if d.Name == "" {
			d.Name = "downstream"
		}
		if d.Latency == 0 {
			d.Latency = Duration(50 * time.Millisecond)
		}
	}
	if sc.Traffic.Diurnal != nil && sc.Traffic.Diurnal.Period == 0 {
		sc.Traffic.Diurnal.Period = Duration(24 * time.Hour)
	}
	cw := &sc.CloudWatch
	if cw.DelayMin == 0 && cw.DelayMax == 0 {
		cw.DelayMin, cw.DelayMax = Duration(time.Minute), Duration(3*time.Minute)
	}
	if cw.DelayMax < cw.DelayMin {
		cw.DelayMax = cw.DelayMin
	}
	if c := sc.Clients; c != nil {
		c.defaults()
	}
	ac := &sc.Actuation
	if ac.DynamoDBUpdating == 0 {
		ac.DynamoDBUpdating = Duration(3 * time.Minute)
	}
	if ac.DynamoDBDecrease == 0 {
		ac.DynamoDBDecrease = Duration(30 * time.Second)
	}
	if tr := sc.Traffic.Trace; tr != nil {
		if tr.Step == 0 {
			tr.Step = Duration(time.Minute)
		}
		if tr.Scale == 0 {
			tr.Scale = 1
		}
		if tr.Compress == 0 {
			tr.Compress = 1
		}
	}
}

// DefaultWarmup is how long a scenario runs at its first rate, unscored,
// when it does not say.
const DefaultWarmup = 30 * time.Minute

// maxWarmup bounds the warm-up: long enough to settle any policy.
const maxWarmup = 6 * time.Hour

// WarmupS is the warm-up in seconds.
func (sc *Scenario) WarmupS() int64 {
	if sc.Warmup == nil {
		return int64(DefaultWarmup / time.Second)
	}
	return sc.Warmup.Seconds()
}

func (sc *Scenario) validate() []string {
	var errs []string
	bad := func(cond bool, format string, args ...any) {
		if cond {
			errs = append(errs, fmt.Sprintf(format, args...))
		}
	}
	bad(sc.Duration <= 0 && sc.Traffic.Trace == nil, "duration: is required, for example 2h")
	bad(sc.Duration.D() > maxDuration, "duration: must be at most %s, got %s", maxDuration, sc.Duration.D())
	if w := sc.Warmup; w != nil {
		bad(*w < 0 || w.D() > maxWarmup || w.D()%time.Minute != 0, "warmup: must be whole minutes from 0 to %s, got %s", maxWarmup, w.D())
	}
	tp := &sc.Topology
	bad(tp.Kind != TopologyAPI && tp.Kind != TopologyQueue, "topology.kind: must be %s or %s, got %q", TopologyAPI, TopologyQueue, tp.Kind)
	bad(tp.Kind == TopologyQueue && tp.Queue == nil, "topology.queue: is required for topology %s", TopologyQueue)
	bad(tp.Kind == TopologyAPI && tp.API == nil, "topology.api: is required for topology %s", TopologyAPI)
	l := &tp.Lambda
	bad(!finite(l.Reserved) || l.Reserved < 0 || l.Reserved > 100000, "topology.lambda.reserved: must be between 0 and 100000, got %v", l.Reserved)
	bad(!finite(l.MaxConcurrency) || l.MaxConcurrency != 0 && (l.MaxConcurrency < 2 || l.MaxConcurrency > 1000), "topology.lambda.max_concurrency: must be 0 (unset) or 2..1000, got %v", l.MaxConcurrency)
	bad(!finite(l.AccountConcurrency) || l.AccountConcurrency < 10 || l.AccountConcurrency > 1e6, "topology.lambda.account_concurrency: must be between 10 and 1000000, got %v", l.AccountConcurrency)
	errs = append(errs, l.validateKnobs(tp.Queue != nil)...)
	bad(l.Duration.Median.D() > 15*time.Minute || l.Duration.P99.D() > 15*time.Minute, "topology.lambda.duration: Lambda runs at most 15m")
	bad(l.Duration.Trace == nil && l.Duration.P99 < l.Duration.Median, "topology.lambda.duration.p99: must be >= median")
	if a := tp.API; a != nil {
		bad(!finite(a.Rate) || a.Rate <= 0 || a.Rate > 10000, "topology.api.rate: must be above 0 and at most 10000, got %v", a.Rate)
		bad(!finite(a.Burst) || a.Burst < 0 || a.Burst > 5000, "topology.api.burst: must be between 0 and 5000, got %v", a.Burst)
		errs = append(errs, a.APIKnobs.validate()...)
	}
	if q := tp.Queue; q != nil {
		errs = append(errs, q.QueueKnobs.validate()...)
	}
	if t := tp.Table; t != nil {
		bad(!finite(t.Read) || t.Read < 1 || t.Read > 40000, "topology.table.read: must be between 1 and 40000, got %v", t.Read)
		bad(!finite(t.Write) || t.Write < 1 || t.Write > 40000, "topology.table.write: must be between 1 and 40000, got %v", t.Write)
		bad(!finite(t.ReadsPerRequest) || t.ReadsPerRequest < 0 || t.ReadsPerRequest > 100, "topology.table.reads_per_request: must be between 0 and 100")
		bad(!finite(t.WritesPerRequest) || t.WritesPerRequest < 0 || t.WritesPerRequest > 100, "topology.table.writes_per_request: must be between 0 and 100")
		errs = append(errs, t.TableKnobs.validate()...)
	}
	if d := tp.Downstream; d != nil {
		bad(!finite(d.Capacity) || d.Capacity <= 0 || d.Capacity > 1e6, "topology.downstream.capacity: must be above 0 and at most 1000000, got %v", d.Capacity)
		bad(d.Latency.D() > time.Minute, "topology.downstream.latency: must be at most 1m")
	}
	tr := &sc.Traffic
	bad(!finite(tr.Rate) || tr.Rate < 0 || tr.Rate > 1e6, "traffic.rate: must be between 0 and 1000000, got %v", tr.Rate)
	bad(tr.Rate == 0 && tr.Trace == nil, "traffic: needs a rate or a trace")
	if d := tr.Diurnal; d != nil {
		bad(!finite(d.Amplitude) || d.Amplitude < 0 || d.Amplitude > 1, "traffic.diurnal.amplitude: must be between 0 and 1, got %v", d.Amplitude)
		bad(d.Period.D() < time.Minute, "traffic.diurnal.period: must be at least 1m")
	}
	if s := tr.Spikes; s != nil {
		bad(s.Every.D() < time.Minute, "traffic.spikes.every: must be at least 1m")
		bad(s.Width <= 0 || s.Width >= s.Every, "traffic.spikes.width: must be above 0 and below every")
		bad(!finite(s.Factor) || s.Factor < 0 || s.Factor > 1000, "traffic.spikes.factor: must be between 0 and 1000")
	}
	if t := tr.Trace; t != nil {
		bad(t.File == "", "traffic.trace.file: is required")
		bad(t.Column == "" && t.Row == "", "traffic.trace: name a column (long format) or a row (wide format)")
		bad(t.Row != "" && t.Columns == "", "traffic.trace.columns: is required with row: the prefix of the value columns, e.g. minute_")
		bad(t.Step.D() < time.Second, "traffic.trace.step: must be at least 1s")
		bad(!finite(t.Scale) || t.Scale <= 0 || t.Scale > 1e6, "traffic.trace.scale: must be above 0")
		bad(!finite(t.Compress) || t.Compress < 1 || t.Compress > 10000, "traffic.trace.compress: must be between 1 and 10000")
	}
	for i, f := range sc.Faults {
		p := fmt.Sprintf("faults[%d]", i)
		switch f.Kind {
		case FaultSurge:
			bad(!finite(f.Factor) || f.Factor <= 0 || f.Factor > 1000, "%s.factor: must be above 0 and at most 1000", p)
		case FaultBrownout:
			bad(!finite(f.CapacityLoss) || f.CapacityLoss <= 0 || f.CapacityLoss > 1, "%s.capacity_loss: must be above 0 and at most 1", p)
			bad(tp.Downstream == nil, "%s: a brownout needs topology.downstream", p)
		default:
			errs = append(errs, fmt.Sprintf("%s.kind: must be %s or %s, got %q", p, FaultSurge, FaultBrownout, f.Kind))
		}
		bad(f.For <= 0, "%s.for: is required", p)
	}
	cw := &sc.CloudWatch
	bad(cw.DelayMax.D() > time.Hour, "cloudwatch.delay_max: must be at most 1h")
	bad(!finite(cw.Noise) || cw.Noise < 0 || cw.Noise > 1, "cloudwatch.noise: must be between 0 and 1")
	errs = append(errs, cw.CloudWatchFaults.validate()...)
	if c := sc.Clients; c != nil {
		errs = append(errs, c.validate()...)
	}
	ac := &sc.Actuation
	bad(ac.DynamoDBUpdating.D() > time.Hour || ac.DynamoDBDecrease.D() > time.Hour || ac.Lambda.D() > time.Hour, "actuation: delays must be at most 1h")
	return errs
}
