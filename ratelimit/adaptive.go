package ratelimit

import (
	"math"
	"time"
)

// The fast loop. autotuner sets a bucket's rate from CloudWatch minutes,
// which show a partner's fall in capacity two minutes late; every call in
// between is a 429. The callers, though, see each answer as it comes: its
// latency and its 429. Adaptive turns that into a rate, second by second,
// below the ceiling autotuner sets (the bucket's configured rate): a
// gradient on latency (the partner queues before it refuses), a
// multiplicative cut on any 429, and an additive climb back while the
// partner is fast. autotuner bounds it; it never raises the rate above
// the ceiling, so every guarantee of the bucket still holds.
//
// It is the congestion control of a sender that shares a link it cannot
// see: Vegas and Netflix's concurrency-limits Gradient read the rising
// latency before the loss, and AIMD's cut on a loss keeps a group of
// callers fair to each other.

// AdaptiveConfig sets the fast loop. The zero value is not usable: see
// DefaultAdaptive.
type AdaptiveConfig struct {
	// Slow is the latency above which the partner is congested: the rate
	// is multiplied by √(Slow/latency), at least MaxCut. The square root
	// because a queue's latency grows faster than its load near capacity:
	// the latency ratio overstates how far over the rate is. Set Slow well
	// above the partner's latency at ease and below the latency at which
	// it refuses. 0 reads only 429s.
	Slow time.Duration
	// Cut is the factor a second with a 429 multiplies the rate by.
	Cut float64
	// MaxCut is the smallest factor one second's latency may multiply the
	// rate by: one slow second never takes more than this.
	MaxCut float64
	// Climb is the additive increase per second while the partner answers
	// fast and without 429, as a fraction of the ceiling.
	Climb float64
	// Floor is the least rate, as a fraction of the ceiling: the loop
	// keeps probing the partner even after a long refusal.
	Floor float64
}

// DefaultAdaptive cuts a 429 second to 70% and a slow one by at most
// half, and climbs back 0.2% of the ceiling a second. The climb is small
// because it is also the loop's overshoot: a partner near its capacity
// sees at most one climb's worth more than it took the second before.
var DefaultAdaptive = AdaptiveConfig{Slow: time.Second, Cut: 0.7, MaxCut: 0.5, Climb: 0.002, Floor: 0.1}

// Feedback is what the callers saw in one interval: the calls per second
// the partner answered, how many of them were 429, and the slowest answer
// (or a high percentile of them).
type Feedback struct {
	Calls, Throttled float64
	Latency          time.Duration
}

// Adaptive is the fast loop's state: the rate it lets through now. The
// zero value has not started, and starts at the ceiling.
type Adaptive struct {
	Rate    float64
	Started bool
	// Reason says what the last step did and why, for the audit and the
	// metrics: "429", "slow", "climb", "ceiling" or "idle".
	Reason string
}

// Observe is one step of the fast loop after an interval of feedback,
// under the ceiling autotuner set. It is pure. The result is always in
// [Floor × ceiling, ceiling], and a congested interval (a 429, or an
// answer slower than Slow) never raises the rate.
func (a Adaptive) Observe(fb Feedback, ceiling float64, cfg AdaptiveConfig) Adaptive {
	if !(ceiling > 0) || math.IsInf(ceiling, 0) {
		return Adaptive{Rate: 0, Started: true, Reason: "ceiling"}
	}
	lo := math.Min(ceiling, math.Max(0, cfg.Floor)*ceiling)
	r := a.Rate
	if !a.Started || r > ceiling || math.IsNaN(r) {
		r = ceiling // a new loop, or autotuner lowered the ceiling
	}
	next := Adaptive{Rate: r, Started: true, Reason: "idle"}
	switch {
	case fb.Throttled > 0:
		next.Rate, next.Reason = r*clampFactor(cfg.Cut), "429"
	case cfg.Slow > 0 && fb.Latency > cfg.Slow:
		f := math.Sqrt(float64(cfg.Slow) / float64(fb.Latency))
		next.Rate, next.Reason = r*math.Max(f, clampFactor(cfg.MaxCut)), "slow"
	case fb.Calls > 0:
		// Climb only while the callers use what they are given: a rate
		// nobody reaches proves nothing about the partner.
		if fb.Calls >= 0.5*r {
			next.Rate, next.Reason = r+math.Max(0, cfg.Climb)*ceiling, "climb"
		}
	}
	next.Rate = math.Min(ceiling, math.Max(lo, next.Rate))
	if next.Rate == ceiling && next.Reason == "climb" {
		next.Reason = "ceiling"
	}
	return next
}

// clampFactor keeps a cut factor in (0, 1]: a misconfigured factor never
// raises the rate nor stops the callers.
func clampFactor(f float64) float64 {
	if !(f > 0) || f > 1 {
		return 1
	}
	return f
}
