package sim

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/autotuner/autotuner/actuators"
	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/policy"
	"github.com/autotuner/autotuner/state"
)

// Policies compared on topology (c).
const (
	SFNAutotuner      = "autotuner"       // the policies file as written
	SFNStatic         = "static"          // every limit as deployed: the Map's fixed 10
	SFNTargetTracking = "target-tracking" // target tracking on the Lambda and the table; the Map as deployed
)

// SFNResult is one run's outcome.
type SFNResult struct {
	Policy string `json:"policy"`
	// MaxConcurrency is the Map's value for a static run (0 otherwise).
	MaxConcurrency float64 `json:"max_concurrency,omitempty"`
	// BatchFinishS is how long the batch took, from its arrival to the
	// last item (0: not finished within the scenario).
	BatchFinishS       int64   `json:"batch_finish_s"`
	ExecutionP50S      float64 `json:"execution_p50_s"`
	ExecutionP99S      float64 `json:"execution_p99_s"`
	ExecutionsStarted  int     `json:"executions_started"`
	ExecutionsFailed   int     `json:"executions_failed"`
	ItemsDone          int64   `json:"items_done"`
	ItemsRetried       int64   `json:"items_retried"`
	ItemsFailed        int64   `json:"items_failed"` // gave up after the Retry's MaxAttempts
	ThirdParty429      int64   `json:"third_party_429"`
	LambdaThrottles    int64   `json:"lambda_throttles"`
	TableThrottles     int64   `json:"table_throttles"`
	Actuations         int     `json:"actuations"`
	MaxMapConcurrency  float64 `json:"max_map_concurrency"`
	MaxReserved        float64 `json:"max_reserved"`
	MaxWCU             float64 `json:"max_wcu"`
	BoundViolations    int     `json:"bound_violations"`
	ExecutionThrottled int64   `json:"execution_throttled"`

	// ThirdParty429AfterFirstMinute leaves out the run's first minute,
	// before any metric could have shown the controller anything.
	ThirdParty429AfterFirstMinute int64 `json:"third_party_429_after_first_minute"`
}

// SFNSetup is a topology (c) scenario ready to run.
type SFNSetup struct {
	Scenario     *SFNScenario
	PoliciesName string
	Policies     []byte
	rates        []float64 // executions per second, one per second of the run
	seconds      int64
	// OnRecord, when set, sees every audit record of every run.
	OnRecord func(*controller.Record)
}

// PrepareSFN loads the scenario's trace from tracesDir and checks the
// policies file (the built-in one when policies is nil).
func PrepareSFN(sc *SFNScenario, policiesName string, policies []byte, tracesDir string) (*SFNSetup, error) {
	if policies == nil {
		var err error
		if policiesName, policies, err = BuiltinPolicies(TopologyStepFunctions); err != nil {
			return nil, err
		}
	}
	if _, err := config.Parse(policiesName, policies); err != nil {
		return nil, err
	}
	s := &SFNSetup{Scenario: sc, PoliciesName: policiesName, Policies: policies, seconds: int64(sc.Duration / time.Second)}
	s.rates = make([]float64, s.seconds)
	for i := range s.rates {
		s.rates[i] = sc.Rate
	}
	if sc.Trace != nil {
		tr, err := LoadTrace(tracesDir, sc.Trace)
		if err != nil {
			return nil, fmt.Errorf("scenario %s: %w", sc.Name, err)
		}
		step := tr.Step.Seconds()
		for i := range s.rates {
			idx := int(float64(i) * scaleOr1(sc.Trace.Compress) / step)
			if idx < len(tr.Rates) {
				s.rates[i] = tr.Rates[idx]
			}
		}
	}
	return s, nil
}

