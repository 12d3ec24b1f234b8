package sim

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
)

// Goal names: the goals for the default policy, one scenario at a time.
// Each is checked against the autotuner policy's result. The throttle
// goals are judged on lost requests (a throttle behind a queue is delayed,
// not lost); cost and overload are compared only with baselines that lose
// no more than the autotuner plus EqualServiceSlack of offered.
const (
	GoalLostVsTT          = "lost ≤ target-tracking"
	GoalLostHalfTT        = "lost ≤ 50% of target-tracking"
	GoalCost              = "cost ≤ 1.10× cheapest baseline at equal service"
	GoalOverload          = "overload ≤ best baseline at equal service"
	GoalQueueAge          = "p99 queue age ≤ target-tracking"
	GoalBackPressure      = "back-pressure cut ≤ 180 s after brownout"
	GoalPareto            = "Pareto: no baseline better on both axes"
	GoalNearOracle        = "(lost − oracle-causal's) / offered ≤ 1%"
	GoalNearOracleCost    = "cost ≤ 1.3× oracle"
	GoalRecurring         = "recurring: (lost − oracle's) / offered ≤ 2%"
	GoalReversals         = "reversals ≤ 2 per hour"
	GoalActuations        = "actuations ≤ 1.5× target-tracking"
	GoalNoQuotaViolations = "zero quota violations"
)

// GoalNames lists the goals in table order.
var GoalNames = []string{GoalLostVsTT, GoalLostHalfTT, GoalCost, GoalOverload, GoalQueueAge, GoalBackPressure, GoalPareto,
	GoalNearOracle, GoalNearOracleCost, GoalRecurring, GoalReversals, GoalActuations, GoalNoQuotaViolations,
	GoalBatchSooner, GoalNo429, GoalNoFailedExecs, GoalExecP99Static}

// EqualServiceSlack is how much more a baseline may lose, as a share of
// offered requests, and still count as giving the autotuner's service
// when cost and overload are compared: spending less by starving traffic
// is not cheaper.
const EqualServiceSlack = 0.01

// HalfThrottleScenarios are the bursty scenarios, where the autotuner
// must lose at most half what target tracking does.
var HalfThrottleScenarios = []string{"flash-crowd", "spike-train", "azure-bursty", "flash-spike", "hourly-cron"}

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
	// KPIs by policy name; needs "autotuner", "target-tracking",
	// "oracle" and "oracle-causal", and reads every other policy as a
	// baseline.
	KPIs map[string]KPIs
	// Queued is set on a topology with a queue, where queue age is judged.
	Queued bool
	// BrownoutOnsets are the seconds at which brownout faults begin.
	BrownoutOnsets []int64
	// BackPressureCuts are the seconds at which the autotuner applied a
	// decrease that a back_pressure guard step lowered.
	BackPressureCuts []int64
	// Recurring is set on a scenario whose load recurs (the scenario's
	// recurring: true): the autotuner, which learns recurring load, is
	// judged against the foresight oracle there.
	Recurring bool
}

// RecurringGap is the most the autotuner may lose beyond the foresight
// oracle, as a share of offered requests, on a scenario whose load
// recurs: a burst seen before is a burst it can be ready for.
const RecurringGap = 0.02

// Pareto normalisation floors: an axis normalised by target tracking's
// value would divide by zero when target tracking scored 0, so each
// reference is at least this much.
const (
	paretoLostFloor     = 0.001 // of offered requests
	paretoCostFloor     = 1e-4  // USD
	paretoOverloadFloor = 0.01  // of the scenario's seconds
)

// ParetoPoint is a policy's place on the two Pareto axes, each
// normalised by target tracking's value (so target tracking sits at 1, 2).
type ParetoPoint struct {
	Lost         float64 // lost / target tracking's lost
	CostOverload float64 // cost / TT's cost + overload_s / TT's overload_s
}

