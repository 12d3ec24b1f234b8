package config

import (
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/autotuner/autotuner/policy"
)

// Version is the only policies-file version this build reads.
const Version = 1

// Kind is the knob a target turns.
type Kind string

const (
	LambdaReservedConcurrency Kind = "lambda-reserved-concurrency"
	LambdaSQSMaxConcurrency   Kind = "lambda-sqs-max-concurrency"
	APIGatewayUsagePlan       Kind = "apigateway-usage-plan"
	APIGatewayStage           Kind = "apigateway-stage"
	// APIGatewayV2Stage is an HTTP API stage's route throttling (API
	// Gateway v2): its default route settings or one route's.
	APIGatewayV2Stage   Kind = "apigatewayv2-stage"
	DynamoDBProvisioned Kind = "dynamodb-provisioned"
	DynamoDBOnDemandMax Kind = "dynamodb-on-demand-max"
	StepFunctionsMap    Kind = "stepfunctions-map"
	Parameter           Kind = "parameter"
	// RateLimitBucket is the rate (tokens/s) of a shared token bucket of
	// package ratelimit, kept in a DynamoDB table.
	RateLimitBucket Kind = "ratelimit-bucket"
)

// Kinds lists every kind, in documentation order.
var Kinds = []Kind{LambdaReservedConcurrency, LambdaSQSMaxConcurrency, APIGatewayUsagePlan, APIGatewayStage, APIGatewayV2Stage, DynamoDBProvisioned, DynamoDBOnDemandMax, StepFunctionsMap, Parameter, RateLimitBucket}

// File is a loaded, validated policies file.
type File struct {
	Path     string
	Version  int
	Defaults Defaults
	Targets  []*Target
	// Selectors counts the entries that select resources; Unresolved the
	// ones that could not be expanded because no Selector was given.
	Selectors, Unresolved int
	// Selections are what the selector entries ask for.
	Selections []Selection
}

// Defaults apply to every target that does not say otherwise.
type Defaults struct {
	Interval    time.Duration // how often the daemon ticks
	Schedule    string        // cron spec for the daemon; "@every <interval>" when empty
	MetricDelay time.Duration // never read periods newer than now − delay
	Period      time.Duration // default signal period
	Region      string
	DryRun      bool
	// AllowUnknownRegions accepts a region the SDK does not know yet.
	AllowUnknownRegions bool
	// DiscoverEvery is how often selector entries are evaluated again.
	DiscoverEvery time.Duration
	// Probation is how long a resource new to a selection runs in dry-run.
	Probation time.Duration
	// ForgetAfter is how long the memory of a resource a selector no
	// longer finds is kept: it resumes where it was if it comes back
	// within this, and is forgotten after.
	ForgetAfter time.Duration
}

// Missing says how a signal's absence is read.
type Missing string

const (
	// MissingHold treats absence as unknown: the target holds, and never
	// scales down on it.
	MissingHold Missing = "hold"
	// MissingZero reads absence as 0, for sparse counters such as
	// Throttles that emit nothing when nothing happened.
	MissingZero Missing = "zero"
)

// Source is where a signal is read.
type Source string

const (
	SourceCloudWatch Source = "cloudwatch"
	SourceSQS        Source = "sqs" // GetQueueAttributes, real time
	// SourceTarget is another target's limit in force, as autotuner last
	// set or read it: no call, no period, no delay.
	SourceTarget Source = "target"
)

// Signal is one named input of a target.
type Signal struct {
	Name       string
	Source     Source
	Namespace  string
	Metric     string
	Dimensions map[string]string
	Stat       string
	Period     time.Duration
	Expression string // metric math; replaces namespace/metric/stat
	Missing    Missing
	PerSecond  bool   // divide by the period in seconds (Sum of capacity units → units/s)
	QueueURL   string // for source sqs
	Attribute  string // for source sqs, e.g. ApproximateNumberOfMessages
	Target     string // for source target: the other target's name
	Region     string // for source cloudwatch: read in this region, not the target's
	Delay      time.Duration
	Line, Col  int // where it was declared, for messages
}

