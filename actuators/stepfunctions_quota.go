package actuators

import (
	"fmt"
	"math"
)

// Step Functions' account quotas that bound a Map's MaxConcurrency, per
// account and Region
// (https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html,
// "Quotas related to state throttling" and "Quotas related to accounts";
// see docs/aws.md):
//
//   - state transitions of Standard workflows: a token bucket that refills
//     at 1,500 per second in us-east-1, us-west-2 and eu-west-1 and 500
//     elsewhere. Every state an iteration of an inline Map (or a Standard
//     child of a Distributed Map) enters spends one.
//   - open Map Runs: 1,000, a hard limit. Every running Distributed Map
//     holds one, so a Distributed Map inside the item processor opens one
//     per running iteration.
const (
	StateTransitionRefillLarge = 1500
	StateTransitionRefillOther = 500
	OpenMapRunLimit            = 1000
)

// transitionRegionsLarge have the larger state-transition bucket.
var transitionRegionsLarge = map[string]bool{"us-east-1": true, "us-west-2": true, "eu-west-1": true}

// StateTransitionRefill is the account's state-transition refill rate per
// second in region.
func StateTransitionRefill(region string) float64 {
	if transitionRegionsLarge[region] {
		return StateTransitionRefillLarge
	}
	return StateTransitionRefillOther
}

// MapQuota is what the account's quotas need to know about one Map target.
type MapQuota struct {
	ModeMax float64 // the Map mode's own maximum (40 inline, 10,000 distributed)
	Region  string
	// Executions is the most executions running this Map at once (the
	// target's executions, default 1): the quotas are the account's, so
	// they are shared by every one of them.
	Executions int
	// TransitionsPerSecond is the state transitions one running iteration
	// spends per second (its states ÷ its duration), from the target's
	// transitions_per_second; 0 when not given, and the rule is not applied.
	TransitionsPerSecond float64
	// NestedDistributed: the Map's item processor holds a Distributed Map,
	// so each running iteration holds an open Map Run.
	NestedDistributed bool
	// Distributed: the Map itself is a Distributed Map, so each running
	// execution holds one open Map Run of its own besides its children's.
	Distributed bool
}

// MapCeiling is the highest MaxConcurrency the account's quotas allow for
// the Map, and the rule that set it, for the audit record ("" when the
// mode's maximum binds). It is never below 1: the floor of the knob.
func MapCeiling(q MapQuota) (ceiling float64, rule string) {
	ceiling = q.ModeMax
	n := float64(max(q.Executions, 1))
	if q.TransitionsPerSecond > 0 {
		refill := StateTransitionRefill(q.Region)
		if c := math.Floor(refill / (n * q.TransitionsPerSecond)); c < ceiling {
			ceiling = c
			rule = fmt.Sprintf("state transitions: %v/s in %s ÷ (%v executions × %v/s per iteration)", refill, q.Region, n, q.TransitionsPerSecond)
		}
	}
	if q.NestedDistributed {
		own := 0.0
		if q.Distributed {
			own = 1
		}
		if c := math.Floor(OpenMapRunLimit/n) - own; c < ceiling {
			ceiling = c
			rule = fmt.Sprintf("open Map Runs: %d ÷ %v executions, each iteration running a Distributed Map", OpenMapRunLimit, n)
			if q.Distributed {
				rule += ", less each execution's own Map Run"
			}
		}
	}
	if ceiling < 1 {
		ceiling = 1
	}
	return ceiling, rule
}
