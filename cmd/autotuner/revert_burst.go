package main

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/policy"
)

// burstRestorer sets a rate and its burst in one call (the API Gateway
// actuators): autotuner moved both, so revert restores both.
type burstRestorer interface {
	RestoreBurst(ctx context.Context, t *config.Target, rate float64, burst int64, now time.Time) error
}

// burstPlan is what revert does with a target's burst.
type burstPlan struct {
	set       bool // restore the burst with the rate
	to        int64
	restorer  burstRestorer
	note      string // said after the rate
	unchanged bool   // the burst in force is the original
}

// none says the burst needs no call: it is not tied to the rate, or is
// already at its original.
func (b burstPlan) none() bool { return !b.set || b.unchanged }

// burstToRestore decides whether the burst in force must go back to the
// one recorded before autotuner first touched the target.
func (r *reverter) burstToRestore(t *config.Target, a policy.Actuation, cur controller.State, act controller.Actuator) burstPlan {
	if !cur.HaveBurst {
		return burstPlan{} // the burst does not follow this target's rate
	}
	if !a.HaveOriginalBurst {
		return burstPlan{note: fmt.Sprintf("; its burst (%v now) was not recorded before autotuner changed it: check it by hand", cur.Burst)}
	}
	orig := int64(math.Round(a.OriginalBurst))
	rs, ok := act.(burstRestorer)
	switch {
	case !ok:
		return burstPlan{note: fmt.Sprintf("; its burst cannot be restored by this actuator: set it back to %d by hand", orig)}
	case cur.Burst == a.OriginalBurst:
		// Still sent with the rate: a plain rate change would move the
		// burst by the ratio.
		return burstPlan{set: true, to: orig, restorer: rs, unchanged: true, note: fmt.Sprintf(", burst kept at %d", orig)}
	}
	return burstPlan{set: true, to: orig, restorer: rs, note: fmt.Sprintf(", burst %v → %d", cur.Burst, orig)}
}
