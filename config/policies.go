package config

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/autotuner/autotuner/policy"
)

// PolicyNames lists the policies a target may choose.
var PolicyNames = []string{"autotuner", "static", "target-tracking", "step-scaling", "hpa", "threshold", "aimd", "global-share"}

// Default guard settings of the autotuner policy: fast up, slow down.
var (
	DefaultUp = upDown{Step: policy.Step{Pct: 3.0}, Cooldown: time.Minute, After: 1}
	// DefaultDrain is how soon feed-forward plans to drain a backlog.
	DefaultDrain = 60 * time.Second
	DefaultDown  = upDown{Step: policy.Step{Pct: 0.2}, Cooldown: 5 * time.Minute, After: 5, Stabilization: 10 * time.Minute, StabilizationMax: time.Hour}
)

type upDown struct {
	Step             policy.Step
	Cooldown         time.Duration
	After            int
	Stabilization    time.Duration
	StabilizationMax time.Duration
}

type policyCtx struct {
	d *decoder
	t *Target
}

// ref checks that a signal name used by a policy or guard is declared.
func (pc *policyCtx) ref(o *obj, key string, dst *string, required bool) bool {
	if !o.str(key, dst) || *dst == "" {
		if required {
			o.check(false, key, "is required: name one of the target's signals")
		}
		return false
	}
	sig, ok := pc.t.Signals[*dst]
	if !ok {
		o.check(false, key, "names signal %q, which is not declared under signals (declared: %s)", *dst, pc.signalNames())
		return false
	}
	if (sig.Source == SourceTarget) != (key == "admitted") {
		if key == "admitted" {
			o.check(false, key, "names signal %q, which must be of source target: the limit in force of the API in front", *dst)
		} else {
			// A limit is not a measurement: it has no period, so as a
			// throttle count or a backlog it would count as new every
			// tick, and as a utilization it would measure nothing.
			o.check(false, key, "names signal %q, another target's limit (source target), which only feedforward.admitted may use", *dst)
		}
		return false
	}
	return true
}

