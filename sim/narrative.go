package sim

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/autotuner/autotuner/policy"
)

// Narrate explains one scenario of the suite in sentences: who threw away
// the fewest requests and who the most, how fast the autotuner and target
// tracking first reacted to the scenario's event and why, what the guards
// did, what it cost, and which goals were missed. Every number comes from
// the run's KPIs and audit records; the rules only choose what to say.
func Narrate(r *ScenarioRun) []string {
	at, tt := r.Result(PolicyAutotuner), r.Result("target-tracking")
	var out []string
	say := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }

	// Ranking on lost requests, the oracles aside.
	var ranked []*Result
	for _, res := range r.Results {
		if res.Policy != PolicyOracle && res.Policy != PolicyOracleCausal {
			ranked = append(ranked, res)
		}
	}
	sort.SliceStable(ranked, func(i, j int) bool { return ranked[i].KPIs.Lost < ranked[j].KPIs.Lost })
	if len(ranked) > 1 {
		best, worst := ranked[0], ranked[len(ranked)-1]
		s := fmt.Sprintf("%s lost the fewest requests (%d, %s of offered) and %s the most (%d, %s)",
			best.Policy, best.KPIs.Lost, suitePct(best.KPIs.Lost, best.KPIs.Offered), worst.Policy, worst.KPIs.Lost, suitePct(worst.KPIs.Lost, worst.KPIs.Offered))
		if oc := r.Result(PolicyOracleCausal); oc != nil {
			s += fmt.Sprintf("; oracle-causal, a perfect reactive controller, lost %d", oc.KPIs.Lost)
		}
		if or := r.Result(PolicyOracle); or != nil {
			s += fmt.Sprintf("; the oracle, which sees the future, lost %d", or.KPIs.Lost)
		}
		say("%s.", s)
	}
	if at == nil || tt == nil {
		return out
	}

	la, lt := at.KPIs.Lost, tt.KPIs.Lost
	switch {
	case la == lt:
		say("autotuner and target-tracking lost the same (%d).", la)
	case la < lt && la == 0:
		say("autotuner lost nothing; target-tracking lost %d.", lt)
	case la < lt:
		say("target-tracking lost %.1f× more than autotuner (%d vs %d).", float64(lt)/float64(la), lt, la)
	case lt == 0:
		say("autotuner lost %d where target-tracking lost none.", la)
	default:
		say("autotuner lost %.1f× more than target-tracking (%d vs %d).", float64(la)/float64(lt), la, lt)
	}
	a, t := at.KPIs.Throttled, tt.KPIs.Throttled
	layers := func(l Layers) string {
		var parts []string
		for _, p := range []struct {
			n string
			v int64
		}{{"API Gateway", l.APIGateway}, {"Lambda", l.Lambda}, {"DynamoDB", l.DynamoDB}} {
			if p.v > 0 {
				parts = append(parts, fmt.Sprintf("%s %d", p.n, p.v))
			}
		}
		if len(parts) == 0 {
			return "none"
		}
		return strings.Join(parts, ", ")
	}
	if a > 0 || t > 0 {
		say("Throttle events by layer, autotuner: %s; target-tracking: %s.", layers(at.Layers), layers(tt.Layers))
	}
	// On a queue, the poller retries a throttled message: what a throttle
	// costs there is latency, not a lost request.
	if r.Setup.Scenario.Topology.Queue != nil && (a > 0 || t > 0) {
		say("Behind the queue a throttled message is retried: autotuner delayed %d requests and target-tracking %d, and the oldest waited at most %.0f s and %.0f s.",
			at.KPIs.Delayed, tt.KPIs.Delayed, at.KPIs.MaxQueueAgeS, tt.KPIs.MaxQueueAgeS)
	}
	// Throttling more to protect the downstream is the back-pressure
	// guard's job; say so when that is the trade that happened.
	if d := r.Digest(PolicyAutotuner); d != nil && a > t && at.KPIs.OverloadS < tt.KPIs.OverloadS && d.GuardCounts[policy.GuardBackPressure] > 0 {
		say("autotuner traded throttles for downstream health: back-pressure held or cut its limit in %d decisions, and the downstream was overloaded %d s against target-tracking's %d s.",
			d.GuardCounts[policy.GuardBackPressure], at.KPIs.OverloadS, tt.KPIs.OverloadS)
	}

	// Reaction to the first event.
	if len(r.Onsets) > 0 {
		on := r.Onsets[0]
		react := func(name string) string {
			d := r.Digest(name)
			if d == nil {
				return ""
			}
			for _, c := range d.Changes {
				if c.At > on.At && c.Action == policy.Up {
					return fmt.Sprintf("%s first raised %s %s later (%s → %s, reason %s)", name, c.Target, suiteSince(c.At-on.At), suiteNum(c.From), suiteNum(c.To), strings.ReplaceAll(c.Reason, "_", " "))
				}
			}
			return name + " raised no limit after it"
		}
		say("After the %s at %s, %s; %s.", on.What, suiteClock(on.At), react(PolicyAutotuner), react("target-tracking"))
	}

	// Why target tracking lags, at the layer where it throttled most: its
	// step is consumed ÷ target, and a throttled request is never
	// consumed. Said only where it applies: target tracking throttled
	// more, and its largest step there fell well short of the rise the
	// scenario asked for.
	if d := r.Digest("target-tracking"); d != nil && t > a {
		layer, prefix, n := "API Gateway", "apigateway", tt.Layers.APIGateway
		if tt.Layers.Lambda > n {
			layer, prefix, n = "Lambda", "lambda", tt.Layers.Lambda
		}
		if tt.Layers.DynamoDB > n {
			layer, prefix, n = "DynamoDB", "dynamodb", tt.Layers.DynamoDB
		}
		var big *Change
		for i := range d.Changes {
			c := &d.Changes[i]
			if strings.HasPrefix(c.Kind, prefix) && c.Action == policy.Up && c.From > 0 && (big == nil || c.To/c.From > big.To/big.From) {
				big = c
			}
		}
		rise := 0.0
		for _, on := range r.Onsets {
			rise = max(rise, on.Factor)
		}
		switch {
		case big == nil:
			say("target-tracking throttled most at %s (%d) and never raised a limit there.", layer, n)
		case rise > 0 && big.To/big.From < rise/2:
			say("target-tracking throttled most at %s (%d); it sizes each step as consumed ÷ target, and a throttled request is never consumed, so its largest increase there was ×%.2f (%s, %s → %s at %s) against a rise of ×%g.",
				layer, n, big.To/big.From, big.Target, suiteNum(big.From), suiteNum(big.To), suiteClock(big.At), rise)
		default:
			say("target-tracking throttled most at %s (%d); its largest increase there was ×%.2f (%s, %s → %s at %s), and it waits for %d consecutive datapoints above target before each step.",
				layer, n, big.To/big.From, big.Target, suiteNum(big.From), suiteNum(big.To), suiteClock(big.At), policy.DefaultTargetTracking().OutAfter)
		}
	}

	// What the autotuner's guards did.
	if d := r.Digest(PolicyAutotuner); d != nil && len(d.GuardCounts) > 0 {
		type gc struct {
			g string
			n int
		}
		var gs []gc
		for g, n := range d.GuardCounts {
			if g != policy.GuardRounding && g != policy.GuardBounds {
				gs = append(gs, gc{g, n})
			}
		}
		sort.Slice(gs, func(i, j int) bool { return gs[i].n > gs[j].n || gs[i].n == gs[j].n && gs[i].g < gs[j].g })
		if len(gs) > 3 {
			gs = gs[:3]
		}
		var parts []string
		for _, g := range gs {
			parts = append(parts, fmt.Sprintf("%s %d×", strings.ReplaceAll(g.g, "_", " "), g.n))
		}
		if len(parts) > 0 {
			say("Of autotuner's %d decisions, the guards that changed them most were %s.", d.Decisions, strings.Join(parts, ", "))
		}
		if n := len(d.BackPressureCuts); n > 0 {
			c := d.BackPressureCuts[0]
			say("Back-pressure cut a limit %s, first %s at %s (%s → %s).", plural(n, "time"), c.Target, suiteClock(c.At), suiteNum(c.From), suiteNum(c.To))
		}
	}

	// Cost and overload.
	cheap := ranked[0]
	for _, res := range ranked {
		if res.KPIs.CostUSD < cheap.KPIs.CostUSD {
			cheap = res
		}
	}
	say("Capacity cost: autotuner $%.2f, %.2f× target-tracking's $%.2f; the cheapest baseline was %s at $%.2f.",
		at.KPIs.CostUSD, suiteRatio(at.KPIs.CostUSD, tt.KPIs.CostUSD), tt.KPIs.CostUSD, cheap.Policy, cheap.KPIs.CostUSD)
	over := ranked[0]
	anyOver := false
	for _, res := range ranked {
		if res.KPIs.OverloadS > 0 {
			anyOver = true
		}
		if res.Policy != PolicyAutotuner && (over.Policy == PolicyAutotuner || res.KPIs.OverloadS < over.KPIs.OverloadS) {
			over = res
		}
	}
	if anyOver {
		say("Downstream overload: autotuner %d s, target-tracking %d s, least among the baselines %s with %d s.",
			at.KPIs.OverloadS, tt.KPIs.OverloadS, over.Policy, over.KPIs.OverloadS)
	}
	say("autotuner made %s with %s; target-tracking %d with %d.", plural(at.KPIs.Actuations, "change"), plural(at.KPIs.Reversals, "reversal"), tt.KPIs.Actuations, tt.KPIs.Reversals)

	var missed []string
	for _, g := range r.Goals {
		if !g.Pass {
			missed = append(missed, fmt.Sprintf("%s (%s)", g.Name, g.Detail))
		}
	}
	if len(missed) == 0 {
		say("All %d goals are met.", len(r.Goals))
	} else {
		say("Missed %d of %d goals: %s.", len(missed), len(r.Goals), strings.Join(missed, "; "))
	}
	return out
}

func suitePct(a, b int64) string {
	if b == 0 {
		return "0%"
	}
	return fmt.Sprintf("%.2f%%", 100*float64(a)/float64(b))
}

func suiteSince(s int64) string { return (time.Duration(s) * time.Second).String() }

func suiteNum(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
