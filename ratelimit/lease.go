package ratelimit

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Lease spends tokens locally from batches taken from a bucket, so that a
// caller making many small requests sends one write per batch instead of
// one per request.
//
// A batch is at most Size tokens and lives TTL from when it was taken;
// tokens unspent by then expire. They are never returned to the bucket:
// a return would arrive late, when the bucket may have refilled to its
// burst, and mint tokens. So the bound of the bucket widens by at most
// what one TTL lets a holder spend late: whatever was granted within TTL
// before a window may be spent in it (see docs/ratelimit.md).
type Lease struct {
	L      *Limiter
	Bucket string
	Size   float64       // most tokens in one batch
	TTL    time.Duration // a batch's life

	mu   sync.Mutex
	lots []lot // oldest first; at most two live at once
	// Taken and Expired count tokens granted to this lease by the bucket
	// and tokens that expired unspent.
	Taken, Expired float64
	Batches        int // batches taken from the bucket
}

type lot struct {
	tokens  float64
	expires time.Time
}

// MaxLeaseTTL bounds a lease's life, and so how late its tokens are spent.
const MaxLeaseTTL = time.Minute

// NewLease checks the bounds of a lease.
func NewLease(l *Limiter, bucket string, size float64, ttl time.Duration) (*Lease, error) {
	if !(size >= 1) || size > 1e6 {
		return nil, fmt.Errorf("ratelimit: lease size must be in [1, 1e6] tokens, got %v", size)
	}
	if ttl <= 0 || ttl > MaxLeaseTTL {
		return nil, fmt.Errorf("ratelimit: lease TTL must be in (0, %s], got %s", MaxLeaseTTL, ttl)
	}
	return &Lease{L: l, Bucket: bucket, Size: size, TTL: ttl}, nil
}

// Take spends n tokens, from the lease when it holds them and otherwise
// from a new batch of up to Size tokens. A denial reports the bucket's
// wait, as Acquire does; Writes and Reads count only calls this Take made.
func (p *Lease) Take(ctx context.Context, n float64) (Result, error) {
	r, err := p.take(ctx, n)
	if err == nil {
		p.L.record(p.Bucket, n, r, nil)
	}
	return r, err
}

func (p *Lease) take(ctx context.Context, n float64) (Result, error) {
	if !(n > 0) || n > p.Size {
		return Result{}, fmt.Errorf("ratelimit: lease take from %q: n must be in (0, %v], got %v", p.Bucket, p.Size, n)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.L.Now()
	p.expire(now)
	have := p.held()
	if have < n {
		r, err := p.L.AcquireUpTo(ctx, p.Bucket, n-have, p.Size-have)
		if err != nil || r.Granted == 0 {
			return r, err
		}
		p.Taken += r.Granted
		p.Batches++
		if r.Degraded == nil { // a fail-open grant is spent at once, never held
			p.lots = append(p.lots, lot{tokens: r.Granted, expires: now.Add(p.TTL)})
		} else {
			p.lots = append(p.lots, lot{tokens: r.Granted, expires: now})
		}
		p.spend(n)
		return Result{Granted: n, Shard: r.Shard, Writes: r.Writes, Reads: r.Reads, Degraded: r.Degraded}, nil
	}
	p.spend(n)
	return Result{Granted: n}, nil
}

func (p *Lease) held() float64 {
	var h float64
	for _, l := range p.lots {
		h += l.tokens
	}
	return h
}

// expire drops lots whose time is up.
func (p *Lease) expire(now time.Time) {
	live := p.lots[:0]
	for _, l := range p.lots {
		if now.Before(l.expires) {
			live = append(live, l)
		} else {
			p.Expired += l.tokens
		}
	}
	p.lots = live
}

// spend takes n from the oldest lots first.
func (p *Lease) spend(n float64) {
	for n > 0 && len(p.lots) > 0 {
		take := min(n, p.lots[0].tokens)
		p.lots[0].tokens -= take
		n -= take
		if p.lots[0].tokens <= 1e-9 {
			p.lots = p.lots[1:]
		}
	}
}
