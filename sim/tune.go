package sim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/autotuner/autotuner/config"
)

// Tuning searches the autotuner policy's parameters by coordinate descent
// over a fixed grid per parameter (docs/tune.md): starting from the
// policies file as written, it visits each (target, parameter) in a fixed
// order, simulates every grid value of that parameter with the others
// held, keeps the best if it beats the current score, and starts another
// pass until a pass changes nothing, the evaluation cap or the time budget
// is reached. It scores on the first part of the scenario (train) and
// reports the held-out last part (validation) for the defaults and for
// the best found. Parameters are set by editing the policies YAML, so the
// result is exactly what a user pastes.

// TuneParam is one searched parameter: its path under `autotuner:`, its
// grid of values as written in YAML, and how to read the value in force
// when the file leaves it out.
type TuneParam struct {
	Path []string
	Grid []string
	// DynamoDBGrid replaces Grid on dynamodb-provisioned targets.
	DynamoDBGrid []string
	effective    func(t *config.Target) string
}

// Name is the dotted path, as in docs/policies.md.
func (p TuneParam) Name() string { return strings.Join(p.Path, ".") }

func pctString(v float64) string {
	return strconv.FormatFloat(math.Round(v*1000)/10, 'f', -1, 64) + "%"
}

func durString(d time.Duration) string {
	if d%time.Hour == 0 && d > 0 {
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	}
	if d%time.Minute == 0 && d > 0 {
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	}
	return strconv.FormatInt(int64(d/time.Second), 10) + "s"
}

func numString(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// TuneParams are the searched parameters, in the order the search visits
// them: the ones that matter most for throttles first.
var TuneParams = []TuneParam{
	{Path: []string{"utilization", "target"}, Grid: []string{"50%", "60%", "70%", "80%", "90%"}, effective: func(t *config.Target) string {
		for _, sp := range t.Autotuner.Setpoints {
			if sp.PerLimit && !sp.UpOnly {
				return pctString(sp.Target)
			}
		}
		return ""
	}},
	{Path: []string{"up", "max_step"}, Grid: []string{"50%", "100%", "200%", "300%", "500%"}, DynamoDBGrid: []string{"100%", "300%", "1000%"}, effective: func(t *config.Target) string { return stepString(t.Engine.Guards.StepUp.Pct) }},
	{Path: []string{"up", "after"}, Grid: []string{"1", "2", "3"}, effective: func(t *config.Target) string { return strconv.Itoa(t.Autotuner.UpAfter) }},
	{Path: []string{"up", "cooldown"}, Grid: []string{"0s", "1m", "2m", "5m"}, effective: func(t *config.Target) string { return durString(t.Engine.Guards.CooldownUp) }},
	{Path: []string{"band"}, Grid: []string{"5%", "10%", "15%", "20%", "30%"}, effective: func(t *config.Target) string { return pctString(t.Autotuner.Band) }},
	{Path: []string{"pid", "kp"}, Grid: []string{"0.3", "0.6", "0.9", "1.2", "1.8"}, effective: func(t *config.Target) string { return numString(t.Autotuner.PID.Kp) }},
	{Path: []string{"pid", "ki"}, Grid: []string{"0", "0.05", "0.1", "0.2"}, effective: func(t *config.Target) string { return numString(t.Autotuner.PID.Ki) }},
	{Path: []string{"down", "max_step"}, Grid: []string{"10%", "20%", "30%", "50%"}, DynamoDBGrid: []string{"20%", "50%", "99%"}, effective: func(t *config.Target) string { return stepString(t.Engine.Guards.StepDown.Pct) }},
	{Path: []string{"down", "after"}, Grid: []string{"3", "5", "10", "15"}, effective: func(t *config.Target) string { return strconv.Itoa(t.Autotuner.DownAfter) }},
	{Path: []string{"down", "cooldown"}, Grid: []string{"1m", "5m", "10m", "15m"}, effective: func(t *config.Target) string { return durString(t.Engine.Guards.CooldownDown) }},
	{Path: []string{"down", "stabilization"}, Grid: []string{"5m", "10m", "15m", "30m"}, effective: func(t *config.Target) string { return durString(t.Engine.Guards.Stabilization) }},
	{Path: []string{"down", "stabilization_max"}, Grid: []string{"0s", "30m", "1h", "2h"}, effective: func(t *config.Target) string { return durString(t.Engine.Guards.StabilizationMax) }},
}

func stepString(p float64) string {
	if p == 0 {
		return "none"
	}
	return pctString(p)
}

// TuneWeights weigh the normalised KPIs in the objective.
type TuneWeights struct {
	Throttled, Cost, Overload, Actuations float64
}

// DefaultTuneWeights count throttles, cost and overload alike and
// actuations a tenth as much.
func DefaultTuneWeights() TuneWeights {
	return TuneWeights{Throttled: 1, Cost: 1, Overload: 1, Actuations: 0.1}
}

// ParseTuneWeights reads "throttled=1,cost=1,overload=1,actuations=0.1";
// a weight left out keeps its default.
func ParseTuneWeights(s string) (TuneWeights, error) {
	w := DefaultTuneWeights()
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if !ok || err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) {
			return w, fmt.Errorf("weight %q: want NAME=NUMBER with a number ≥ 0", part)
		}
		switch strings.TrimSpace(k) {
		case "throttled":
			w.Throttled = f
		case "cost":
			w.Cost = f
		case "overload":
			w.Overload = f
		case "actuations":
			w.Actuations = f
		default:
			return w, fmt.Errorf("weight %q: unknown KPI %q (throttled, cost, overload, actuations)", part, k)
		}
	}
	if w.Throttled+w.Cost+w.Overload+w.Actuations == 0 {
		return w, errors.New("weights: at least one must be positive")
	}
	return w, nil
}

