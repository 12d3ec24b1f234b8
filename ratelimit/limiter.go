package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"
)

// MaxShards bounds a bucket's shard count.
const MaxShards = 256

// ErrorMode says what Acquire does when DynamoDB cannot answer: the bucket
// item is throttled, the network is down, the table is missing.
type ErrorMode string

const (
	// FailClosed grants nothing and asks the caller to wait ErrorWait: the
	// protected service is never sent more than the limit. The default.
	FailClosed ErrorMode = "closed"
	// FailOpen grants the request, for services where an outage of the
	// limiter must not become an outage of the caller. The grant is
	// reported as Degraded, and the limit does not hold while it lasts.
	FailOpen ErrorMode = "open"
)

// Options tune a Limiter. The zero value is valid.
type Options struct {
	// Clock is the caller's clock; time.Now when nil. Clocks of different
	// callers may disagree by up to MaxSkew (see docs/ratelimit.md).
	Clock func() time.Time
	// MaxRetries bounds the lost races one Acquire retries on one shard
	// (default 8); past it Acquire fails closed with ErrContention.
	MaxRetries int
	// Fallback is how many other shards an Acquire tries when the chosen
	// shard is empty (default 2, at most the shard count − 1).
	Fallback int
	// MaxStale is how old a cached view of a shard may be for a denial to
	// be answered from it without a read (default 1 s). A denial from the
	// cache is safe (others can only have taken tokens since), but a rate
	// raised since would be missed for that long.
	MaxStale time.Duration
	// ReadAfter is how old a cached view may be before a write is
	// computed from it (default 100 ms). An older view was most likely
	// changed by other callers since, and a write computed from it would
	// fail its condition: one write unit spent for nothing. A strongly
	// consistent read first costs a read unit instead, a fifth of the
	// price on demand.
	ReadAfter time.Duration
	// OnError is FailClosed (default) or FailOpen.
	OnError ErrorMode
	// ErrorWait is the wait reported when failing closed (default 1 s).
	ErrorWait time.Duration
	// Metrics receives one event per Acquire; nil records nothing.
	Metrics Recorder
	// Rand picks a shard in [0, n); math/rand/v2 when nil.
	Rand func(n int) int
	// Sleep waits between lost races: a random time up to 2^attempt ms
	// (capped at 50 ms), so that racing callers spread out instead of
	// colliding again. Nil waits on a timer; it returns early with the
	// context's error.
	Sleep func(ctx context.Context, d time.Duration) error
}

// ErrContention is the Degraded reason when an Acquire lost MaxRetries
// races in a row.
var ErrContention = errors.New("ratelimit: too many lost races on the bucket item; add shards")

// Result is an Acquire's answer.
type Result struct {
	Granted float64 // tokens taken; 0 when denied
	// Wait is how long until the tokens asked for exist, when denied;
	// Never when they never will (more than the burst, or rate 0).
	Wait  time.Duration
	Shard int
	// Degraded is set when DynamoDB could not answer and OnError decided
	// the result. It is nil on every normal grant or denial.
	Degraded error
	Writes   int // conditional writes sent (each one write unit for a small item)
	Reads    int // strongly consistent reads sent
}

// OK reports whether tokens were granted.
func (r Result) OK() bool { return r.Granted > 0 }

// Limiter acquires tokens from buckets in one DynamoDB table. It is safe
// for concurrent use; it caches the last state of each shard it saw so
// that an Acquire is one write when nobody raced it.
type Limiter struct {
	st store
	o  Options

	mu    sync.Mutex
	cache map[string]cached
	n     map[string]int // shard count per bucket, as last seen
}

type cached struct {
	s  State
	at time.Time // the caller's clock when it was read or written
}

// New returns a Limiter on table.
func New(api API, table string, o Options) *Limiter {
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.MaxRetries <= 0 {
		o.MaxRetries = 8
	}
	if o.Fallback == 0 {
		o.Fallback = 2
	}
	if o.MaxStale <= 0 {
		o.MaxStale = time.Second
	}
	if o.ReadAfter <= 0 {
		o.ReadAfter = 100 * time.Millisecond
	}
	if o.OnError == "" {
		o.OnError = FailClosed
	}
	if o.ErrorWait <= 0 {
		o.ErrorWait = time.Second
	}
	if o.Rand == nil {
		o.Rand = rand.IntN
	}
	if o.Sleep == nil {
		o.Sleep = sleep
	}
	return &Limiter{st: store{api: api, table: table}, o: o, cache: map[string]cached{}, n: map[string]int{}}
}

// Now is the limiter's clock.
func (l *Limiter) Now() time.Time { return l.o.Clock() }

// Acquire takes n tokens from bucket, or reports how long to wait for
// them. The error is for requests that can never succeed (n not positive,
// a bucket never configured, a cancelled context); DynamoDB failures are
// answered by OnError and reported in Result.Degraded.
func (l *Limiter) Acquire(ctx context.Context, bucket string, n float64) (Result, error) {
	r, err := l.acquire(ctx, bucket, n, n)
	l.record(bucket, n, r, err)
	return r, err
}

// AcquireUpTo takes at least lo and at most hi tokens: as many as the
// chosen shard holds. Leases use it.
func (l *Limiter) AcquireUpTo(ctx context.Context, bucket string, lo, hi float64) (Result, error) {
	return l.acquire(ctx, bucket, lo, hi)
}