func (pc *policyCtx) signalNames() string {
	var names []string
	for n := range pc.t.Signals {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

func (pc *policyCtx) policy(n *yaml.Node, path string, parent *yaml.Node) {
	if n == nil {
		pc.d.errorf(parent, path, "is required: one of %s", strings.Join(PolicyNames, ", "))
		return
	}
	o := pc.d.obj(n, path)
	if len(o.keys) != 1 {
		if resolve(n).Kind == yaml.MappingNode {
			pc.d.errorf(n, path, "must name exactly one policy (one of %s), got %d", strings.Join(PolicyNames, ", "), len(o.keys))
		}
		return
	}
	name := o.keys[0]
	o.get(name)
	body := o.vals[name] // null stays a node, so errors about it have a place
	bp := o.at(name)
	pc.t.PolicyName = name
	e := &policy.Engine{}
	switch name {
	case "autotuner":
		pc.autotuner(body, bp, e)
	case "static":
		e.Rec = pc.staticPolicy(body, bp)
	case "target-tracking":
		e.Rec = pc.targetTracking(body, bp)
	case "step-scaling":
		e.Rec = pc.stepScaling(body, bp)
	case "hpa":
		e.Rec = pc.hpa(body, bp)
	case "threshold":
		e.Rec = pc.threshold(body, bp)
	case "aimd":
		e.Rec = pc.aimd(body, bp)
	case "global-share":
		pc.globalShare(body, bp, e)
	default:
		pc.d.errorf(o.knodes[name], bp, "unknown policy %q (one of %s)", name, strings.Join(PolicyNames, ", "))
		return
	}
	pc.t.Engine = e
}

// fraction reads a percentage into dst, within [lo, hi].
func (pc *policyCtx) fraction(o *obj, key string, dst *float64, lo, hi float64) {
	if o.percent(key, dst) {
		o.check(*dst >= lo && *dst <= hi, key, "must be between %v%% and %v%%, got %v%%", lo*100, hi*100, *dst*100)
	}
}

func (pc *policyCtx) count(o *obj, key string, dst *int) {
	if o.integer(key, dst) {
		o.check(*dst >= 1 && *dst <= 1000, key, "must be between 1 and 1000, got %d", *dst)
	}
}

func (pc *policyCtx) nonNegDuration(o *obj, key string, dst *time.Duration) {
	if o.duration(key, dst) {
		o.check(*dst >= 0 && *dst <= 24*time.Hour, key, "must be between 0s and 24h, got %s", *dst)
	}
}

func (pc *policyCtx) steps(o *obj, key string, sign float64) []policy.StepAdjustment {
	var out []policy.StepAdjustment
	items := o.list(key)
	if len(items) == 0 {
		o.check(false, key, "must list at least one step")
	}
	for i, n := range items {
		so := pc.d.obj(n, fmt.Sprintf("%s[%d]", o.at(key), i))
		var st policy.StepAdjustment
		pc.fraction(so, "lower", &st.Lower, 0, 100)
		pc.fraction(so, "upper", &st.Upper, 0, 100)
		if so.percent("change", &st.Change) {
			so.check(st.Change*sign > 0, "change", "must be %s for %s steps", map[bool]string{true: "positive", false: "negative"}[sign > 0], key)
		} else {
			so.check(false, "change", "is required, a percentage such as 20%% or -20%%")
		}
		so.check(st.Upper == 0 || st.Upper > st.Lower, "upper", "must be above lower")
		so.done()
		out = append(out, st)
	}
	return out
}

func (pc *policyCtx) autotuner(n *yaml.Node, path string, e *policy.Engine) {
	p := policy.DefaultAutotuner()
	o := pc.d.obj(n, path)
	up, down := DefaultUp, DefaultDown
	if pc.t.Kind == DynamoDBProvisioned {
		// DynamoDB rations decreases (4 a day, then one an hour): a
		// decrease capped to a fraction wastes a scarce slot, so by
		// default a decrease goes all the way to what the stabilization
		// window allows. An explicit down.max_step still applies.
		down.Step = policy.Step{}
		// Each increase locks the table UPDATING for minutes, so a capped
		// step cannot be followed up soon: by default an increase goes
		// all the way to what the data asks for (itself bounded by max).
		up.Step = policy.Step{}
	}
	if u := o.get("utilization"); u != nil {
		uo := pc.d.obj(u, o.at("utilization"))
		sp := policy.Setpoint{PerLimit: true, Target: 0.7}
		pc.ref(uo, "signal", &sp.Signal, true)
		pc.fraction(uo, "target", &sp.Target, 0.05, 1)
		uo.done()
		p.Setpoints = append(p.Setpoints, sp)
	}
	if b := o.get("backlog"); b != nil {
		bo := pc.d.obj(b, o.at("backlog"))
		sp := policy.Setpoint{UpOnly: true}
		pc.ref(bo, "signal", &sp.Signal, true)
		if _, ok := bo.quantity("target", &sp.Target); ok {
			bo.check(sp.Target > 0, "target", "must be > 0")
		} else {
			bo.check(false, "target", "is required, for example 60s or 1000")
		}
		bo.done()
		p.Setpoints = append(p.Setpoints, sp)
	}
	var ff *obj // the feed-forward mapping, for an error placed on its backlog
	if f := o.get("feedforward"); f != nil {
		ff = pc.feedforward(pc.d.obj(f, o.at("feedforward")), &p)
	}
	for i, sn := range o.list("setpoints") {
		so := pc.d.obj(sn, fmt.Sprintf("%s[%d]", o.at("setpoints"), i))
		var sp policy.Setpoint
		pc.ref(so, "signal", &sp.Signal, true)
		if pct, ok := so.quantity("target", &sp.Target); ok {
			so.check(sp.Target > 0, "target", "must be > 0")
			sp.PerLimit = pct
		} else {
			so.check(false, "target", "is required")
		}
		var pl bool
		if so.boolean("per_limit", &pl) {
			sp.PerLimit = pl
		}
		so.boolean("up_only", &sp.UpOnly)
		so.done()
		p.Setpoints = append(p.Setpoints, sp)
	}
	if ff != nil && ff.has("backlog") {
		// The backlog counts only while this limit is a bottleneck, which
		// only a utilization (a percentage of the limit) can tell.
		ff.check(p.Utilization() != nil, "backlog", "needs utilization (or a setpoint with a percentage target): the backlog counts only while this limit's own utilization shows it is the bottleneck")
	}
	if tn := o.get("throttles"); tn != nil {
		p.Throttles = pc.throttleSpec(o, tn)
	}
	if len(p.Setpoints) == 0 && p.Throttles == nil {
		o.check(false, "utilization", "the autotuner policy needs at least one of utilization, backlog, setpoints or throttles")
	}
	pc.fraction(o, "band", &p.Band, 0, 0.9)
	// forecast: false turns predictive pre-scaling off (the seasonal
	// profile is then neither learned nor used).
	o.boolean("forecast", &p.Forecast)
	if pn := o.get("pid"); pn != nil {
		po := pc.d.obj(pn, o.at("pid"))
		for _, g := range []struct {
			key string
			dst *float64
			max float64
		}{{"kp", &p.PID.Kp, 10}, {"ki", &p.PID.Ki, 10}, {"kd", &p.PID.Kd, 10}, {"d_filter", &p.PID.DFilter, 1}, {"integral_limit", &p.PID.IntegralLimit, 100}} {
			if po.number(g.key, g.dst) {
				po.check(*g.dst >= 0, g.key, "must be >= 0, got %v", *g.dst)
				po.check(*g.dst <= g.max, g.key, "must be <= %v, got %v", g.max, *g.dst)
			}
		}
		po.check(p.PID.Kp+p.PID.Ki+p.PID.Kd > 0, "kp", "at least one gain must be positive")
		po.done()
	}
	pc.upDown(o, "up", &up, false)
	pc.upDown(o, "down", &down, true)
	p.UpAfter, p.DownAfter = up.After, down.After
	if o.has("dead_band") {
		var v float64
		if pct, ok := o.quantity("dead_band", &v); ok {
			o.check(v >= 0, "dead_band", "must be >= 0")
			if pct {
				e.Guards.DeadBand.Pct = v
			} else {
				e.Guards.DeadBand.Units = v
			}
		}
	}
	o.done("dead_band")
	e.Rec = &policy.Autotuner{P: p}
	e.Guards.StepUp, e.Guards.StepDown = up.Step, down.Step
	e.Guards.CooldownUp, e.Guards.CooldownDown = up.Cooldown, down.Cooldown
	e.Guards.Stabilization = down.Stabilization
	e.Guards.StabilizationMax = down.StabilizationMax
	e.Guards.MinDecrease = p.Band
	pc.countSignals(&p)
	pc.t.Autotuner = &p
	for _, sp := range p.Setpoints {
		if sig := pc.t.Signals[sp.Signal]; sig != nil && !sp.UpOnly && sig.Missing == MissingZero {
			// A two-sided setpoint reading a late period as 0% would
			// lower the limit on missing data.
			pc.d.errorf(o.node, o.path, "signal %q has missing: zero, but it is a two-sided setpoint here: a missing datapoint would read as no load and lower the limit; use missing: hold for a utilization", sp.Signal)
		}
	}
}

// feedforward reads the autotuner's feed-forward setpoints into p and
// returns the mapping, for an error later placed on its backlog key.
func (pc *policyCtx) feedforward(fo *obj, p *policy.AutotunerParams) *obj {
	// Feed-forward: the demand an upstream arrival rate predicts,
	// so this limit moves with its upstream instead of minutes
	// after the traffic has reached it.
	sp := policy.Setpoint{PerLimit: true, UpOnly: true, Target: 0.7, Factor: 1}
	for _, u := range p.Setpoints {
		if u.PerLimit && !u.UpOnly {
			sp.Target = u.Target
		}
	}
	pc.ref(fo, "signal", &sp.Signal, true)
	if fo.number("per_request", &sp.Factor) {
		fo.check(sp.Factor > 0, "per_request", "must be > 0, got %v", sp.Factor)
	}
	if pc.ref(fo, "duration", &sp.FactorSignal, false) {
		sp.FactorScale = 0.001 // Lambda reports Duration in milliseconds
	}
	pc.fraction(fo, "target", &sp.Target, 0.05, 1)
	// A queue waiting upstream is demand too: draining its depth
	// within `drain` takes depth ÷ drain more than the inflow. The
	// real-time SQS depth sees it minutes before any metric.
	drain := DefaultDrain
	hasDrain := fo.duration("drain", &drain)
	if hasDrain {
		fo.check(drain >= time.Second && drain <= time.Hour, "drain", "must be between 1s and 1h, got %v", drain)
	}
	if fo.has("backlog") {
		pc.ref(fo, "backlog", &sp.Backlog, true)
		sp.Drain = drain.Seconds()
	} else {
		fo.check(!hasDrain, "drain", "needs backlog: the signal whose depth is drained")
	}
	// The rate the upstream limit admits (its limit in force, a
	// `source: target` signal) is served in full: this limit is
	// raised to what that rate needs, and never lowered below it, so
	// a burst the front door lets through is not throttled behind it
	// while the metrics that would show it are minutes away.
	var admitted string
	if !pc.ref(fo, "admitted", &admitted, false) {
		admitted = ""
	}
	if admitted != "" && sp.FactorSignal == "" && (pc.t.Kind == LambdaReservedConcurrency || pc.t.Kind == LambdaSQSMaxConcurrency) {
		fo.check(false, "admitted", "needs duration on a function: the concurrency that serves a rate is the rate × the duration")
	}
	// What the limit in front admits is all that reaches this one:
	// the arrivals are read as at most that rate, so requests it
	// turned away size nothing here.
	sp.Cap = admitted
	fo.done()
	p.Setpoints = append(p.Setpoints, sp)
	if admitted != "" && pc.t.Kind != DynamoDBProvisioned {
		// A provisioned table takes the cap alone, no floor: the API's
		// limit carries the API's own headroom, the table's burst bank
		// absorbs what a sudden opening lets through, and every unit a
		// floor held would be paid until the decrease quota lets it down.
		a := sp
		a.Signal, a.Target, a.Backlog, a.Drain, a.Floor, a.Cap = admitted, 1, "", 0, true, ""
		p.Setpoints = append(p.Setpoints, a)
	}
	return fo
}

// throttleSpec reads the throttles key: a signal name, or a mapping with
// the counts that measure the throttled share.
func (pc *policyCtx) throttleSpec(o *obj, tn *yaml.Node) *policy.ThrottleSpec {
	ts := &policy.ThrottleSpec{Boost: 0.5}
	if tn.Kind == yaml.ScalarNode {
		pc.ref(o, "throttles", &ts.Signal, true)
	} else {
		to := pc.d.obj(tn, o.at("throttles"))
		pc.ref(to, "signal", &ts.Signal, true)
		pc.ref(to, "requests", &ts.Requests, false)
		// offered: a count of every request, the throttled ones
		// included (API Gateway's Count), instead of requests.
		if to.has("offered") {
			to.check(ts.Requests == "", "offered", "and requests are exclusive: requests counts the served requests, offered all of them")
			pc.ref(to, "offered", &ts.Requests, true)
			ts.Offered = true
		} else {
			to.get("offered") // known here, so an unknown key's message names it
		}
		pc.fraction(to, "boost", &ts.Boost, 0, 10)
		to.done()
	}
	return ts
}

func (pc *policyCtx) upDown(o *obj, key string, ud *upDown, isDown bool) {
	n := o.get(key)
	if n == nil {
		return
	}
	uo := pc.d.obj(n, o.at(key))
	if uo.percent("max_step", &ud.Step.Pct) {
		hi := 10.0
		if isDown {
			hi = 0.99
		}
		uo.check(ud.Step.Pct > 0 && ud.Step.Pct <= hi, "max_step", "must be above 0%% and at most %v%%, got %v%%", hi*100, ud.Step.Pct*100)
	}
	if uo.number("max_units", &ud.Step.Units) {
		uo.check(ud.Step.Units > 0, "max_units", "must be > 0, got %v", ud.Step.Units)
	}
	pc.nonNegDuration(uo, "cooldown", &ud.Cooldown)
	pc.count(uo, "after", &ud.After)
	if isDown {
		pc.nonNegDuration(uo, "stabilization", &ud.Stabilization)
		if uo.has("stabilization") && !uo.has("stabilization_max") {
			ud.StabilizationMax = max(ud.StabilizationMax, ud.Stabilization)
		}
		pc.nonNegDuration(uo, "stabilization_max", &ud.StabilizationMax)
		uo.check(ud.StabilizationMax == 0 || ud.StabilizationMax >= ud.Stabilization, "stabilization_max", "must be 0 or at least stabilization (%v), got %v", ud.Stabilization, ud.StabilizationMax)
		uo.check(ud.StabilizationMax <= 24*time.Hour, "stabilization_max", "must be at most 24h, got %v", ud.StabilizationMax)
	}
	uo.done()
}

// guards reads the back-pressure guards.
func (pc *policyCtx) guards(items []*yaml.Node, path string) {
	for i, n := range items {
		o := pc.d.obj(n, fmt.Sprintf("%s[%d]", path, i))
		var bp policy.BackPressure
		pc.ref(o, "signal", &bp.Signal, true)
		hasWarn := o.number("warn", &bp.Warn)
		hasCrit := o.number("critical", &bp.Critical)
		o.check(hasWarn || o.vals["warn"] != nil, "warn", "is required: the level above which no increase is allowed")
		if hasCrit {
			o.check(bp.Critical >= bp.Warn, "critical", "must be >= warn (%v), got %v", bp.Warn, bp.Critical)
			bp.Cut = 0.3
			if o.percent("cut", &bp.Cut) {
				o.check(bp.Cut > 0 && bp.Cut < 1, "cut", "must be between 0%% and 100%%, got %v%%", bp.Cut*100)
			}
			bp.Memory = 30 * time.Minute
			pc.nonNegDuration(o, "memory", &bp.Memory)
		} else if o.has("cut") || o.has("memory") {
			o.get("cut")
			o.get("memory")
			o.check(!o.has("cut"), "cut", "needs critical: the cut happens above the critical level")
			o.check(!o.has("memory"), "memory", "needs critical: it remembers the level of the last cut")
		}
		o.done()
		if pc.t.Engine != nil {
			pc.t.Engine.Guards.BackPressure = append(pc.t.Engine.Guards.BackPressure, bp)
		}
	}
}

// decreases reads the DynamoDB decrease-budget pacing.
func (pc *policyCtx) decreases(n *yaml.Node, path string) {
	reserve, saving := 1, 0.1
	if pc.t.Kind == DynamoDBProvisioned && pc.t.PolicyName != "autotuner" {
		reserve, saving = 0, 0 // baselines spend the budget as they were designed to
	}
	if n != nil {
		o := pc.d.obj(n, path)
		if pc.t.Kind != DynamoDBProvisioned {
			pc.d.errorf(n, path, "only applies to kind dynamodb-provisioned")
		}
		if o.integer("reserve", &reserve) {
			o.check(reserve >= 0 && reserve <= policy.FreeDecreasesPerDay, "reserve", "must be between 0 and %d, got %d", policy.FreeDecreasesPerDay, reserve)
		}
		pc.fraction(o, "min_saving", &saving, 0, 0.99)
		o.done()
	}
	if pc.t.Engine != nil && pc.t.Kind == DynamoDBProvisioned {
		pc.t.Engine.Guards.DecreaseReserve = reserve
		pc.t.Engine.Guards.MinSaving = saving
		pc.t.Engine.Guards.WeighDecreases = pc.t.PolicyName == "autotuner"
	}
}

// countSignals marks the setpoints whose signal counts independent events
// (a Sum of requests, invocations or capacity units), with how many
// events one unit of its value stands for, so the policy can tell a
// move from counting noise. A Maximum or an Average is not a count.
func (pc *policyCtx) countSignals(p *policy.AutotunerParams) {
	for i := range p.Setpoints {
		sp := &p.Setpoints[i]
		sig := pc.t.Signals[sp.Signal]
		if sig == nil || sig.Source != SourceCloudWatch || sig.Expression != "" || sig.Stat != "Sum" || sp.Floor {
			continue
		}
		sp.Count = 1
		if sig.PerSecond {
			period := sig.Period
			if period <= 0 {
				period = time.Minute
			}
			sp.Count = period.Seconds()
		}
	}
}