// Score is the objective: each KPI divided by the same KPI of the
// defaults on the same window (each reference raised to a floor so that a
// zero does not divide), weighted and summed. The defaults score the sum
// of the weights of their non-zero KPIs; lower is better.
func (w TuneWeights) Score(k, ref KPIs, durationS int64) float64 {
	thr := math.Max(math.Max(float64(ref.Throttled), paretoLostFloor*float64(ref.Offered)), 1)
	cost := math.Max(ref.CostUSD, paretoCostFloor)
	ov := math.Max(float64(ref.OverloadS), paretoOverloadFloor*float64(durationS))
	act := math.Max(float64(ref.Actuations), 1)
	return w.Throttled*float64(k.Throttled)/thr + w.Cost*k.CostUSD/cost + w.Overload*float64(k.OverloadS)/ov + w.Actuations*float64(k.Actuations)/act
}

// TuneOptions configure a search.
type TuneOptions struct {
	Scenario     *Scenario
	PoliciesName string
	Policies     []byte
	TracesDir    string
	// Targets to tune; empty means every target whose policy is autotuner.
	Targets []string
	Weights TuneWeights
	// Holdout is the share of the scenario, at its end, kept for
	// validation (0.3 = the last 30%).
	Holdout float64
	// Budget stops the search after this much wall time (0: none).
	Budget time.Duration
	// MaxEvals stops the search after this many simulations (0: none).
	// With MaxEvals and no Budget the result is deterministic.
	MaxEvals int
	// Workers is how many simulations run at once (0: every core,
	// GOMAXPROCS). The result does not depend on it.
	Workers int
	// Now reads the clock for the budget; time.Now when nil.
	Now func() time.Time
	// Progress, when set, is called after each batch of simulations.
	Progress func(TuneProgress)
}

// TuneProgress is the search's state after a batch.
type TuneProgress struct {
	Evals   int
	Best    float64
	Elapsed time.Duration
	Param   string // target/parameter being searched
}

// TuneScore is one parameter set's score on both windows.
type TuneScore struct {
	Train, Validation         float64
	TrainKPIs, ValidationKPIs KPIs
}