// Pareto places k on the axes relative to tt.
func Pareto(k, tt KPIs, durationS int64) ParetoPoint {
	lostRef := math.Max(float64(tt.Lost), paretoLostFloor*float64(max(tt.Offered, 1)))
	costRef := math.Max(tt.CostUSD, paretoCostFloor)
	ovRef := math.Max(float64(tt.OverloadS), paretoOverloadFloor*float64(max(durationS, 1)))
	return ParetoPoint{
		Lost:         float64(k.Lost) / lostRef,
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

// CheckGoals checks the goals for one scenario's results. It is pure:
// the numbers in, each goal with its measured value, threshold and
// verdict out. A goal whose policy is missing from the input is left out.
func CheckGoals(in GoalInput) []Goal {
	at, ok := in.KPIs[PolicyAutotuner]
	if !ok {
		return nil
	}
	c := &goalCheck{in: in, at: at}
	c.tt, c.okT = in.KPIs["target-tracking"]
	c.baselines = baselinesOf(in.KPIs)
	c.lostVsTT()
	c.cost()
	c.overload()
	c.queueAge()
	c.backPressure()
	c.pareto()
	c.nearOracles()
	c.calm()
	return c.out
}

// goalCheck holds one scenario's check as it goes: each goal is a stage.
type goalCheck struct {
	in        GoalInput
	at, tt    KPIs
	okT       bool
	baselines []string
	out       []Goal
}

func (c *goalCheck) add(g Goal) { c.out = append(c.out, g) }

// baselinesOf lists every policy but the autotuner and the two oracles.
func baselinesOf(k map[string]KPIs) []string {
	var out []string
	for name := range k {
		if name != PolicyAutotuner && name != PolicyOracle && name != PolicyOracleCausal {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// equalService lists the baselines that lose no more than the autotuner
// plus EqualServiceSlack of offered.
func (c *goalCheck) equalService() []string {
	limit := float64(c.at.Lost) + EqualServiceSlack*float64(c.at.Offered)
	var out []string
	for _, b := range c.baselines {
		if float64(c.in.KPIs[b].Lost) <= limit {
			out = append(out, b)
		}
	}
	return out
}

func (c *goalCheck) lostVsTT() {
	if !c.okT {
		return
	}
	at, tt := c.at, c.tt
	r := suiteRatio(float64(at.Lost), float64(tt.Lost))
	detail := fmt.Sprintf("%d vs %d lost (%d vs %d throttle events)", at.Lost, tt.Lost, at.Throttled, tt.Throttled)
	c.add(Goal{Name: GoalLostVsTT, Measured: r, Threshold: 1, Pass: at.Lost <= tt.Lost, Detail: detail})
	if slices.Contains(HalfThrottleScenarios, c.in.Scenario) {
		c.add(Goal{Name: GoalLostHalfTT, Measured: r, Threshold: 0.5, Pass: 2*at.Lost <= tt.Lost, Detail: detail})
	}
}

// cost compares with the cheapest baseline at equal service. The
// simulator prices only DynamoDB capacity, so cost_usd is the DynamoDB
// part; there is no other cost to separate out.
func (c *goalCheck) cost() {
	eq := c.equalService()
	if len(eq) == 0 {
		return // every baseline lost more: none gives the same service
	}
	best := eq[0]
	for _, b := range eq[1:] {
		if c.in.KPIs[b].CostUSD < c.in.KPIs[best].CostUSD {
			best = b
		}
	}
	bc := c.in.KPIs[best].CostUSD
	c.add(Goal{Name: GoalCost, Measured: suiteRatio(c.at.CostUSD, bc), Threshold: 1.1, Pass: c.at.CostUSD <= 1.1*bc+1e-9,
		Detail: fmt.Sprintf("$%.4f vs $%.4f (%s; DynamoDB capacity, the only cost priced)", c.at.CostUSD, bc, best)})
}

func (c *goalCheck) overload() {
	eq := c.equalService()
	if len(eq) == 0 {
		return
	}
	best := eq[0]
	for _, b := range eq[1:] {
		if c.in.KPIs[b].OverloadS < c.in.KPIs[best].OverloadS {
			best = b
		}
	}
	bo := c.in.KPIs[best].OverloadS
	c.add(Goal{Name: GoalOverload, Measured: float64(c.at.OverloadS), Threshold: float64(bo), Pass: c.at.OverloadS <= bo,
		Detail: fmt.Sprintf("%d s vs %d s (%s)", c.at.OverloadS, bo, best)})
}

// queueAge: behind a queue a throttle delays instead of losing, so what
// it costs is judged as the age of the oldest message.
func (c *goalCheck) queueAge() {
	if !c.in.Queued || !c.okT {
		return
	}
	a, t := c.at.P99QueueAgeS, c.tt.P99QueueAgeS
	c.add(Goal{Name: GoalQueueAge, Measured: a, Threshold: t, Pass: a <= t,
		Detail: fmt.Sprintf("%.0f s vs %.0f s (max %.0f s vs %.0f s; %d vs %d delayed)", a, t, c.at.MaxQueueAgeS, c.tt.MaxQueueAgeS, c.at.Delayed, c.tt.Delayed)})
}

func (c *goalCheck) backPressure() {
	for _, onset := range c.in.BrownoutOnsets {
		first := int64(-1)
		for _, cut := range c.in.BackPressureCuts {
			if cut >= onset && (first < 0 || cut < first) {
				first = cut
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
		c.add(g)
	}
}

func (c *goalCheck) pareto() {
	if !c.okT {
		return
	}
	pa := Pareto(c.at, c.tt, c.in.DurationS)
	var dom []string
	for _, b := range c.baselines {
		pb := Pareto(c.in.KPIs[b], c.tt, c.in.DurationS)
		if pb.Lost < pa.Lost && pb.CostOverload < pa.CostOverload {
			dom = append(dom, b)
		}
	}
	g := Goal{Name: GoalPareto, Measured: float64(len(dom)), Threshold: 0, Pass: len(dom) == 0,
		Detail: fmt.Sprintf("autotuner at (%.3f, %.3f)", pa.Lost, pa.CostOverload)}
	if len(dom) > 0 {
		g.Detail += "; better on both: " + strings.Join(dom, ", ")
	}
	c.add(g)
}

// nearOracles measures the gap in lost requests against oracle-causal,
// the best a reactive controller can do; on recurring load the gap
// against the foresight oracle, since a pattern learned is foresight; and
// the cost against the foresight oracle.
func (c *goalCheck) nearOracles() {
	at := c.at
	if oc, ok := c.in.KPIs[PolicyOracleCausal]; ok {
		d := float64(at.Lost-oc.Lost) / float64(max(at.Offered, 1))
		c.add(Goal{Name: GoalNearOracle, Measured: d, Threshold: 0.01, Pass: d <= 0.01,
			Detail: fmt.Sprintf("(%d − %d) / %d = %.2f%%", at.Lost, oc.Lost, at.Offered, 100*d)})
	}
	if or, ok := c.in.KPIs[PolicyOracle]; ok && c.in.Recurring {
		d := float64(at.Lost-or.Lost) / float64(max(at.Offered, 1))
		c.add(Goal{Name: GoalRecurring, Measured: d, Threshold: RecurringGap, Pass: d <= RecurringGap,
			Detail: fmt.Sprintf("(%d − %d) / %d = %.2f%%", at.Lost, or.Lost, at.Offered, 100*d)})
	}
	if or, ok := c.in.KPIs[PolicyOracle]; ok {
		c.add(Goal{Name: GoalNearOracleCost, Measured: suiteRatio(at.CostUSD, or.CostUSD), Threshold: 1.3, Pass: at.CostUSD <= 1.3*or.CostUSD+1e-9,
			Detail: fmt.Sprintf("$%.4f vs $%.4f", at.CostUSD, or.CostUSD)})
	}
}

// calm: reversals, actuations, and the services' quotas.
func (c *goalCheck) calm() {
	at := c.at
	hours := math.Max(float64(c.in.DurationS)/3600, 1.0/60)
	rph := float64(at.Reversals) / hours
	c.add(Goal{Name: GoalReversals, Measured: rph, Threshold: 2, Pass: rph <= 2,
		Detail: fmt.Sprintf("%d reversals over %.1f h, summed over the targets", at.Reversals, hours)})
	if c.okT {
		c.add(Goal{Name: GoalActuations, Measured: suiteRatio(float64(at.Actuations), float64(c.tt.Actuations)), Threshold: 1.5,
			Pass:   2*at.Actuations <= 3*c.tt.Actuations,
			Detail: fmt.Sprintf("%d vs %d", at.Actuations, c.tt.Actuations)})
	}
	c.add(Goal{Name: GoalNoQuotaViolations, Measured: float64(at.QuotaViolations), Threshold: 0, Pass: at.QuotaViolations == 0,
		Detail: fmt.Sprintf("%d", at.QuotaViolations)})
}

// clock renders seconds since the start as h:mm:ss.
func suiteClock(s int64) string {
	return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
}
