package sim

import "math"

// GoalSummary is one goal of one scenario over every seed and variant the
// suite ran: how often it was met, and the worst case.
type GoalSummary struct {
	Scenario     string
	Name         string
	Runs, Passed int
	Worst        Goal // the worst case: a miss before a pass, then the furthest over its threshold
	WorstSeed    uint64
	WorstVariant string
}

// Met reports whether the goal held on every run.
func (g GoalSummary) Met() bool { return g.Passed == g.Runs }

// SummarizeGoals folds the runs of each scenario into one summary per
// goal, scenarios in the order they first appear and goals in GoalNames
// order. A goal a run did not check (one that does not apply) is not
// counted in Runs.
func SummarizeGoals(runs []*ScenarioRun) []GoalSummary {
	type key struct{ sc, goal string }
	idx := map[key]int{}
	var order []string
	seen := map[string]bool{}
	var out []GoalSummary
	for _, r := range runs {
		name := r.Setup.Scenario.Name
		if !seen[name] {
			seen[name] = true
			order = append(order, name)
		}
		for _, g := range r.Goals {
			k := key{name, g.Name}
			i, ok := idx[k]
			if !ok {
				i = len(out)
				idx[k] = i
				out = append(out, GoalSummary{Scenario: name, Name: g.Name, Worst: g, WorstSeed: r.Seed, WorstVariant: r.Variant})
			} else if worse(g, out[i].Worst) {
				out[i].Worst, out[i].WorstSeed, out[i].WorstVariant = g, r.Seed, r.Variant
			}
			out[i].Runs++
			if g.Pass {
				out[i].Passed++
			}
		}
	}
	// Order: scenario, then GoalNames.
	sorted := make([]GoalSummary, 0, len(out))
	for _, sc := range order {
		for _, gn := range GoalNames {
			if i, ok := idx[key{sc, gn}]; ok {
				sorted = append(sorted, out[i])
			}
		}
	}
	return sorted
}

// worse reports whether a is a worse case of a goal than b: a miss is
// worse than a pass; between two of a kind, the one further over (or less
// far under) its threshold.
func worse(a, b Goal) bool {
	if a.Pass != b.Pass {
		return !a.Pass
	}
	return excess(a) > excess(b)
}

// excess is how far a goal's measured value lies over its threshold.
func excess(g Goal) float64 {
	switch {
	case math.IsInf(g.Measured, 1) && math.IsInf(g.Threshold, 1):
		return 0
	case math.IsInf(g.Measured, 1):
		return math.Inf(1)
	}
	return g.Measured - g.Threshold
}
