package sim

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// Goal names: issue 6's goals for the default policy, one scenario at a
// time. Each is checked against the autotuner policy's result.
const (
	GoalThrottledVsTT     = "throttled ≤ target-tracking"
	GoalThrottledHalfTT   = "throttled ≤ 50% of target-tracking"
	GoalCostVsTT          = "cost ≤ 1.10× target-tracking"
	GoalOverload          = "overload ≤ best baseline"
	GoalBackPressure      = "back-pressure cut ≤ 180 s after brownout"
	GoalPareto            = "Pareto: no baseline better on both axes"
	GoalNearOracleThr     = "(throttled − oracle's) / offered ≤ 1%"
	GoalNearOracleCost    = "cost ≤ 1.3× oracle"
	GoalReversals         = "reversals ≤ 2 per hour"
	GoalActuations        = "actuations ≤ 1.5× target-tracking"
	GoalNoQuotaViolations = "zero quota violations"
)

// GoalNames lists the goals in table order.
var GoalNames = []string{GoalThrottledVsTT, GoalThrottledHalfTT, GoalCostVsTT, GoalOverload, GoalBackPressure, GoalPareto,
	GoalNearOracleThr, GoalNearOracleCost, GoalReversals, GoalActuations, GoalNoQuotaViolations}

// HalfThrottleScenarios are where the autotuner must throttle at most
// half what target tracking does.
var HalfThrottleScenarios = []string{"flash-crowd", "spike-train", "azure-bursty"}

// BackPressureDeadlineS is how soon after a brownout begins the
// back-pressure guard must have cut the upstream limit.
const BackPressureDeadlineS = 180

// Goal is one goal checked on one scenario.
type Goal struct {
	Name      string
	Measured  float64
	Threshold float64
	Pass      bool
	// Detail says what was measured, with the numbers behind it.
	Detail string
}

// GoalInput is everything the checker reads: plain numbers, so it can be
// tested on hand-built results.
type GoalInput struct {
	Scenario  string
	DurationS int64
	// KPIs by policy name; needs "autotuner", "target-tracking" and
	// "oracle", and reads every other policy as a baseline.
	KPIs map[string]KPIs
	// BrownoutOnsets are the seconds at which brownout faults begin.
	BrownoutOnsets []int64
	// BackPressureCuts are the seconds at which the autotuner applied a
	// decrease that a back_pressure guard step lowered.
	BackPressureCuts []int64
}

// Pareto normalisation floors: an axis normalised by target tracking's
// value would divide by zero when target tracking scored 0, so each
// reference is at least this much.
const (
	paretoThrottledFloor = 0.001 // of offered requests
	paretoCostFloor      = 1e-4  // USD
	paretoOverloadFloor  = 0.01  // of the scenario's seconds
)

// ParetoPoint is a policy's place on the two Pareto axes, each
// normalised by target tracking's value (so target tracking sits at 1, 2).
type ParetoPoint struct {
	Throttled    float64 // throttled / target tracking's throttled
	CostOverload float64 // cost / TT's cost + overload_s / TT's overload_s
}

// Pareto places k on the axes relative to tt.
func Pareto(k, tt KPIs, durationS int64) ParetoPoint {
	thrRef := math.Max(float64(tt.Throttled), paretoThrottledFloor*float64(max(tt.Offered, 1)))
	costRef := math.Max(tt.CostUSD, paretoCostFloor)
	ovRef := math.Max(float64(tt.OverloadS), paretoOverloadFloor*float64(max(durationS, 1)))
	return ParetoPoint{
		Throttled:    float64(k.Throttled) / thrRef,
		CostOverload: k.CostUSD/costRef + float64(k.OverloadS)/ovRef,
	}
}

// ratio is a/b, with 0/0 = 1 and a/0 = +Inf.
func suiteRatio(a, b float64) float64 {
	switch {
	case b == 0 && a == 0:
		return 1
	case b == 0:
		return math.Inf(1)
	}
	return a / b
}