// TuneSetting is one parameter's value before and after.
type TuneSetting struct {
	Target, Param string
	Default, Best string // as written in YAML; "" means left out
	Effective     string // the value in force when left out
}

// TuneResult is the outcome of a search.
type TuneResult struct {
	TrainS, ValidationS int64 // window lengths in seconds
	Defaults, Best      TuneScore
	Settings            []TuneSetting // only those the search changed
	Policies            []byte        // the whole policies file with the best values
	Snippets            []TuneSnippet // per tuned target, its policy block
	Evals               int
	Stopped             string // "converged", "evaluation cap" or "time budget"
}

// TuneSnippet is a target's `policy:` block with the best values.
type TuneSnippet struct {
	Target string
	YAML   string
}

// Window returns sc cut to [from, to) seconds: the traffic, faults and
// trace are shifted so that second 0 of the window is second `from` of sc.
// The plant starts afresh from the scenario's initial limits.
func Window(sc *Scenario, from, to int64) *Scenario {
	w := *sc
	d := time.Duration(from) * time.Second
	w.Duration = Duration(time.Duration(to-from) * time.Second)
	w.Start = sc.Start.Add(d)
	w.Faults = make([]Fault, len(sc.Faults))
	for i, f := range sc.Faults {
		f.At = Duration(f.At.D() - d)
		w.Faults[i] = f
	}
	if x := sc.Traffic.Diurnal; x != nil {
		c := *x
		c.PeakAt = Duration(c.PeakAt.D() - d)
		w.Traffic.Diurnal = &c
	}
	if x := sc.Traffic.Spikes; x != nil {
		c := *x
		c.Start = Duration(c.Start.D() - d)
		w.Traffic.Spikes = &c
	}
	if x := sc.Traffic.Trace; x != nil {
		c := *x
		c.Offset = Duration(c.Offset.D() + time.Duration(float64(d)*x.Compress))
		w.Traffic.Trace = &c
	}
	return &w
}

// withPolicies is s running another policies file on the same prepared
// traffic, so a search does not reload a trace per candidate.
func (s *Setup) withPolicies(data []byte) *Setup {
	return &Setup{Scenario: s.Scenario, PoliciesName: s.PoliciesName, Policies: data, DurationS: s.DurationS,
		trace: s.trace, durs: s.durs, curve: s.curve, meanDuration: s.meanDuration, meanRate: s.meanRate}
}

type tuneKey struct {
	target int // index into the document's targets
	name   string
	param  int
}

