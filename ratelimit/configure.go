package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"math"
)

// Limits are a bucket's whole settings; each of its Shards holds Rate/Shards
// and Burst/Shards.
type Limits struct {
	Rate   float64 // tokens per second, the whole bucket
	Burst  float64 // the most tokens the whole bucket holds
	Shards int
}

// Validate says what is wrong with l, if anything.
func (l Limits) Validate() error {
	switch {
	case !(l.Rate >= 0) || math.IsInf(l.Rate, 0) || l.Rate > 1e9:
		return fmt.Errorf("rate must be in [0, 1e9] tokens/s, got %v", l.Rate)
	case !(l.Burst >= 0) || math.IsInf(l.Burst, 0) || l.Burst > 1e12:
		return fmt.Errorf("burst must be in [0, 1e12] tokens, got %v", l.Burst)
	case l.Shards < 1 || l.Shards > MaxShards:
		return fmt.Errorf("shards must be in [1, %d], got %d", MaxShards, l.Shards)
	}
	return nil
}

// Describe reads a bucket's limits from its shard 0 and the states of all
// its shards.
func (l *Limiter) Describe(ctx context.Context, bucket string) (Limits, []State, error) {
	s0, found, err := l.st.get(ctx, ShardKey(bucket, 0))
	if err != nil {
		return Limits{}, nil, err
	}
	if !found {
		return Limits{}, nil, fmt.Errorf("%w: %q", ErrNoBucket, bucket)
	}
	states := []State{s0}
	lim := Limits{Rate: s0.Rate, Burst: s0.Burst, Shards: s0.Shards}
	for i := 1; i < s0.Shards; i++ {
		s, found, err := l.st.get(ctx, ShardKey(bucket, i))
		if err != nil {
			return Limits{}, nil, err
		}
		if !found {
			return Limits{}, nil, fmt.Errorf("ratelimit: bucket %q: shard %d of %d is missing; configure the bucket again to finish a resharding", bucket, i, s0.Shards)
		}
		states = append(states, s)
		lim.Rate += s.Rate
		lim.Burst += s.Burst
	}
	return lim, states, nil
}

// Configure creates a bucket or changes its limits and shard count. The
// change takes effect at each shard's next refill: time before now is
// refilled at the old rate, time after at the new.
//
// It never lets the shards' rates sum above max(old, new) rate, even half
// done: phase one lowers (rates and burst to min(old, new), tokens down to
// their new share, retired shards to 0), phase two raises. Tokens moved
// between shards are taken before they are given, so a crash in between
// loses tokens, never mints them; running Configure again finishes the
// job. Tokens above the new burst are dropped, as a refill would.
func (l *Limiter) Configure(ctx context.Context, bucket string, to Limits) error {
	if err := to.Validate(); err != nil {
		return fmt.Errorf("ratelimit: configure %q: %w", bucket, err)
	}
	old, err := l.shardStates(ctx, bucket, to.Shards)
	if err != nil {
		return err
	}
	share := State{Rate: to.Rate / float64(to.Shards), Burst: to.Burst / float64(to.Shards), Shards: to.Shards}
	var pool, total float64
	for _, s := range old {
		total += s.Tokens
	}
	target := math.Min(share.Burst, total/float64(to.Shards))
	if len(old) == 0 { // a new bucket starts full
		target = share.Burst
		pool = share.Burst * float64(to.Shards)
	}
	for i := range old { // phase one: lower
		got, err := l.lower(ctx, bucket, i, share, target)
		if err != nil {
			return err
		}
		pool += got
	}
	for i := 0; i < to.Shards; i++ { // phase two: raise
		var err error
		if pool, err = l.raise(ctx, bucket, i, share, target, pool); err != nil {
			return err
		}
	}
	return nil
}

// shardStates reads every existing shard, refilled to now, up to
// max(old, new) shards.
func (l *Limiter) shardStates(ctx context.Context, bucket string, want int) ([]State, error) {
	now := l.o.Clock()
	s0, found, err := l.st.get(ctx, ShardKey(bucket, 0))
	if err != nil || !found {
		return nil, err
	}
	out := []State{s0.Refill(now)}
	for i := 1; i < max(s0.Shards, want); i++ {
		s, found, err := l.st.get(ctx, ShardKey(bucket, i))
		if err != nil {
			return nil, err
		}
		if !found {
			break
		}
		out = append(out, s.Refill(now))
	}
	return out, nil
}

// lower takes shard i down to min(old, new) rate and burst and to at most
// target tokens (0 for a retired shard), and returns the tokens taken.
func (l *Limiter) lower(ctx context.Context, bucket string, i int, share State, target float64) (float64, error) {
	var taken float64
	err := l.update(ctx, bucket, i, func(s State) State {
		keep := target
		if i >= share.Shards {
			keep = 0
			s.Rate, s.Burst = 0, 0
		} else {
			s.Rate, s.Burst = math.Min(s.Rate, share.Rate), math.Min(s.Burst, share.Burst)
		}
		keep = math.Min(keep, s.Burst)
		taken = math.Max(0, s.Tokens-keep)
		s.Tokens -= taken
		s.reshard(share.Shards)
		return s
	})
	return taken, err
}

// raise sets shard i to the new rate and burst, and gives it up to target
// tokens from the pool; it returns what is left in the pool.
func (l *Limiter) raise(ctx context.Context, bucket string, i int, share State, target, pool float64) (float64, error) {
	left := pool
	err := l.update(ctx, bucket, i, func(s State) State {
		s.Rate, s.Burst = share.Rate, share.Burst
		s.reshard(share.Shards)
		give := math.Max(0, math.Min(pool, math.Min(target, s.Burst)-s.Tokens))
		s.Tokens += give
		left = pool - give
		return s
	})
	return left, err
}

// update applies f to shard i at now in a conditional write, retrying
// lost races; a missing shard is created from a zero state.
func (l *Limiter) update(ctx context.Context, bucket string, i int, f func(State) State) error {
	k := ShardKey(bucket, i)
	for attempt := 0; attempt < 50; attempt++ {
		now := l.o.Clock()
		s, found, err := l.st.get(ctx, k)
		if err != nil {
			return fmt.Errorf("ratelimit: configure %q shard %d: %w", bucket, i, err)
		}
		if !found {
			s = State{Last: now.UnixMilli()}
		}
		next := f(s.Refill(now))
		next.Version = s.Version + 1
		err = l.st.put(ctx, k, next)
		var conflict *errConflict
		if errors.As(err, &conflict) {
			continue
		}
		if err != nil {
			return fmt.Errorf("ratelimit: configure %q shard %d: %w", bucket, i, err)
		}
		l.forget(k)
		return nil
	}
	return fmt.Errorf("ratelimit: configure %q shard %d: %w", bucket, i, ErrContention)
}
