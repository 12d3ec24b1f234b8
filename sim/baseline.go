package sim

import (
	"fmt"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/policy"
)

// Policy names the simulator compares. "autotuner" runs the policies file
// as written; the others replace every target's policy.
const (
	PolicyAutotuner = "autotuner"
	PolicyStatic    = "static"
	PolicyOracle    = "oracle"
)

// Baselines are the policies Baseline can derive.
var Baselines = []string{"target-tracking", "step-scaling", "hpa", "threshold", "aimd"}

// PolicyNames lists every policy --compare accepts.
func PolicyNames() []string {
	return append(append([]string{PolicyAutotuner}, Baselines...), PolicyStatic, PolicyOracle, PolicyOracleCausal)
}

// signalsOf finds the signals a baseline is built from: the utilization
// signal (busy or consumed, in the limit's units) with its target, and the
// throttle counter, from whichever policy the target uses.
func signalsOf(t *config.Target) (util string, target float64, throttles string) {
	target = 0.7
	if a := t.Autotuner; a != nil {
		for _, sp := range a.Setpoints {
			if sp.PerLimit && !sp.UpOnly && util == "" {
				util, target = sp.Signal, sp.Target
			}
		}
		if a.Throttles != nil {
			throttles = a.Throttles.Signal
		}
		return util, target, throttles
	}
	if t.Engine == nil {
		return "", target, ""
	}
	switch r := t.Engine.Rec.(type) {
	case *policy.TargetTracking:
		return r.P.Signal, r.P.Target, ""
	case *policy.HPA:
		return r.P.Signal, r.P.Target, ""
	case *policy.StepScaling:
		return r.P.Signal, target, ""
	case *policy.Threshold:
		return r.P.Signal, target, r.P.Throttles
	case *policy.AIMD:
		return r.P.Signal, target, r.P.Throttles
	}
	return "", target, ""
}

// Baseline builds the engine of baseline `name` for t from the same
// signals t's own policy reads: target tracking, HPA and the others on the
// autotuner's utilization signal and setpoint, threshold and AIMD also on
// its throttle counter. The guards keep only what the service imposes
// (resolution, the zero rule); back-pressure guards and step caps belong
// to the autotuner policy and are not given to the baselines, and the
// DynamoDB decrease budget is spent the way each baseline was designed to
// spend it.
func Baseline(t *config.Target, name string) (*policy.Engine, error) {
	util, target, thr := signalsOf(t)
	if util == "" {
		return nil, fmt.Errorf("target %s has no utilization signal (a setpoint with a %% target) to build %s from", t.Name, name)
	}
	g := policy.Guards{Resolution: t.Resolution(), AllowZero: t.AllowZero}
	var rec policy.Recommender
	switch name {
	case "target-tracking":
		p := policy.DefaultTargetTracking()
		p.Signal, p.Target = util, target
		rec = &policy.TargetTracking{P: p}
	case "step-scaling":
		p := policy.DefaultStepScaling()
		p.Signal = util
		rec = &policy.StepScaling{P: p}
	case "hpa":
		p := policy.DefaultHPA()
		p.Signal, p.Target = util, target
		rec = &policy.HPA{P: p}
	case "threshold":
		p := policy.DefaultThreshold()
		p.Signal, p.Throttles = util, thr
		rec = &policy.Threshold{P: p}
	case "aimd":
		p := policy.DefaultAIMD()
		p.Signal, p.Throttles = util, thr
		p.Add = max(1, t.Min) // one step of the smallest sensible size
		rec = &policy.AIMD{P: p}
	default:
		return nil, fmt.Errorf("unknown baseline %q (one of %v)", name, Baselines)
	}
	return &policy.Engine{Rec: rec, Guards: g}, nil
}
