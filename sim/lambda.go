package sim

import "math"

// Lambda as documented:
//
//   - "For each function, your concurrency scaling rate is 1,000 execution
//     environment instances every 10 seconds", refilled continuously, never
//     accumulated beyond 1,000; requests beyond it are throttled
//     (https://docs.aws.amazon.com/lambda/latest/dg/scaling-behavior.html).
//   - A new execution environment initializes before its first
//     invocation: a cold start. AWS gives no single figure ("from under
//     100 ms to over 1 second",
//     https://aws.amazon.com/blogs/compute/operating-lambda-performance-optimization-part-1/),
//     so it is a knob, 250 ms by default. Init is not part of Duration.
//   - An idle environment is reclaimed after a while AWS does not
//     document: a knob, 10 minutes by default.
//   - Reserved concurrency guarantees and caps a function; a function
//     without a reservation shares the account's unreserved pool with
//     the other functions
//     (https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html).

// nClasses is how many equal-probability duration classes approximate a
// function's duration distribution.
const nClasses = 8

// ringSize covers the longest invocation: Lambda's 15-minute timeout plus
// the downstream's worst latency, in seconds (a power of two).
const ringSize = 1024

// lambdaFn tracks concurrency by Little's law: every invocation occupies
// one unit of concurrency for its duration. Durations come in nClasses
// classes; an invocation of duration d started in second t occupies 1 in
// the seconds t..t+⌊d⌋−1 and the fraction d−⌊d⌋ in second t+⌊d⌋. Ends are
// scheduled in a ring of deltas, so a second costs O(nClasses).
type lambdaFn struct {
	reserved   float64
	unreserved bool    // no reservation: reserved is the account's unreserved pool
	esmMax     float64 // 0: no event source mapping maximum
	pollers    float64 // the SQS poller's current concurrency
	classes    [nClasses]float64
	mean       float64 // mean duration, seconds
	level      float64 // occupancy in the current second from earlier starts
	ring       [ringSize]float64

	// The classes' whole seconds and fractions with the extra latency
	// last seen, recomputed only when it changes.
	extra    float64
	prepared bool
	whole    [nClasses]int64
	frac     [nClasses]float64
	first    float64 // concurrency one invocation occupies in its first second

	scaling scaling
}

// scaling is the function's execution environments and how fast Lambda
// adds more.
type scaling struct {
	envs      float64 // environments that exist, busy or idle
	tokens    float64 // environments Lambda may still add now
	per10s    float64 // the scaling rate: environments per 10 s
	coldStart float64 // seconds a new environment takes before its first invocation
	idle      float64 // seconds after which an idle environment is reclaimed
	cold      float64 // environments created this second
}

// limit is the concurrency the function may reach this second: its
// reservation (or share of the account), and no more environments than
// exist plus what the scaling rate still allows.
func (f *lambdaFn) limit() float64 {
	sc := &f.scaling
	if sc.per10s <= 0 {
		return f.reserved
	}
	return min(f.reserved, sc.envs+sc.tokens)
}

// grow accounts for second t's concurrency: the environments it needed
// beyond those that existed are new, spend the scaling rate, and take a
// cold start before their first invocation; idle ones are reclaimed. It
// returns the second's concurrency with the cold starts.
func (f *lambdaFn) grow(t int64, conc float64) float64 {
	sc := &f.scaling
	sc.cold = max(0, conc-sc.envs)
	if sc.per10s > 0 {
		sc.tokens = min(sc.per10s, sc.tokens-sc.cold+sc.per10s/10)
	}
	sc.envs = max(sc.envs, conc)
	if sc.cold > 0 && sc.coldStart > 0 {
		conc = f.occupy(t, sc.cold, sc.coldStart)
	}
	if sc.idle > 0 && sc.envs > conc {
		sc.envs -= (sc.envs - conc) / sc.idle
	}
	return conc
}

// occupy adds n units of concurrency for d seconds from second t and
// returns the second's concurrency.
func (f *lambdaFn) occupy(t int64, n, d float64) float64 {
	q := int64(d)
	r := d - float64(q)
	if q == 0 {
		f.level += n * r
		f.ring[(t+1)&(ringSize-1)] -= n * r
		return f.level
	}
	f.level += n
	f.ring[(t+q)&(ringSize-1)] -= n * (1 - r)
	f.ring[(t+q+1)&(ringSize-1)] -= n * r
	return f.level
}

// prepare splits the durations, plus extra latency, into whole seconds
// and fractions.
func (f *lambdaFn) prepare(extra float64) {
	if f.prepared && extra == f.extra {
		return
	}
	f.extra, f.prepared = extra, true
	s := 0.0
	for i, base := range f.classes {
		d := min(base+extra, ringSize-2)
		q := int64(d)
		f.whole[i], f.frac[i] = q, d-float64(q)
		s += min(d, 1)
	}
	f.first = s / nClasses
}

// e0 is the concurrency one invocation started now occupies in its first
// second, given the extra latency added to every duration.
func (f *lambdaFn) e0(extra float64) float64 {
	f.prepare(extra)
	return f.first
}

// carry moves the clock to second t and returns the concurrency that
// invocations started earlier still occupy.
func (f *lambdaFn) carry(t int64) float64 {
	i := t & (ringSize - 1)
	f.level += f.ring[i]
	f.ring[i] = 0
	if f.level < 1e-9 {
		f.level = 0 // rounding dust
	}
	return f.level
}

// room is how many invocations may start in this second under cap.
func (f *lambdaFn) room(limit, carried, e0 float64) float64 {
	if e0 <= 0 {
		return math.Inf(1)
	}
	return max(0, math.Floor((limit-carried)/e0+1e-9))
}

// start begins n invocations in second t and returns the concurrency of
// this second.
func (f *lambdaFn) start(t int64, n, extra float64) float64 {
	if n <= 0 {
		return f.level
	}
	f.prepare(extra)
	w := n / nClasses
	for i := range f.whole {
		q, r := f.whole[i], f.frac[i]
		if q == 0 {
			f.level += w * r
			f.ring[(t+1)&(ringSize-1)] -= w * r
			continue
		}
		f.level += w
		f.ring[(t+q)&(ringSize-1)] -= w * (1 - r)
		f.ring[(t+q+1)&(ringSize-1)] -= w * r
	}
	return f.level
}
