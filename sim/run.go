package sim

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/policy"
)

// Setup is a scenario made ready to run: traces loaded, the policies file
// checked, the expected demand computed. It is read-only, so several
// policies can run from it at once.
type Setup struct {
	Scenario     *Scenario
	PoliciesName string
	Policies     []byte
	// BaselinePoliciesName and BaselinePolicies, when set, are the file
	// every policy but the autotuner runs: the baselines keep the
	// scenario's own setpoints while the autotuner runs another file, so
	// two files are compared like for like. Set with BaselinesFrom.
	BaselinePoliciesName string
	BaselinePolicies     []byte
	DurationS            int64

	trace        *Trace
	durs         *DurationPercentiles
	curve        *curve
	meanDuration float64 // seconds
	meanRate     float64
	planOnce     sync.Once
	plan         *plan
}

// Prepare loads what sc needs from tracesDir and checks the policies file.
func Prepare(sc *Scenario, policiesName string, policies []byte, tracesDir string) (*Setup, error) {
	if _, err := config.Parse(policiesName, policies); err != nil {
		return nil, err
	}
	s := &Setup{Scenario: sc, PoliciesName: policiesName, Policies: policies}
	var err error
	if tr := sc.Traffic.Trace; tr != nil {
		if s.trace, err = LoadTrace(tracesDir, tr); err != nil {
			return nil, fmt.Errorf("scenario %s: %w", sc.Name, err)
		}
	}
	if dt := sc.Topology.Lambda.Duration.Trace; dt != nil {
		if s.durs, err = LoadDurations(tracesDir, dt); err != nil {
			return nil, fmt.Errorf("scenario %s: %w", sc.Name, err)
		}
	}
	s.curve = newCurve(sc, s.trace)
	s.DurationS = sc.Duration.Seconds()
	if s.DurationS <= 0 {
		s.DurationS = s.curve.traceDuration()
	}
	s.DurationS = max(60, s.DurationS/60*60) // whole minutes
	cl := durationClasses(&sc.Topology.Lambda.Duration, s.durs)
	for _, d := range cl {
		s.meanDuration += d / nClasses
	}
	s.meanRate = s.curve.mean(s.DurationS)
	return s, nil
}

// BaselinesFrom makes every policy but the autotuner run the policies
// file data instead of the Setup's own.
func (s *Setup) BaselinesFrom(name string, data []byte) error {
	if _, err := config.Parse(name, data); err != nil {
		return err
	}
	s.BaselinePoliciesName, s.BaselinePolicies = name, data
	return nil
}

// policiesFor returns the file the named policy runs.
func (s *Setup) policiesFor(policyName string) (string, []byte) {
	if policyName != PolicyAutotuner && s.BaselinePolicies != nil {
		return s.BaselinePoliciesName, s.BaselinePolicies
	}
	return s.PoliciesName, s.Policies
}

func (s *Setup) getPlan() *plan {
	s.planOnce.Do(func() { s.plan = newPlan(s.Scenario, s.curve, s.DurationS) })
	return s.plan
}

// RunOptions tune one run.
type RunOptions struct {
	// Progress, when set, is called now and then with the simulated
	// seconds done since the last call.
	Progress func(seconds int64)
	// OnRecord sees every audit record of the run's controller.
	OnRecord func(*controller.Record)
	// Audit, when set, receives every audit record as the daemon's would.
	Audit controller.AuditSink
}

// accounting derives actuations and reversals from the audit records.
type accounting struct {
	from       time.Time // records before it (the warm-up) are not counted
	last       map[string]policy.Action
	actuations int
	reversals  int
}

func (a *accounting) record(r *controller.Record) {
	if !r.Applied || r.Decision == nil {
		return
	}
	dir := r.Decision.Action
	prev, ok := a.last[r.Target]
	a.last[r.Target] = dir
	if r.Time.Before(a.from) {
		return
	}
	a.actuations++
	if ok && prev != dir {
		a.reversals++
	}
}

