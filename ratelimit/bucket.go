package ratelimit

import (
	"math"
	"time"
)

// State is one shard of a bucket as it is stored. Times are Unix
// milliseconds, so that they round-trip through DynamoDB exactly.
type State struct {
	Tokens float64 // tokens available at Last; never negative
	Last   int64   // Unix ms of the last refill: the latest clock any caller wrote
	Rate   float64 // tokens per second of this shard
	Burst  float64 // the most tokens the shard holds
	// Shards is the bucket's shard count, as the last resharding wrote it
	// on every shard, so a caller learns N from any reply.
	Shards int
	// Version counts the writes to the item; every write is conditional
	// on the version it read, so no update is ever lost.
	Version int64
	// Fast is the fast loop's rate for this shard (see Adaptive and
	// Limiter.Report), in force since FastAt (Unix ms); FastAt 0 means no
	// loop runs. The shard refills at the smaller of Rate and Fast, so the
	// loop only ever lowers what Rate allows.
	Fast   float64
	FastAt int64
}

// FastExpiry is how long the fast loop's rate binds after its last step.
// Callers report every second; a loop no report has stepped for a minute
// holds no evidence any more (its callers stopped, or stopped reporting),
// and the configured rate, which autotuner's own minute-level loop sets,
// governs again. The shard's Last, the latest clock any caller wrote,
// measures the age, so no extra clock is needed.
const FastExpiry = time.Minute

// fastLive reports whether the fast loop's rate still binds.
func (s State) fastLive() bool {
	return s.FastAt > 0 && s.Last-s.FastAt <= FastExpiry.Milliseconds()
}

// Effective is the rate the shard refills at: Rate, or the fast loop's
// rate when it runs below it and has stepped within FastExpiry.
func (s State) Effective() float64 {
	if s.fastLive() && s.Fast < s.Rate {
		return math.Max(0, s.Fast)
	}
	return s.Rate
}

// reshard sets the shard count to n; a fast-loop rate, kept per shard,
// is rescaled so that the bucket's whole fast rate is unchanged.
func (s *State) reshard(n int) {
	if s.FastAt > 0 && s.Shards > 0 && n > 0 && s.Shards != n {
		s.Fast = s.Fast * float64(s.Shards) / float64(n)
	}
	s.Shards = n
}

// Quantum is the refill step: a shard refills only when the clock has
// entered a later 10 ms step than its Last. Within one step every Acquire
// is a plain decrement that commutes with the others, so concurrent
// callers of a hot shard do not race each other; only the first caller of
// a step writes the refill. It is the "one refill's rounding" of the
// bound: tokens appear at most 10 ms after the exact rate would give them.
const Quantum = 10 * time.Millisecond

const quantumMs = int64(Quantum / time.Millisecond)

// step is the start of the quantum ms falls in.
func step(ms int64) int64 {
	r := ms % quantumMs
	if r < 0 {
		r += quantumMs
	}
	return ms - r
}

// Refill returns the state at now: the tokens accrued since Last up to
// the start of now's quantum, capped at Burst. A clock behind Last refills nothing and never moves Last back,
// so a slow caller cannot make the interval count twice and a fast one
// can advance the refill at most once by its own lead (see MaxSkew).
func (s State) Refill(now time.Time) State {
	ms := step(now.UnixMilli())
	if ms <= s.Last {
		s.Tokens = math.Min(s.Tokens, s.Burst) // a lowered burst holds at the next refill
		return s
	}
	add := s.Effective() * float64(ms-s.Last) / 1000
	s.Tokens = math.Min(s.Burst, s.Tokens+add)
	if s.Tokens < 0 { // a negative burst is refused on write; be safe anyway
		s.Tokens = 0
	}
	s.Last = ms
	return s
}

// Take is the pure core of Acquire: at now it takes at least lo and at most
// hi tokens from the refilled state. ok says whether lo was available;
// then next is the state to write and granted is in [lo, hi]. Otherwise
// wait is how long until lo tokens exist at the current rate (forever,
// as a negative Duration, when lo exceeds the burst or the rate is 0).
func Take(s State, now time.Time, lo, hi float64) (next State, granted float64, wait time.Duration, ok bool) {
	r := s.Refill(now)
	if r.Tokens >= lo {
		granted = math.Min(hi, r.Tokens)
		r.Tokens -= granted
		if r.Tokens < 0 {
			r.Tokens = 0
		}
		return r, granted, 0, true
	}
	return r, 0, WaitFor(r, now, lo), false
}

// Never is the wait reported when the tokens can never exist: more than
// the burst was asked, or the rate is 0.
const Never = time.Duration(-1)

// maxWaitMs is a year: a longer wait is reported as Never.
const maxWaitMs = 365 * 24 * 3600 * 1000

// WaitFor is how long from now until n tokens exist in a state refilled
// at now.
func WaitFor(r State, now time.Time, n float64) time.Duration {
	if n > r.Burst || r.Effective() <= 0 {
		return Never
	}
	need := n - r.Tokens
	if need <= 0 {
		return 0
	}
	// Round up to the millisecond the clock is kept in, then to the next
	// refill step, so that a caller who waits exactly this long finds the
	// tokens.
	ms := math.Ceil(need / r.Effective() * 1000)
	if ms > maxWaitMs {
		return Never
	}
	at := step(r.Last + int64(ms) + quantumMs - 1)
	return time.Duration(max(at-now.UnixMilli(), 1)) * time.Millisecond
}

// Accrued is what a refill at now would add before the burst cap: the
// start of now's quantum, and rate × the time since Last (0 when the clock
// is not past Last's quantum).
func (s State) Accrued(now time.Time) (q int64, add float64) {
	q = step(now.UnixMilli())
	if q <= s.Last {
		return s.Last, 0
	}
	return q, s.Effective() * float64(q-s.Last) / 1000
}

// MaxRefillLag is how long a shard may go without a refill while its
// tokens cover the requests: within it an Acquire only decrements, so
// callers of a hot shard, whose calls each land in a new 10 ms step, do
// not all race to write the refill. A refill that comes late adds the whole
// interval's accrual then (capped at the burst), so no token is minted or
// lost; what a late refill does allow is spending, at once, tokens that a
// refill would have clamped at the burst up to MaxRefillLag earlier. Over
// any window the shard grants at most burst + rate × (window + MaxRefillLag).
const MaxRefillLag = 100 * time.Millisecond

// Decrements reports whether an Acquire of n from view at now is a plain
// decrement, the write that races no other caller: when now is in the
// step of the last refill, or the tokens left cover n and the last refill
// is at most MaxRefillLag old. Otherwise it writes the refill.
func Decrements(view State, now time.Time, n float64) bool {
	ms := now.UnixMilli()
	if step(ms) <= view.Last {
		return true
	}
	return view.Tokens >= n && ms-view.Last <= int64(MaxRefillLag/time.Millisecond)
}