// Tune runs the search.
func Tune(ctx context.Context, opt TuneOptions) (*TuneResult, error) {
	if opt.Holdout <= 0 || opt.Holdout >= 0.9 {
		return nil, fmt.Errorf("holdout must be above 0%% and below 90%%, got %v%%", opt.Holdout*100)
	}
	if opt.Budget <= 0 && opt.MaxEvals <= 0 {
		return nil, errors.New("tune: give a time budget or an evaluation cap")
	}
	now := opt.Now
	if now == nil {
		now = time.Now
	}
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	started := now()

	f, err := config.Parse(opt.PoliciesName, opt.Policies)
	if err != nil {
		return nil, err
	}
	doc, err := parsePoliciesDoc(opt.Policies)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", opt.PoliciesName, err)
	}
	var keys []tuneKey
	chosen := map[string]bool{}
	for _, n := range opt.Targets {
		chosen[n] = true
	}
	found := map[string]bool{}
	for ti, t := range f.Targets {
		if len(chosen) > 0 && !chosen[t.Name] {
			continue
		}
		found[t.Name] = true
		if t.PolicyName != "autotuner" || t.Autotuner == nil {
			if len(chosen) > 0 {
				return nil, fmt.Errorf("target %s: its policy is %s; tune searches the autotuner policy", t.Name, t.PolicyName)
			}
			continue
		}
		if autotunerNode(doc, t.Name) == nil {
			return nil, fmt.Errorf("target %s: no policy.autotuner mapping found in %s", t.Name, opt.PoliciesName)
		}
		for pi, p := range TuneParams {
			if p.Path[0] == "utilization" && lookup(autotunerNode(doc, t.Name), "utilization") == nil {
				continue
			}
			keys = append(keys, tuneKey{target: ti, name: t.Name, param: pi})
		}
	}
	for n := range chosen {
		if !found[n] {
			return nil, fmt.Errorf("no target named %q in %s", n, opt.PoliciesName)
		}
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%s: no target uses the autotuner policy", opt.PoliciesName)
	}

	// The two windows, prepared once.
	base, err := Prepare(opt.Scenario, opt.PoliciesName, opt.Policies, opt.TracesDir)
	if err != nil {
		return nil, err
	}
	total := base.DurationS
	split := int64(float64(total)*(1-opt.Holdout)) / 60 * 60
	if split < 60 || total-split < 60 {
		return nil, fmt.Errorf("scenario %s is %d s long: too short to hold out %v%%", opt.Scenario.Name, total, opt.Holdout*100)
	}
	train, err := Prepare(Window(opt.Scenario, 0, split), opt.PoliciesName, opt.Policies, opt.TracesDir)
	if err != nil {
		return nil, err
	}
	val, err := Prepare(Window(opt.Scenario, split, total), opt.PoliciesName, opt.Policies, opt.TracesDir)
	if err != nil {
		return nil, err
	}
	res := &TuneResult{TrainS: train.DurationS, ValidationS: val.DurationS}

	simulate := func(ctx context.Context, s *Setup, data []byte) (KPIs, error) {
		r, err := s.withPolicies(data).Run(ctx, PolicyAutotuner, RunOptions{})
		if err != nil {
			return KPIs{}, err
		}
		return r.KPIs, nil
	}
	defTrain, err := simulate(ctx, train, opt.Policies)
	if err != nil {
		return nil, err
	}
	defVal, err := simulate(ctx, val, opt.Policies)
	if err != nil {
		return nil, err
	}
	res.Evals = 2
	w := opt.Weights
	res.Defaults = TuneScore{Train: w.Score(defTrain, defTrain, train.DurationS), Validation: w.Score(defVal, defVal, val.DurationS), TrainKPIs: defTrain, ValidationKPIs: defVal}

	cur := make([]string, len(keys)) // "" = as the file has it
	curBytes := opt.Policies
	curScore, curKPIs := res.Defaults.Train, defTrain
	cache := map[string]float64{string(opt.Policies): curScore}

	deadline := time.Time{}
	runCtx := ctx
	if opt.Budget > 0 {
		deadline = started.Add(opt.Budget)
		var cancel context.CancelFunc
		runCtx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	stop := func() string {
		switch {
		case opt.MaxEvals > 0 && res.Evals >= opt.MaxEvals:
			return "evaluation cap"
		case !deadline.IsZero() && !now().Before(deadline):
			return "time budget"
		case ctx.Err() != nil:
			return "interrupted"
		}
		return ""
	}

	type cand struct {
		val   string
		data  []byte
		score float64
		kpis  KPIs
		err   error
		done  bool
	}
search:
	for {
		improved := false
		for ki, k := range keys {
			if res.Stopped = stop(); res.Stopped != "" {
				break search
			}
			p := TuneParams[k.param]
			grid := p.Grid
			if f.Targets[k.target].Kind == config.DynamoDBProvisioned && p.DynamoDBGrid != nil {
				grid = p.DynamoDBGrid
			}
			var cands []*cand
			for _, v := range grid {
				if v == cur[ki] {
					continue
				}
				trial := append([]string(nil), cur...)
				trial[ki] = v
				data, err := applySettings(opt.Policies, keys, trial)
				if err != nil {
					return nil, err
				}
				if _, err := config.Parse(opt.PoliciesName, data); err != nil {
					continue // a value this target does not accept
				}
				c := &cand{val: v, data: data}
				if s, ok := cache[string(data)]; ok {
					c.score, c.done = s, true
				}
				cands = append(cands, c)
			}
			// Simulate the uncached candidates, Workers at a time, up to
			// the evaluation cap.
			var todo []*cand
			for _, c := range cands {
				if !c.done {
					if opt.MaxEvals > 0 && res.Evals+len(todo) >= opt.MaxEvals {
						break
					}
					todo = append(todo, c)
				}
			}
			var wg sync.WaitGroup
			sem := make(chan struct{}, workers)
			for _, c := range todo {
				wg.Go(func() {
					sem <- struct{}{}
					defer func() { <-sem }()
					c.kpis, c.err = simulate(runCtx, train, c.data)
					if c.err == nil {
						c.score = w.Score(c.kpis, defTrain, train.DurationS)
						c.done = true
					}
				})
			}
			wg.Wait()
			for _, c := range todo {
				if c.err != nil && runCtx.Err() == nil {
					return nil, c.err
				}
				if c.done {
					res.Evals++
					cache[string(c.data)] = c.score
				}
			}
			for _, c := range cands {
				if c.done && c.score < curScore-1e-9 {
					cur[ki], curBytes, curScore, improved = c.val, c.data, c.score, true
					if c.kpis != (KPIs{}) {
						curKPIs = c.kpis
					}
				}
			}
			if opt.Progress != nil {
				opt.Progress(TuneProgress{Evals: res.Evals, Best: curScore, Elapsed: now().Sub(started), Param: k.name + "/" + p.Name()})
			}
		}
		if !improved {
			res.Stopped = "converged"
			break
		}
	}
	if !bytes.Equal(curBytes, opt.Policies) {
		if curKPIs == (KPIs{}) || curScore != w.Score(curKPIs, defTrain, train.DurationS) {
			// The best came from the cache; simulate it again for its KPIs.
			if curKPIs, err = simulate(ctx, train, curBytes); err != nil {
				return nil, err
			}
		}
		bv, err := simulate(ctx, val, curBytes)
		if err != nil {
			return nil, err
		}
		res.Best = TuneScore{Train: curScore, Validation: w.Score(bv, defVal, val.DurationS), TrainKPIs: curKPIs, ValidationKPIs: bv}
	} else {
		res.Best = res.Defaults
	}
	res.Policies = curBytes

	bestFile, err := config.Parse(opt.PoliciesName, curBytes)
	if err != nil {
		return nil, fmt.Errorf("the tuned policies do not parse: %w", err)
	}
	tuned := map[string]bool{}
	for ki, k := range keys {
		if cur[ki] == "" {
			continue
		}
		p := TuneParams[k.param]
		def := ""
		if n := lookup(autotunerNode(doc, k.name), p.Path...); n != nil {
			def = n.Value
		}
		eff := p.effective(f.Targets[k.target])
		was := def
		if was == "" {
			was = eff
		}
		if sameSetting(was, cur[ki]) {
			continue // searched, but it ended where it began
		}
		res.Settings = append(res.Settings, TuneSetting{Target: k.name, Param: p.Name(), Default: def, Best: cur[ki], Effective: eff})
		tuned[k.name] = true
	}
	bestDoc, err := parsePoliciesDoc(curBytes)
	if err != nil {
		return nil, err
	}
	for _, t := range bestFile.Targets {
		if !tuned[t.Name] {
			continue
		}
		s, err := policySnippet(bestDoc, t.Name)
		if err != nil {
			return nil, err
		}
		res.Snippets = append(res.Snippets, TuneSnippet{Target: t.Name, YAML: s})
	}
	sort.SliceStable(res.Settings, func(i, j int) bool { return res.Settings[i].Target < res.Settings[j].Target })
	return res, nil
}