// Target is one knob under control.
type Target struct {
	Name string
	Kind Kind

	// Identity, by kind.
	Function           string // lambda-reserved-concurrency
	EventSourceMapping string // lambda-sqs-max-concurrency (UUID)
	UsagePlan          string // apigateway-usage-plan
	APIStage           string // apigateway-usage-plan per-method: "apiId:stage"
	RestAPI            string // apigateway-stage
	Stage              string // apigateway-stage, apigatewayv2-stage
	APIID              string // apigatewayv2-stage: the HTTP API's id
	Route              string // apigatewayv2-stage: a route key ("GET /items"); "" for the default route settings
	Method             string // "/resource/GET"; stage default "/*/*"
	Limit              string // apigateway: "rate" (default) or "burst"
	BurstRatio         float64
	Table              string // dynamodb-*
	Index              string // dynamodb-* GSI, optional
	Capacity           string // dynamodb-*: "read" or "write"
	Queue              string // lambda-sqs-max-concurrency: the queue's name, for its metrics
	APIName            string // apigateway-*: the API's name, for its metrics
	StepFunctions             // stepfunctions-map
	ParameterStore            // parameter, and stepfunctions-map in mode parameter
	Bucket             string // ratelimit-bucket (Table is its table)

	Region  string
	RoleARN string

	Min, Max float64
	// AllowZero permits a Lambda reservation of 0, which stops the function.
	AllowZero              bool
	DryRun                 bool
	Alarms                 []string
	Schedule               string
	CoexistWithAutoscaling bool
	// Probation, for a target a selector found, is how long after
	// autotuner first saw it that it only runs in dry-run.
	Probation time.Duration
	// Entry is the selector entry that found this target, "" for a
	// target written out.
	Entry string

	Signals    map[string]*Signal
	SignalList []*Signal // Signals in declaration order
	PolicyName string
	Engine     *policy.Engine
	// Autotuner keeps the default policy's parameters when it is the
	// chosen policy, so that tools such as the simulator can derive
	// baselines from the same signals.
	Autotuner *policy.AutotunerParams

	Line, Col int

	// source is the target as read, presets expanded, for explain.
	source *yaml.Node
}

// Resolution is the knob's quantum: whole units everywhere but API Gateway
// rates, which are decimals.
func (t *Target) Resolution() float64 {
	if t.Kind.APIGateway() && t.Limit != "burst" || t.Kind == RateLimitBucket {
		return 0.01
	}
	return 1
}

// Identity is a short human name of the resource, for tables and logs.
func (t *Target) Identity() string {
	switch t.Kind {
	case LambdaReservedConcurrency:
		return "function " + t.Function
	case LambdaSQSMaxConcurrency:
		return "event source mapping " + t.EventSourceMapping
	case APIGatewayUsagePlan:
		s := "usage plan " + t.UsagePlan
		if t.Method != "" {
			s += " " + t.APIStage + " " + t.Method
		}
		return s + " " + t.limitName()
	case APIGatewayStage:
		return "stage " + t.RestAPI + "/" + t.Stage + " " + t.Method + " " + t.limitName()
	case APIGatewayV2Stage:
		return t.httpStageIdentity()
	case DynamoDBProvisioned, DynamoDBOnDemandMax:
		s := "table " + t.Table
		if t.Index != "" {
			s += " index " + t.Index
		}
		return s + " " + t.Capacity
	case StepFunctionsMap:
		return t.StepFunctions.identity(&t.ParameterStore)
	case Parameter:
		return t.ParameterStore.identity()
	case RateLimitBucket:
		return "bucket " + t.Bucket + " in table " + t.Table
	}
	return string(t.Kind)
}

func (t *Target) limitName() string {
	if t.Limit == "" {
		return "rate"
	}
	return t.Limit
}

// Target finds a target by name.
func (f *File) Target(name string) *Target {
	for _, t := range f.Targets {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// Schedule is the daemon's cron spec.
func (d Defaults) CronSpec() string {
	if d.Schedule != "" {
		return d.Schedule
	}
	return "@every " + d.Interval.String()
}

// Apply reads a raw reading through the signal's missing-data rule: a
// missing reading of a sparse counter (missing: zero) becomes 0 at the
// period that was asked for; any other missing reading stays missing.
func (s *Signal) Apply(r policy.Signal, period time.Time) policy.Signal {
	if r.Present() || s.Missing != MissingZero {
		return r
	}
	z := policy.Reading(0, period)
	z.Filled = true
	return z
}

// Complete checks every filled zero of a target against the rest of its
// readings. An empty period of a sparse counter is only a quiet period if
// that period has been published at all: a late period looks the same.
// So a filled zero stands only when another signal of the target in the
// same CloudWatch namespace has a real datapoint for that period or a
// later one; when the target has such companions and none has, the zero
// goes back to missing. A counter without companions keeps its zero, as
// its `missing: zero` asks.
func (t *Target) Complete(sig policy.Signals) {
	for _, s := range t.SignalList {
		r, ok := sig[s.Name]
		if !ok || !r.Filled {
			continue
		}
		companions, seen := 0, false
		for _, c := range t.SignalList {
			if c == s || c.Source != SourceCloudWatch || c.Expression != "" || c.Namespace != s.Namespace {
				continue
			}
			companions++
			if cr := sig[c.Name]; cr.Present() && !cr.Filled && !cr.At.Before(r.At) {
				seen = true
				break
			}
		}
		if companions > 0 && !seen {
			sig[s.Name] = policy.Signal{At: r.At}
		}
	}
}

// Window is the newest complete period of s that may be read at now: it
// ends at now − delay, aligned down to the period, so a period that is
// still filling in is never read as final.
func (s *Signal) Window(now time.Time) (start, end time.Time) {
	p := s.Period
	if p <= 0 {
		p = time.Minute
	}
	end = now.Add(-s.Delay).Truncate(p)
	return end.Add(-p), end
}
