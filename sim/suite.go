package sim

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/policy"
)

// SuitePolicies are the policies of the bake-off, in table order.
var SuitePolicies = []string{PolicyAutotuner, PolicyStatic, "target-tracking", "step-scaling", "hpa", "threshold", "aimd", PolicyOracleCausal, PolicyOracle}

// SuiteOptions choose what the bake-off runs.
type SuiteOptions struct {
	// Scenarios are built-in names or scenario files; empty means every
	// built-in scenario.
	Scenarios []string
	// Seed replaces each scenario's seed when not 0.
	Seed uint64
	// Seeds, when set, runs each scenario once with each seed (Seed is
	// then ignored).
	Seeds []uint64
	// Variants run each scenario again under each variant that applies
	// to it, besides as written.
	Variants []Variant
	// Detailed, when set, says which runs keep their timelines and get a
	// story; the others keep only their numbers, so that many seeds of a
	// long trace fit in memory. Nil keeps everything.
	Detailed func(r *ScenarioRun) bool
	// TracesDir holds the trace CSVs of trace scenarios.
	TracesDir string
	// Policies are the policies compared; empty means SuitePolicies.
	Policies []string
	// Override, when set, edits each scenario before it is prepared
	// (a test shortens durations with it).
	Override func(*Scenario)
	// Workers is how many runs go at once; 0 means GOMAXPROCS.
	Workers int
	// Progress is called with simulated seconds done, from one goroutine
	// at a time.
	Progress func(seconds int64)
}

// ScenarioRun is one scenario of the suite under every policy.
type ScenarioRun struct {
	Setup   *Setup
	Seed    uint64
	Variant string    // "" for the scenario as written
	Results []*Result // in the order of SuiteOptions.Policies
	Audits  []*Digest // the audit digest of each result, same order
	Onsets  []Onset   // when the scenario's events begin
	Faults  []Fault   // the scenario's faults, for the goal checker
	Goals   []Goal    // issue 6's goals for the autotuner policy
	Story   []string  // the narrative, one sentence each
	byName  map[string]int
}

// Result returns the named policy's result, or nil.
func (r *ScenarioRun) Result(policy string) *Result {
	if i, ok := r.byName[policy]; ok {
		return r.Results[i]
	}
	return nil
}

// Digest returns the named policy's audit digest, or nil.
func (r *ScenarioRun) Digest(policy string) *Digest {
	if i, ok := r.byName[policy]; ok {
		return r.Audits[i]
	}
	return nil
}

// Change is one applied change of a limit, as the audit record said.
type Change struct {
	At     int64 // seconds since the scenario's start
	Target string
	Kind   string // the target's kind, e.g. lambda-reserved-concurrency
	Action policy.Action
	From   float64
	To     float64
	Reason string   // the recommendation's reason code
	Guards []string // guards that changed the proposal, in order
}

// Digest is what the bake-off keeps of a run's audit records: the applied
// changes, how often each guard bit, and the back-pressure cuts.
type Digest struct {
	Changes []Change
	// GuardCounts counts decisions each guard changed, applied or not.
	GuardCounts map[string]int
	// BackPressureCuts are applied decreases in which a back_pressure
	// guard step lowered the value.
	BackPressureCuts []Change
	// Decisions counts records with a decision.
	Decisions int
}

// record folds one audit record into the digest. It copies what it keeps:
// the controller may reuse the record.
func (d *Digest) record(start time.Time, r *controller.Record) {
	if r.Decision == nil {
		return
	}
	d.Decisions++
	var guards []string
	bpLowered := false
	for _, s := range r.Decision.Steps() {
		d.GuardCounts[s.Guard]++
		guards = append(guards, s.Guard)
		if s.Guard == policy.GuardBackPressure && s.To < s.From {
			bpLowered = true
		}
	}
	if !r.Applied {
		return
	}
	c := Change{At: int64(r.Time.Sub(start) / time.Second), Target: r.Target, Kind: r.Kind, Action: r.Decision.Action,
		From: r.Current, To: r.Final, Reason: r.Decision.Reason.Code, Guards: guards}
	d.Changes = append(d.Changes, c)
	if bpLowered && r.Final < r.Current {
		d.BackPressureCuts = append(d.BackPressureCuts, c)
	}
}

// Onset is the start of something a policy must react to.
type Onset struct {
	At     int64   // seconds since the start
	What   string  // "surge ×20", "first spike ×5", "brownout −60%", "largest rise …"
	Factor float64 // how many times the rate rose, where the scenario says
}

// onsets lists the scenario's events: surges, the first spike, brownouts;
// for a trace, the minute whose offered rate rose the most. A smooth
// synthetic curve (steady, diurnal) has no event.
func onsets(sc *Scenario, tl *Timeline) []Onset {
	var out []Onset
	for _, f := range sc.Faults {
		switch f.Kind {
		case FaultSurge:
			out = append(out, Onset{At: f.At.Seconds(), What: fmt.Sprintf("surge ×%g", f.Factor), Factor: f.Factor})
		case FaultBrownout:
			out = append(out, Onset{At: f.At.Seconds(), What: fmt.Sprintf("brownout −%g%%", math.Round(f.CapacityLoss*100))})
		}
	}
	if s := sc.Traffic.Spikes; s != nil {
		out = append(out, Onset{At: s.Start.Seconds(), What: fmt.Sprintf("first spike ×%g", s.Factor), Factor: s.Factor})
	}
	if len(out) == 0 && sc.Traffic.Trace != nil && tl != nil && len(tl.Offered) > 1 {
		best, at := 0.0, -1
		for m := 1; m < len(tl.Offered); m++ {
			if d := tl.Offered[m] - tl.Offered[m-1]; d > best {
				best, at = d, m
			}
		}
		if at > 0 {
			out = append(out, Onset{At: int64(at) * 60, What: "largest rise of the offered rate"})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At < out[j].At })
	return out
}

