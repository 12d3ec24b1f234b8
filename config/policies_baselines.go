package config

import (
	"go.yaml.in/yaml/v3"

	"github.com/autotuner/autotuner/policy"
)

// The baseline policies' readers: each reads one policy's keys into its
// recommender, with the same checks and positioned errors as the rest of
// the policies file.

// staticPolicy reads the static policy: a fixed value within min and max.
func (pc *policyCtx) staticPolicy(body *yaml.Node, bp string) policy.Recommender {
	b := pc.d.obj(body, bp)
	s := &policy.Static{}
	if b.number("value", &s.Value) {
		b.check(s.Value >= pc.t.Min && s.Value <= pc.t.Max, "value", "must lie within min and max (%v..%v), got %v", pc.t.Min, pc.t.Max, s.Value)
	}
	b.done()
	return s
}

// targetTracking reads target tracking, AWS Application Auto Scaling's rules.
func (pc *policyCtx) targetTracking(body *yaml.Node, bp string) policy.Recommender {
	p := policy.DefaultTargetTracking()
	b := pc.d.obj(body, bp)
	pc.ref(b, "signal", &p.Signal, true)
	pc.fraction(b, "target", &p.Target, 0.01, 1)
	pc.count(b, "out_after", &p.OutAfter)
	pc.count(b, "in_after", &p.InAfter)
	pc.fraction(b, "in_margin", &p.InMargin, 0, 0.9)
	pc.nonNegDuration(b, "out_cooldown", &p.OutCooldown)
	pc.nonNegDuration(b, "in_cooldown", &p.InCooldown)
	b.boolean("disable_scale_in", &p.DisableScaleIn)
	b.done()
	return &policy.TargetTracking{P: p}
}

// stepScaling reads step scaling, AWS Application Auto Scaling's rules.
func (pc *policyCtx) stepScaling(body *yaml.Node, bp string) policy.Recommender {
	p := policy.DefaultStepScaling()
	b := pc.d.obj(body, bp)
	pc.ref(b, "signal", &p.Signal, true)
	pc.fraction(b, "high", &p.High, 0.01, 10)
	pc.fraction(b, "low", &p.Low, 0, 10)
	b.check(p.Low < p.High, "low", "must be below high (%v), got %v", p.High, p.Low)
	pc.count(b, "high_periods", &p.HighPeriods)
	pc.count(b, "low_periods", &p.LowPeriods)
	pc.nonNegDuration(b, "cooldown", &p.Cooldown)
	if b.number("min_adjustment", &p.MinAdjustment) {
		b.check(p.MinAdjustment >= 0, "min_adjustment", "must be >= 0, got %v", p.MinAdjustment)
	}
	if b.has("out") {
		p.Out = pc.steps(b, "out", 1)
	}
	if b.has("in") {
		p.In = pc.steps(b, "in", -1)
	}
	b.done()
	return &policy.StepScaling{P: p}
}

// hpa reads the Kubernetes HPA's rules.
func (pc *policyCtx) hpa(body *yaml.Node, bp string) policy.Recommender {
	p := policy.DefaultHPA()
	b := pc.d.obj(body, bp)
	pc.ref(b, "signal", &p.Signal, true)
	pc.fraction(b, "target", &p.Target, 0.01, 1)
	pc.fraction(b, "tolerance", &p.Tolerance, 0, 1)
	pc.nonNegDuration(b, "down_stabilization", &p.DownStabilization)
	pc.fraction(b, "up_percent", &p.UpPercent, 0, 100)
	if b.number("up_units", &p.UpUnits) {
		b.check(p.UpUnits >= 0, "up_units", "must be >= 0, got %v", p.UpUnits)
	}
	pc.nonNegDuration(b, "up_period", &p.UpPeriod)
	b.done()
	return &policy.HPA{P: p}
}

// threshold reads the upper/lower threshold policy.
func (pc *policyCtx) threshold(body *yaml.Node, bp string) policy.Recommender {
	p := policy.DefaultThreshold()
	b := pc.d.obj(body, bp)
	pc.ref(b, "signal", &p.Signal, true)
	pc.fraction(b, "upper", &p.Upper, 0.01, 10)
	pc.fraction(b, "lower", &p.Lower, 0, 10)
	b.check(p.Lower < p.Upper, "lower", "must be below upper (%v), got %v", p.Upper, p.Lower)
	pc.fraction(b, "increase", &p.Increase, 0.01, 10)
	pc.fraction(b, "decrease", &p.Decrease, 0.01, 0.99)
	pc.count(b, "checks_before_down", &p.ChecksBeforeDown)
	pc.ref(b, "throttles", &p.Throttles, false)
	if b.number("throttled_upper", &p.ThrottledUpper) {
		b.check(p.ThrottledUpper >= 0, "throttled_upper", "must be >= 0, got %v", p.ThrottledUpper)
	}
	b.done()
	return &policy.Threshold{P: p}
}

// aimd reads additive increase, multiplicative decrease.
func (pc *policyCtx) aimd(body *yaml.Node, bp string) policy.Recommender {
	p := policy.DefaultAIMD()
	b := pc.d.obj(body, bp)
	pc.ref(b, "signal", &p.Signal, true)
	pc.ref(b, "throttles", &p.Throttles, false)
	pc.fraction(b, "high", &p.High, 0.01, 10)
	pc.fraction(b, "low", &p.Low, 0, 10)
	b.check(p.Low < p.High, "low", "must be below high (%v), got %v", p.High, p.Low)
	if b.number("add", &p.Add) {
		b.check(p.Add > 0, "add", "must be > 0, got %v", p.Add)
	}
	pc.fraction(b, "beta", &p.Beta, 0.01, 0.99)
	pc.count(b, "low_after", &p.LowAfter)
	if pc.ref(b, "congestion", &p.Congestion, false) {
		b.check(b.number("congestion_at", &p.CongestionAt), "congestion_at", "is required with congestion")
	} else {
		b.get("congestion_at")
	}
	b.done()
	return &policy.AIMD{P: p}
}