// sameSetting reports whether two values of a parameter, as written in
// YAML, mean the same: "1m" and "60s", "0.50" and "0.5", "10%" and "10.0%".
func sameSetting(a, b string) bool {
	a, b = strings.TrimSpace(a), strings.TrimSpace(b)
	if a == b {
		return true
	}
	if da, err := time.ParseDuration(a); err == nil {
		db, err := time.ParseDuration(b)
		return err == nil && da == db
	}
	pa, pb := strings.HasSuffix(a, "%"), strings.HasSuffix(b, "%")
	if pa != pb {
		return false
	}
	fa, errA := strconv.ParseFloat(strings.TrimSuffix(a, "%"), 64)
	fb, errB := strconv.ParseFloat(strings.TrimSuffix(b, "%"), 64)
	return errA == nil && errB == nil && fa == fb
}

// applySettings writes each non-empty value of vals at its key's path
// under the target's `policy: autotuner:` and re-serialises the file.
func applySettings(data []byte, keys []tuneKey, vals []string) ([]byte, error) {
	doc, err := parsePoliciesDoc(data)
	if err != nil {
		return nil, err
	}
	for i, k := range keys {
		if vals[i] == "" {
			continue
		}
		at := autotunerNode(doc, k.name)
		if at == nil {
			return nil, fmt.Errorf("target %s: no policy.autotuner mapping", k.name)
		}
		setPath(at, TuneParams[k.param].Path, vals[i])
	}
	return encodeYAML(doc)
}