// RunSuite runs every scenario under every policy with the same seed,
// Workers runs at a time, and checks the goals. Results come back in the
// order asked, whatever the interleaving, so reports are reproducible.
func RunSuite(ctx context.Context, opt SuiteOptions) ([]*ScenarioRun, error) {
	names := opt.Scenarios
	if len(names) == 0 {
		names = BuiltinScenarios()
	}
	pols := opt.Policies
	if len(pols) == 0 {
		pols = SuitePolicies
	}
	for _, p := range pols {
		if !knownPolicy(p) {
			return nil, fmt.Errorf("unknown policy %q (one of %v)", p, PolicyNames())
		}
	}
	runs, err := suiteRuns(names, pols, opt)
	if err != nil {
		return nil, err
	}

	type job struct{ s, p int }
	var jobs []job
	for i := range runs {
		for j := range pols {
			jobs = append(jobs, job{i, j})
		}
	}
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	var mu sync.Mutex
	prog := func(sec int64) {
		if opt.Progress != nil {
			mu.Lock()
			opt.Progress(sec)
			mu.Unlock()
		}
	}
	errs := make([]error, len(jobs))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, len(jobs)) {
		wg.Go(func() {
			for {
				k := int(next.Add(1) - 1)
				if k >= len(jobs) || ctx.Err() != nil {
					return
				}
				jb := jobs[k]
				run := runs[jb.s]
				start := run.Setup.Scenario.Start
				d := &Digest{GuardCounts: map[string]int{}}
				res, err := run.Setup.Run(ctx, pols[jb.p], RunOptions{Progress: prog, OnRecord: func(r *controller.Record) { d.record(start, r) }})
				if err != nil {
					errs[k] = fmt.Errorf("scenario %s, policy %s: %w", run.Setup.Scenario.Name, pols[jb.p], err)
					continue
				}
				if opt.Detailed != nil && !opt.Detailed(run) {
					res.Timeline = nil
				}
				run.Results[jb.p], run.Audits[jb.p] = res, d
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	for _, r := range runs {
		var tl *Timeline
		if len(r.Results) > 0 {
			tl = r.Results[0].Timeline
		}
		r.Onsets = onsets(r.Setup.Scenario, tl)
		r.Goals = CheckGoals(r.goalInput())
		if opt.Detailed == nil || opt.Detailed(r) {
			r.Story = Narrate(r)
		}
	}
	return runs, nil
}

// goalInput gathers what the goal checker reads from a run.
func (r *ScenarioRun) goalInput() GoalInput {
	in := GoalInput{Scenario: r.Setup.Scenario.Name, DurationS: r.Setup.DurationS, KPIs: map[string]KPIs{}, Queued: r.Setup.Scenario.Topology.Queue != nil,
		Recurring: r.Setup.Scenario.Recurring}
	for i, res := range r.Results {
		in.KPIs[res.Policy] = res.KPIs
		if res.Policy == PolicyAutotuner {
			for _, c := range r.Audits[i].BackPressureCuts {
				in.BackPressureCuts = append(in.BackPressureCuts, c.At)
			}
		}
	}
	for _, f := range r.Faults {
		if f.Kind == FaultBrownout {
			in.BrownoutOnsets = append(in.BrownoutOnsets, f.At.Seconds())
		}
	}
	return in
}

// Variant is a change to a scenario that the suite runs it under as well.
type Variant struct {
	Name string
	// Apply edits the scenario and reports whether the variant applies.
	Apply func(*Scenario) bool
}

// NoBurst runs a provisioned table without burst capacity: AWS offers the
// bank on a best-effort basis, so a policy must hold without it.
var NoBurst = Variant{Name: "no burst", Apply: func(sc *Scenario) bool {
	t := sc.Topology.Table
	if t == nil || t.OnDemand {
		return false
	}
	t.BurstSeconds = ptr(0.0)
	return true
}}

// suiteRuns prepares every scenario × seed × variant the suite runs, in
// that order.
func suiteRuns(names, pols []string, opt SuiteOptions) ([]*ScenarioRun, error) {
	seeds := opt.Seeds
	if len(seeds) == 0 {
		seeds = []uint64{opt.Seed}
	}
	variants := append([]Variant{{}}, opt.Variants...)
	var runs []*ScenarioRun
	for _, n := range names {
		for _, seed := range seeds {
			for _, v := range variants {
				sc, err := LoadScenario(n)
				if err != nil {
					return nil, err
				}
				if seed != 0 {
					sc.Seed = seed
				}
				if opt.Override != nil {
					opt.Override(sc)
				}
				if v.Apply != nil && !v.Apply(sc) {
					continue
				}
				pname, pdata, err := PoliciesFor(sc)
				if err != nil {
					return nil, fmt.Errorf("scenario %s: %w", sc.Name, err)
				}
				s, err := Prepare(sc, pname, pdata, opt.TracesDir)
				if err != nil {
					return nil, err
				}
				r := &ScenarioRun{Setup: s, Seed: sc.Seed, Variant: v.Name, Results: make([]*Result, len(pols)), Audits: make([]*Digest, len(pols)), Faults: sc.Faults, byName: map[string]int{}}
				for j, p := range pols {
					r.byName[p] = j
				}
				runs = append(runs, r)
			}
		}
	}
	return runs, nil
}