func (l *Limiter) record(bucket string, n float64, r Result, err error) {
	if l.o.Metrics == nil || err != nil {
		return
	}
	e := Event{Acquired: r.Granted, Degraded: r.Degraded != nil}
	if r.Granted == 0 {
		e.Denied, e.Wait = n, r.Wait
	}
	l.o.Metrics.Record(bucket, e)
}

func (l *Limiter) acquire(ctx context.Context, bucket string, lo, hi float64) (Result, error) {
	if !(lo > 0) || math.IsInf(lo, 0) || hi < lo || math.IsInf(hi, 0) {
		return Result{}, fmt.Errorf("ratelimit: acquire from %q: want 0 < lo <= hi, finite; got lo=%v hi=%v", bucket, lo, hi)
	}
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	n := l.shardCount(bucket)
	first := l.o.Rand(n)
	var res Result
	best := Never
	tries := min(1+l.o.Fallback, n)
	for k := 0; k < tries; k++ {
		i := (first + k) % n
		r, err := l.fromShard(ctx, bucket, i, lo, hi)
		res.Writes += r.Writes
		res.Reads += r.Reads
		if err != nil {
			return res, err
		}
		if r.Degraded != nil {
			return l.degraded(res, i, lo, r.Degraded), nil
		}
		if r.Granted > 0 {
			r.Writes, r.Reads = res.Writes, res.Reads
			return r, nil
		}
		if r.Wait >= 0 && (best < 0 || r.Wait < best) {
			best = r.Wait
		}
		if m := l.shardCount(bucket); m != n { // a reply told of a resharding
			n, tries = m, min(1+l.o.Fallback, m)
		}
	}
	res.Wait, res.Shard = best, first
	return res, nil
}

func (l *Limiter) degraded(res Result, shard int, lo float64, why error) Result {
	res.Shard, res.Degraded = shard, why
	// Lost races are not an outage: DynamoDB answered, the item is too
	// hot. Granting then would grant without limit exactly when demand
	// peaks, so contention fails closed whatever OnError says.
	if l.o.OnError == FailOpen && !errors.Is(why, ErrContention) {
		res.Granted = lo
		return res
	}
	res.Wait = l.o.ErrorWait
	return res
}

func (l *Limiter) shardCount(bucket string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n := l.n[bucket]; n > 0 {
		return n
	}
	return 1
}

func (l *Limiter) view(k string) (cached, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c, ok := l.cache[k]
	return c, ok
}

func (l *Limiter) remember(bucket, k string, s State, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if c, ok := l.cache[k]; !ok || c.s.Version <= s.Version {
		l.cache[k] = cached{s: s, at: at}
	}
	l.n[bucket] = s.Shards
}

func (l *Limiter) forget(k string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.cache, k)
}

// fromShard runs the read-compute-conditional-write loop on one shard.
func (l *Limiter) fromShard(ctx context.Context, bucket string, i int, lo, hi float64) (Result, error) {
	k := ShardKey(bucket, i)
	res := Result{Shard: i}
	c, ok := l.view(k)
	fresh := false
	for attempt := 0; attempt <= l.o.MaxRetries; {
		now := l.o.Clock()
		if ok && !fresh && now.Sub(c.at) > l.o.ReadAfter {
			if _, _, _, can := Take(c.s, now, lo, hi); can {
				ok = false // about to write from an old view: read it first
			}
		}
		if !ok {
			s, found, err := l.st.get(ctx, k)
			res.Reads++
			if err != nil {
				return res, l.failure(ctx, err, &res)
			}
			if !found {
				if i == 0 {
					return res, fmt.Errorf("%w: %q (item %s in table %s)", ErrNoBucket, bucket, k, l.st.table)
				}
				l.forget(k)
				res.Wait = Never // a shard not yet created: fall back to another
				return res, nil
			}
			c, ok, fresh = cached{s: s, at: now}, true, true
			l.remember(bucket, k, s, now)
		}
		next, got, wait, can := Take(c.s, now, lo, hi)
		if !can {
			if !fresh && now.Sub(c.at) > l.o.MaxStale {
				ok = false // deny only from a recent view: the rate may have been raised
				continue
			}
			res.Wait = wait
			return res, nil
		}
		var err error
		if Decrements(c.s, now, got) { // a decrement, racing nobody
			next, err = l.st.take(ctx, k, got)
		} else { // the first caller of a quantum writes the refill
			q, add := c.s.Accrued(now)
			next, err = l.st.refill(ctx, k, c.s, q, add, got)
		}
		res.Writes++
		var conflict *errConflict
		switch {
		case err == nil:
			l.remember(bucket, k, next, now)
			res.Granted = got
			return res, nil
		case errors.As(err, &conflict):
			attempt++
			if err := l.o.Sleep(ctx, backoff(attempt, l.o.Rand)); err != nil {
				return res, err
			}
			if conflict.fresh {
				c, ok, fresh = cached{s: conflict.cur, at: now}, true, true
				l.remember(bucket, k, conflict.cur, now)
			} else {
				ok = false
			}
		default:
			return res, l.failure(ctx, err, &res)
		}
	}
	res.Degraded = ErrContention
	return res, nil
}

// failure sorts an error: a cancelled context is the caller's; anything
// else is DynamoDB's, and OnError decides.
func (l *Limiter) failure(ctx context.Context, err error, res *Result) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	res.Degraded = fmt.Errorf("ratelimit: DynamoDB: %w", err)
	return nil
}

// backoff is full jitter: uniform in [0, min(50 ms, 2^attempt ms)).
func backoff(attempt int, rnd func(int) int) time.Duration {
	ceil := min(50, 1<<min(attempt, 6))
	return time.Duration(rnd(ceil*1000)) * time.Microsecond
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
