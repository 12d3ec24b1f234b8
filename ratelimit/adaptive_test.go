package ratelimit

import (
	"math"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// A script in seconds: the partner slows down, refuses, recovers.
func TestAdaptiveScript(t *testing.T) {
	cfg := DefaultAdaptive
	ceil := 500.0
	steps := []struct {
		fb         Feedback
		want       float64
		wantReason string
	}{
		{Feedback{Calls: 480, Latency: 200 * time.Millisecond}, 500, "ceiling"},             // starts at the ceiling, stays there
		{Feedback{Calls: 500, Latency: 4 * time.Second}, 250, "slow"},                       // √(1/4) = 0.5: a slow second halves
		{Feedback{Calls: 250, Latency: 300 * time.Millisecond}, 251, "climb"},               // fast and used: +0.2% of the ceiling
		{Feedback{Calls: 251, Throttled: 3, Latency: 100 * time.Millisecond}, 175.7, "429"}, // any 429 cuts to 70%
		{Feedback{Calls: 20, Latency: 100 * time.Millisecond}, 175.7, "idle"},               // unused rate proves nothing
		{Feedback{}, 175.7, "idle"},
	}
	var a Adaptive
	for i, s := range steps {
		a = a.Observe(s.fb, ceil, cfg)
		if math.Abs(a.Rate-s.want) > 1e-9 || a.Reason != s.wantReason {
			t.Fatalf("second %d: rate %v (%s), want %v (%s)", i, a.Rate, a.Reason, s.want, s.wantReason)
		}
	}
	// autotuner lowers the ceiling: the loop follows at once.
	if a = a.Observe(Feedback{Calls: 170}, 100, cfg); a.Rate != 100 {
		t.Fatalf("under a lowered ceiling: %v", a.Rate)
	}
}

// Whatever the feedback and the ceilings, the rate stays within [floor,
// ceiling], and a congested second never raises it.
func TestAdaptiveBoundsProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cfg := AdaptiveConfig{
			Slow:   time.Duration(rapid.Int64Range(0, int64(5*time.Second)).Draw(t, "slow")),
			Cut:    rapid.Float64Range(-1, 2).Draw(t, "cut"),
			MaxCut: rapid.Float64Range(-1, 2).Draw(t, "maxcut"),
			Climb:  rapid.Float64Range(-0.1, 0.5).Draw(t, "climb"),
			Floor:  rapid.Float64Range(-0.5, 1.5).Draw(t, "floor"),
		}
		var a Adaptive
		for i := range rapid.IntRange(1, 50).Draw(t, "n") {
			ceil := rapid.Float64Range(0, 2000).Draw(t, "ceiling")
			fb := Feedback{
				Calls:     rapid.Float64Range(0, 3000).Draw(t, "calls"),
				Throttled: float64(rapid.IntRange(0, 3).Draw(t, "429")),
				Latency:   time.Duration(rapid.Int64Range(0, int64(10*time.Second)).Draw(t, "latency")),
			}
			prev := a
			a = a.Observe(fb, ceil, cfg)
			if a.Rate > ceil || a.Rate < 0 || math.IsNaN(a.Rate) {
				t.Fatalf("step %d: rate %v outside [0, %v]", i, a.Rate, ceil)
			}
			congested := fb.Throttled > 0 || cfg.Slow > 0 && fb.Latency > cfg.Slow
			floor := math.Min(ceil, math.Max(0, cfg.Floor)*ceil)
			if congested && prev.Started && prev.Rate <= ceil && prev.Rate >= floor && a.Rate > prev.Rate {
				t.Fatalf("step %d: congested (%+v) but the rate rose %v → %v", i, fb, prev.Rate, a.Rate)
			}
		}
	})
}

// The loop never lets a bucket grant more than its ceiling allows: the
// bucket's bound holds with the loop's rate, which is never above it.
func TestAdaptiveUnderBucketBound(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		ceil := rapid.Float64Range(1, 1000).Draw(t, "ceiling")
		start := time.Unix(1_700_000_000, 0)
		s := State{Tokens: ceil, Last: start.UnixMilli(), Rate: ceil, Burst: ceil, Shards: 1}
		var a Adaptive
		granted := 0.0
		n := rapid.IntRange(1, 120).Draw(t, "seconds")
		for i := range n {
			now := start.Add(time.Duration(i) * time.Second)
			var g float64
			s, g, _, _ = Take(s, now, 0, rapid.Float64Range(0, 2*ceil).Draw(t, "ask"))
			granted += g
			a = a.Observe(Feedback{Calls: g, Throttled: float64(rapid.IntRange(0, 1).Draw(t, "429")),
				Latency: time.Duration(rapid.Int64Range(0, int64(3*time.Second)).Draw(t, "lat"))}, ceil, DefaultAdaptive)
			s = s.Refill(now.Add(time.Second))
			s.Rate, s.Burst = a.Rate, a.Rate
			s.Tokens = math.Min(s.Tokens, s.Burst)
		}
		if bound := ceil + ceil*float64(n); granted > bound+1e-6 {
			t.Fatalf("granted %v over %d s, above the ceiling's bound %v", granted, n, bound)
		}
	})
}