func parsePoliciesDoc(data []byte) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("the policies file is not a YAML mapping")
	}
	return &doc, nil
}

func encodeYAML(n *yaml.Node) ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(n); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// lookup follows keys through mappings; nil when one is missing.
func lookup(n *yaml.Node, keys ...string) *yaml.Node {
	for _, k := range keys {
		if n == nil || n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				next = n.Content[i+1]
			}
		}
		n = next
	}
	return n
}

// targetNode finds the targets[] item named name.
func targetNode(doc *yaml.Node, name string) *yaml.Node {
	ts := lookup(doc.Content[0], "targets")
	if ts == nil || ts.Kind != yaml.SequenceNode {
		return nil
	}
	for _, t := range ts.Content {
		if n := lookup(t, "name"); n != nil && n.Value == name {
			return t
		}
	}
	return nil
}

func autotunerNode(doc *yaml.Node, name string) *yaml.Node {
	n := lookup(targetNode(doc, name), "policy", "autotuner")
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	return n
}

// setPath sets path under m to the scalar v, making mappings on the way.
func setPath(m *yaml.Node, path []string, v string) {
	for i, k := range path {
		var val *yaml.Node
		for j := 0; j+1 < len(m.Content); j += 2 {
			if m.Content[j].Value == k {
				val = m.Content[j+1]
			}
		}
		last := i == len(path)-1
		if val == nil || (!last && val.Kind != yaml.MappingNode) {
			val = &yaml.Node{Kind: yaml.MappingNode, Style: m.Style & yaml.FlowStyle}
			if last {
				val = &yaml.Node{Kind: yaml.ScalarNode}
			}
			replaced := false
			for j := 0; j+1 < len(m.Content); j += 2 {
				if m.Content[j].Value == k {
					m.Content[j+1], replaced = val, true
				}
			}
			if !replaced {
				m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k}, val)
			}
		}
		if last {
			val.Kind, val.Value, val.Tag, val.Style = yaml.ScalarNode, v, scalarTag(v), 0
			val.Content = nil
			return
		}
		m = val
	}
}

func scalarTag(v string) string {
	if _, err := strconv.ParseInt(v, 10, 64); err == nil {
		return "!!int"
	}
	if _, err := strconv.ParseFloat(v, 64); err == nil {
		return "!!float"
	}
	return "!!str"
}

// policySnippet renders a target's `policy:` block, ready to paste in
// place of the target's own.
func policySnippet(doc *yaml.Node, name string) (string, error) {
	p := lookup(targetNode(doc, name), "policy")
	if p == nil {
		return "", fmt.Errorf("target %s: no policy", name)
	}
	m := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{{Kind: yaml.ScalarNode, Tag: "!!str", Value: "policy"}, p}}
	b, err := encodeYAML(m)
	return string(b), err
}