// CheckGoals checks issue 6's goals for one scenario's results. It is
// pure: the numbers in, each goal with its measured value, threshold and
// verdict out. A goal whose policy is missing from the input is left out.
func CheckGoals(in GoalInput) []Goal {
	at, okA := in.KPIs[PolicyAutotuner]
	if !okA {
		return nil
	}
	tt, okT := in.KPIs["target-tracking"]
	or, okO := in.KPIs[PolicyOracle]
	var out []Goal
	add := func(g Goal) { out = append(out, g) }

	if okT {
		r := suiteRatio(float64(at.Throttled), float64(tt.Throttled))
		add(Goal{Name: GoalThrottledVsTT, Measured: r, Threshold: 1, Pass: at.Throttled <= tt.Throttled,
			Detail: fmt.Sprintf("%d vs %d throttled", at.Throttled, tt.Throttled)})
		for _, s := range HalfThrottleScenarios {
			if s == in.Scenario {
				add(Goal{Name: GoalThrottledHalfTT, Measured: r, Threshold: 0.5, Pass: 2*at.Throttled <= tt.Throttled,
					Detail: fmt.Sprintf("%d vs %d throttled", at.Throttled, tt.Throttled)})
			}
		}
		// The simulator prices only DynamoDB capacity, so cost_usd is the
		// DynamoDB part; there is no other cost to separate out.
		add(Goal{Name: GoalCostVsTT, Measured: suiteRatio(at.CostUSD, tt.CostUSD), Threshold: 1.1, Pass: at.CostUSD <= 1.1*tt.CostUSD+1e-9,
			Detail: fmt.Sprintf("$%.4f vs $%.4f (DynamoDB capacity, the only cost priced)", at.CostUSD, tt.CostUSD)})
	}

	baselines := make([]string, 0, len(in.KPIs))
	for name := range in.KPIs {
		if name != PolicyAutotuner && name != PolicyOracle && name != PolicyOracleCausal {
			baselines = append(baselines, name)
		}
	}
	sort.Strings(baselines)
	if len(baselines) > 0 {
		best := baselines[0]
		for _, b := range baselines[1:] {
			if in.KPIs[b].OverloadS < in.KPIs[best].OverloadS {
				best = b
			}
		}
		bo := in.KPIs[best].OverloadS
		add(Goal{Name: GoalOverload, Measured: float64(at.OverloadS), Threshold: float64(bo), Pass: at.OverloadS <= bo,
			Detail: fmt.Sprintf("%d s vs %d s (%s)", at.OverloadS, bo, best)})
	}

	for _, onset := range in.BrownoutOnsets {
		first := int64(-1)
		for _, c := range in.BackPressureCuts {
			if c >= onset && (first < 0 || c < first) {
				first = c
			}
		}
		g := Goal{Name: GoalBackPressure, Threshold: BackPressureDeadlineS}
		if first < 0 {
			g.Measured = math.Inf(1)
			g.Detail = fmt.Sprintf("no back-pressure cut after the brownout at %s", suiteClock(onset))
		} else {
			g.Measured = float64(first - onset)
			g.Pass = first-onset <= BackPressureDeadlineS
			g.Detail = fmt.Sprintf("first cut at %s, %d s after the brownout at %s", suiteClock(first), first-onset, suiteClock(onset))
		}
		add(g)
	}

	if okT {
		pa := Pareto(at, tt, in.DurationS)
		var dom []string
		for _, b := range baselines {
			pb := Pareto(in.KPIs[b], tt, in.DurationS)
			if pb.Throttled < pa.Throttled && pb.CostOverload < pa.CostOverload {
				dom = append(dom, b)
			}
		}
		g := Goal{Name: GoalPareto, Measured: float64(len(dom)), Threshold: 0, Pass: len(dom) == 0,
			Detail: fmt.Sprintf("autotuner at (%.3f, %.3f)", pa.Throttled, pa.CostOverload)}
		if len(dom) > 0 {
			g.Detail += "; better on both: " + strings.Join(dom, ", ")
		}
		add(g)
	}

	if okO {
		d := float64(at.Throttled-or.Throttled) / float64(max(at.Offered, 1))
		add(Goal{Name: GoalNearOracleThr, Measured: d, Threshold: 0.01, Pass: d <= 0.01,
			Detail: fmt.Sprintf("(%d − %d) / %d = %.2f%%", at.Throttled, or.Throttled, at.Offered, 100*d)})
		add(Goal{Name: GoalNearOracleCost, Measured: suiteRatio(at.CostUSD, or.CostUSD), Threshold: 1.3, Pass: at.CostUSD <= 1.3*or.CostUSD+1e-9,
			Detail: fmt.Sprintf("$%.4f vs $%.4f", at.CostUSD, or.CostUSD)})
	}

	hours := math.Max(float64(in.DurationS)/3600, 1.0/60)
	rph := float64(at.Reversals) / hours
	add(Goal{Name: GoalReversals, Measured: rph, Threshold: 2, Pass: rph <= 2,
		Detail: fmt.Sprintf("%d reversals over %.1f h, summed over the targets", at.Reversals, hours)})
	if okT {
		add(Goal{Name: GoalActuations, Measured: suiteRatio(float64(at.Actuations), float64(tt.Actuations)), Threshold: 1.5,
			Pass:   2*at.Actuations <= 3*tt.Actuations,
			Detail: fmt.Sprintf("%d vs %d", at.Actuations, tt.Actuations)})
	}
	add(Goal{Name: GoalNoQuotaViolations, Measured: float64(at.QuotaViolations), Threshold: 0, Pass: at.QuotaViolations == 0,
		Detail: fmt.Sprintf("%d", at.QuotaViolations)})
	return out
}

// clock renders seconds since the start as h:mm:ss.
func suiteClock(s int64) string {
	return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
}