// Run simulates the scenario under one policy. mapC, when positive,
// overrides the Map's deployed MaxConcurrency (the static sweep).
func (s *SFNSetup) Run(ctx context.Context, name string, mapC float64) (*SFNResult, error) {
	f, err := config.Parse(s.PoliciesName, s.Policies)
	if err != nil {
		return nil, err
	}
	sc := s.Scenario
	p := newSFNPlant(sc, s.seconds)
	if mapC > 0 {
		p.mapC = mapC
	}
	if err := chooseSFN(f, name); err != nil {
		return nil, err
	}
	act := &sfnActuator{p: p}
	acts := map[config.Kind]controller.Actuator{}
	for _, k := range config.Kinds {
		acts[k] = act
	}
	applied := 0
	c := &controller.Controller{Config: f, Sensor: &sfnSensor{p: p, start: sc.Start}, Actuators: acts, Store: state.NewMem(),
		Logger: discardLogger, Parallelism: 1, OnRecord: func(r *controller.Record) {
			if r.Applied {
				applied++
			}
			if s.OnRecord != nil {
				s.OnRecord(r)
			}
		}}
	interval := max(int64(f.Defaults.Interval/time.Second), 1)
	res := &SFNResult{Policy: name}
	for t := int64(0); t < s.seconds; t++ {
		if t%interval == 0 {
			if _, err := c.Tick(ctx, sc.Start.Add(time.Duration(t)*time.Second), controller.TickOptions{}); err != nil {
				return nil, fmt.Errorf("tick at %s: %w", time.Duration(t)*time.Second, err)
			}
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		p.step(t, s.rates[t])
		res.MaxMapConcurrency = math.Max(res.MaxMapConcurrency, p.mapC)
		res.MaxReserved = math.Max(res.MaxReserved, p.reserved)
		res.MaxWCU = math.Max(res.MaxWCU, p.wcu)
		if sc.Batch > 0 && !p.busy() && t > 0 {
			break // the batch is done: nothing more happens
		}
	}
	s.summarize(res, p, applied, act.violations)
	if mapC > 0 {
		res.MaxConcurrency = mapC
	}
	return res, nil
}

func (s *SFNSetup) summarize(res *SFNResult, p *sfnPlant, applied, violations int) {
	k := &p.k
	if s.Scenario.Batch > 0 && !p.busy() {
		res.BatchFinishS = k.lastFinish
	}
	d := slices.Clone(k.durations)
	slices.Sort(d)
	res.ExecutionP50S, res.ExecutionP99S = sortedQuantile(d, 0.5), sortedQuantile(d, 0.99)
	res.ExecutionsStarted, res.ExecutionsFailed = k.started, k.failed
	res.ItemsDone, res.ItemsRetried, res.ItemsFailed = round(k.itemsDone), round(k.itemsRetried), round(k.itemsFailed)
	res.ThirdParty429, res.LambdaThrottles, res.TableThrottles = round(k.tp429), round(k.lThrottle), round(k.tableThrottle)
	var late float64
	for t := 60; t < len(p.vals[sfTP429]); t++ {
		late += p.vals[sfTP429][t]
	}
	res.ThirdParty429AfterFirstMinute = round(late)
	for _, v := range p.vals[sfThrottled] {
		res.ExecutionThrottled += int64(v)
	}
	res.Actuations, res.BoundViolations = applied, violations
}

func sortedQuantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(math.Ceil(q*float64(len(sorted))))-1)]
}

// chooseSFN gives the targets the compared policy's engines.
func chooseSFN(f *config.File, name string) error {
	static := func(t *config.Target) *policy.Engine {
		return &policy.Engine{Rec: &policy.Static{}, Guards: policy.Guards{Resolution: t.Resolution(), AllowZero: t.AllowZero}}
	}
	for _, t := range f.Targets {
		switch name {
		case SFNAutotuner:
		case SFNStatic:
			t.Engine = static(t)
		case SFNTargetTracking:
			if t.Kind == config.StepFunctionsMap {
				t.Engine = static(t)
				continue
			}
			e, err := Baseline(t, "target-tracking")
			if err != nil {
				return err
			}
			t.Engine = e
		default:
			return fmt.Errorf("unknown policy %q for topology (c): one of %s, %s, %s", name, SFNAutotuner, SFNStatic, SFNTargetTracking)
		}
	}
	return nil
}

// sfnActuator moves the simulated knobs under the services' rules: a
// Map's MaxConcurrency within its mode's bound (it reaches new executions
// only), the Lambda reservation under the account's unreserved floor, the
// table's capacity.
type sfnActuator struct {
	p          *sfnPlant
	violations int
}

var _ controller.Actuator = (*sfnActuator)(nil)

