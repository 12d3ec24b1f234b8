package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// FastStep is the least time between two steps of a shard's fast loop:
// every caller reports what it saw, and the first report of each second
// steps the loop; the others find it stepped and change nothing, so a
// hundred callers seeing one slow second cut the rate once, not a
// hundred times.
const FastStep = time.Second

// Report runs one step of the bucket's fast loop (Adaptive) on what a
// caller saw of the protected service since its last report, on every
// shard whose loop has not stepped within FastStep. Calls in fb are the
// bucket's calls per second, and each shard takes its share of them. The
// loop's rate stays at or below the rate autotuner configured (the
// shard's Rate), so the bucket's bound holds whatever callers report.
// stepped counts the shards this report moved.
func (l *Limiter) Report(ctx context.Context, bucket string, fb Feedback, cfg AdaptiveConfig) (stepped int, err error) {
	n := l.shardCount(bucket)
	share := fb
	share.Calls = fb.Calls / float64(n)
	for i := 0; i < n; i++ {
		ok, err := l.stepShard(ctx, ShardKey(bucket, i), share, cfg)
		if errors.Is(err, ErrNoBucket) && i > 0 {
			break // fewer shards than cached: resharded
		}
		if err != nil {
			return stepped, fmt.Errorf("ratelimit: report %q shard %d: %w", bucket, i, err)
		}
		if ok {
			stepped++
		}
	}
	return stepped, nil
}

// stepShard steps one shard's loop in one conditional write; a lost race
// means another caller wrote the shard since the read, which is retried,
// unless that caller stepped the loop.
func (l *Limiter) stepShard(ctx context.Context, k string, fb Feedback, cfg AdaptiveConfig) (bool, error) {
	for attempt := 0; attempt < l.o.MaxRetries+1; attempt++ {
		now := l.o.Clock()
		s, found, err := l.st.get(ctx, k)
		if err != nil {
			return false, err
		}
		if !found {
			return false, ErrNoBucket
		}
		if s.FastAt > 0 && now.UnixMilli()-s.FastAt < FastStep.Milliseconds() {
			return false, nil // stepped this second by another caller
		}
		// A loop past FastExpiry starts again from the configured rate.
		a := Adaptive{Rate: s.Fast, Started: s.Refill(now).fastLive()}.Observe(fb, s.Rate, cfg)
		next := s.Refill(now) // what accrued so far accrued at the old rate
		next.Fast, next.FastAt = a.Rate, max(now.UnixMilli(), 1)
		next.Version = s.Version + 1
		err = l.st.put(ctx, k, next)
		var conflict *errConflict
		if errors.As(err, &conflict) {
			continue
		}
		if err != nil {
			return false, err
		}
		l.forget(k)
		return true, nil
	}
	return false, ErrContention
}