// Run simulates the scenario under one policy: "autotuner" (the policies
// file as written), a baseline, "static" or "oracle".
func (s *Setup) Run(ctx context.Context, policyName string, opt RunOptions) (*Result, error) {
	f, err := config.Parse(s.policiesFor(policyName))
	if err != nil {
		return nil, err
	}
	sc := s.Scenario
	horizon := int64(3600)
	for _, t := range f.Targets {
		for _, q := range t.SignalList {
			horizon = max(horizon, int64((q.Delay+q.Period)/time.Second)+sc.CloudWatch.DelayMax.Seconds()+sc.CloudWatch.lateBy()+sqsWakeLateSecond+600)
		}
	}
	p := newPlant(sc, s.curve, s.durs, horizon)
	warm := sc.WarmupS()
	p.warm = warm
	p.tl = newTimeline(warm / 60)
	// The controller's clock starts with the warm-up; the scenario's
	// times (faults, the oracle's plan, scores) count from sc.Start.
	clock0 := sc.Start.Add(-time.Duration(warm) * time.Second)
	n := &notes{}
	dropBuckets(f, n)
	act := &Actuator{p: p, start: clock0, notes: n}
	if err := s.choose(f, policyName, p, act, n); err != nil {
		return nil, err
	}
	sensor := &Sensor{p: p, start: clock0, seed: sc.Seed, cw: sc.CloudWatch, notes: n, resolved: map[*config.Signal]resolvedSignal{}}
	actuators := map[config.Kind]controller.Actuator{}
	for _, k := range config.Kinds {
		actuators[k] = act
	}
	acct := &accounting{last: map[string]policy.Action{}, from: sc.Start}
	store := newMemStore()
	c := &controller.Controller{
		Config: f, Sensor: sensor, Actuators: actuators, Store: store,
		Logger: discardLogger, Parallelism: 1,
		OnRecord: func(r *controller.Record) {
			acct.record(r)
			if opt.OnRecord != nil && !r.Time.Before(sc.Start) {
				opt.OnRecord(r)
			}
		},
	}
	if opt.Audit != nil {
		c.Audit = scoredAudit{from: sc.Start, sink: opt.Audit}
	}
	interval := int64(f.Defaults.Interval / time.Second)
	if interval <= 0 {
		interval = 60
	}
	for _, t := range f.Targets {
		if t.Schedule != "" {
			n.add("target %s: its own schedule is not simulated; it ticks every %s with the rest", t.Name, f.Defaults.Interval)
		}
	}
	const report = 3600
	for t := int64(0); t < warm+s.DurationS; t++ {
		if t == warm {
			p.beginScoring(s.DurationS / 60) // a quota violation in the warm-up still counts
		}
		// A change whose time has come is in force before the controller
		// looks: a table that reads ACTIVE again shows its new capacity,
		// as DynamoDB does, instead of the old one for one more second.
		p.applyDue(t)
		if t%interval == 0 {
			if _, err := c.Tick(ctx, clock0.Add(time.Duration(t)*time.Second), controller.TickOptions{}); err != nil {
				return nil, fmt.Errorf("tick at %s: %w", time.Duration(t-warm)*time.Second, err)
			}
			store.recycle()
		}
		p.step(t)
		if (t+1)%report == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		// Progress counts the scenario's seconds, not the warm-up's.
		if ts := t + 1 - warm; ts > 0 && ts%report == 0 && opt.Progress != nil {
			opt.Progress(report)
		}
	}
	if opt.Progress != nil {
		opt.Progress(s.DurationS % report)
	}
	r := p.result(policyName, acct, act.Violations)
	r.Notes = n.list
	return r, nil
}

// scoredAudit passes on the records of the scored run, not the warm-up's,
// so an audit trail and the scores cover the same seconds.
type scoredAudit struct {
	from time.Time
	sink controller.AuditSink
}

func (a scoredAudit) Write(r *controller.Record) error {
	if r.Time.Before(a.from) {
		return nil
	}
	return a.sink.Write(r)
}

// choose replaces the targets' engines for a compared policy.
func (s *Setup) choose(f *config.File, name string, p *plant, act *Actuator, n *notes) error {
	switch name {
	case PolicyAutotuner:
		return nil
	case PolicyStatic:
		for _, t := range f.Targets {
			t.Engine = &policy.Engine{Rec: &policy.Static{}, Guards: policy.Guards{Resolution: t.Resolution(), AllowZero: t.AllowZero}}
			k, err := act.bind(t)
			if err != nil {
				continue
			}
			v := s.staticValue(t, k)
			p.setKnob(k, v)
			if (k == kAPIRate || k == kStageRate) && t.BurstRatio > 0 {
				p.setKnob(k+1, math.Min(maxAPIBurst, math.Round(v*t.BurstRatio)))
			}
		}
		return nil
	case PolicyOracle, PolicyOracleCausal:
		s.chooseOracle(f, name, p, act)
		return nil
	}
	for _, t := range f.Targets {
		e, err := Baseline(t, name)
		if err != nil {
			if !knownPolicy(name) {
				return err
			}
			n.add("%v; under %s it holds", err, name)
			e = &policy.Engine{Rec: &policy.Static{}, Guards: policy.Guards{Resolution: t.Resolution(), AllowZero: t.AllowZero}}
		}
		t.Engine = e
	}
	return nil
}

func knownPolicy(name string) bool {
	for _, n := range PolicyNames() {
		if n == name {
			return true
		}
	}
	return false
}

// staticValue is the static baseline's limit: the mean demand over the
// scenario × 1.2, in the knob's units, within the target's bounds.
func (s *Setup) staticValue(t *config.Target, k knob) float64 {
	tp := &s.Scenario.Topology
	r := s.meanRate * 1.2
	var v float64
	switch k {
	case kAPIRate, kStageRate:
		v = math.Ceil(r*100) / 100
	case kAPIBurst, kStageBurst:
		v = math.Ceil(2 * r)
	case kReserved, kESM:
		lat := 0.0
		if d := tp.Downstream; d != nil {
			lat = d.Latency.D().Seconds()
		}
		v = math.Ceil(r * (s.meanDuration + lat))
	case kRead:
		v = math.Ceil(r * tp.Table.ReadsPerRequest)
	case kWrite:
		v = math.Ceil(r * tp.Table.WritesPerRequest)
	}
	return math.Min(math.Max(v, t.Min), t.Max)
}

// Compare runs each policy on the same scenario and seed, up to
// GOMAXPROCS at a time. Results come back in the order asked, so output is
// deterministic however the runs interleave.
func (s *Setup) Compare(ctx context.Context, names []string, progress func(seconds int64)) ([]*Result, error) {
	for _, name := range names {
		if !knownPolicy(name) {
			return nil, fmt.Errorf("unknown policy %q (one of %v)", name, PolicyNames())
		}
	}
	out := make([]*Result, len(names))
	errs := make([]error, len(names))
	var next atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	prog := func(sec int64) {
		if progress != nil {
			mu.Lock()
			progress(sec)
			mu.Unlock()
		}
	}
	workers := min(runtime.GOMAXPROCS(0), len(names))
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(names) {
					return
				}
				out[i], errs[i] = s.Run(ctx, names[i], RunOptions{Progress: prog})
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("policy %s: %w", names[i], err)
		}
	}
	return out, nil
}