func (a *sfnActuator) knob(t *config.Target) (*float64, controller.State, error) {
	p := a.p
	var st controller.State
	switch t.Kind {
	case config.StepFunctionsMap:
		// The product's rule: the mode's maximum, lowered by the account's
		// quotas the target says its executions share.
		mode := float64(actuators.InlineMapMaxConcurrency)
		if p.sc.Distributed {
			mode = actuators.DistributedMapMaxConcurrency
		}
		st.Constraints.Floor = 1
		st.Constraints.Ceiling, st.Constraints.CeilingRule = actuators.MapCeiling(actuators.MapQuota{ModeMax: mode, Region: t.Region,
			Executions: t.StepFunctions.Executions, TransitionsPerSecond: t.StepFunctions.TransitionsPerSecond})
		return &p.mapC, st, nil
	case config.LambdaReservedConcurrency:
		st.Constraints.Floor, st.Constraints.Ceiling = 1, 1000-lambdaUnreservedFloor
		return &p.reserved, st, nil
	case config.DynamoDBProvisioned:
		st.Constraints.Floor, st.Constraints.Ceiling = 1, maxTableCapacity
		return &p.wcu, st, nil
	}
	return nil, st, &ServiceError{Service: "sim", Code: "ResourceNotFoundException", Message: fmt.Sprintf("target %s: topology (c) has no %s", t.Name, t.Kind), Class: controller.ClassNotFound}
}

func (a *sfnActuator) Current(_ context.Context, t *config.Target, _ time.Time) (controller.State, error) {
	v, st, err := a.knob(t)
	if err != nil {
		return st, err
	}
	st.Value = *v
	return st, nil
}

func (a *sfnActuator) Apply(_ context.Context, t *config.Target, _, to float64, _ time.Time) error {
	v, st, err := a.knob(t)
	if err != nil {
		return err
	}
	if to < st.Constraints.Floor || to > st.Constraints.Ceiling || to < t.Min || to > t.Max {
		a.violations++
		return &ServiceError{Service: "sim", Code: "ValidationException", Message: fmt.Sprintf("%v is outside [%v, %v]", to, st.Constraints.Floor, st.Constraints.Ceiling), Class: controller.ClassInvalid}
	}
	*v = to
	return nil
}

// sfnSensor reads the plant's per-second series as CloudWatch statistics
// over each signal's window.
type sfnSensor struct {
	p     *sfnPlant
	start time.Time
}

var _ controller.Sensor = (*sfnSensor)(nil)

func (s *sfnSensor) Read(_ context.Context, targets []*config.Target, now time.Time) (map[string]policy.Signals, error) {
	out := make(map[string]policy.Signals, len(targets))
	for _, t := range targets {
		sig := policy.Signals{}
		for _, q := range t.SignalList {
			start, _ := q.Window(now)
			sig[q.Name] = q.Apply(s.read(q, now), start)
		}
		out[t.Name] = sig
	}
	return out, nil
}

func (s *sfnSensor) read(q *config.Signal, now time.Time) policy.Signal {
	m, ok := sfnMetricNames[q.Namespace+" "+q.Metric]
	if !ok || q.Source != config.SourceCloudWatch {
		return policy.Signal{}
	}
	start, end := q.Window(now)
	from, to := int64(start.Sub(s.start)/time.Second), int64(end.Sub(s.start)/time.Second)
	nowS := int64(now.Sub(s.start) / time.Second)
	if from < 0 || to <= from || to > nowS || to > int64(len(s.p.vals[m])) {
		return policy.Signal{}
	}
	w := s.p.vals[m][from:to]
	sum, mx, mn := 0.0, math.Inf(-1), math.Inf(1)
	for _, v := range w {
		sum += v
		mx, mn = math.Max(mx, v), math.Min(mn, v)
	}
	if sfnSparse[m] && sum == 0 {
		return policy.Signal{} // CloudWatch publishes no datapoint
	}
	var v float64
	switch q.Stat {
	case "Sum":
		v = sum
	case "Average":
		v = sum / float64(len(w))
	case "Maximum":
		v = mx
	case "Minimum":
		v = mn
	case "SampleCount":
		v = float64(len(w))
	default:
		return policy.Signal{}
	}
	if q.PerSecond {
		v /= float64(to - from)
	}
	return policy.Reading(v, start)
}

// BestStatic runs the static policy at every MaxConcurrency from 1 to
// maxC and returns the fastest run that finished the batch with no
// third-party 429 and no failed execution, with every run made.
func (s *SFNSetup) BestStatic(ctx context.Context, maxC int) (*SFNResult, []*SFNResult, error) {
	var best *SFNResult
	var all []*SFNResult
	for c := 1; c <= maxC; c++ {
		r, err := s.Run(ctx, SFNStatic, float64(c))
		if err != nil {
			return nil, nil, err
		}
		all = append(all, r)
		if r.ThirdParty429 == 0 && r.ExecutionsFailed == 0 && r.BatchFinishS > 0 && (best == nil || r.BatchFinishS < best.BatchFinishS) {
			best = r
		}
	}
	return best, all, nil
}
