package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// loadCase is one proof run: many callers, each with its own Limiter (as
// separate processes would have) and its own skewed clock, against one
// bucket in dynalite over a real socket.
type loadCase struct {
	clients  int
	duration time.Duration // virtual
	step     time.Duration // virtual time per clock reading
	limits   Limits
	maxSkew  time.Duration
	lease    float64 // lease size; 0 acquires directly
	leaseTTL time.Duration
}

type loadResult struct {
	granted  float64 // tokens the bucket granted
	spent    float64 // tokens callers used (= granted without leases)
	wins     int64   // winning writes reported by callers
	elapsed  time.Duration
	versions int64 // sum over shards of version - 1 (the configure write)
	// contended counts acquires that lost every race and failed closed
	contended int64
}

func runLoad(t *testing.T, w *watch, table string, c loadCase) loadResult {
	t.Helper()
	ctx := context.Background()
	clk := &rounds{at: t0}
	admin := New(w, table, Options{Clock: clk.now})
	bucket := fmt.Sprintf("partner-api-%d-%v", c.limits.Shards, c.lease)
	if err := admin.Configure(ctx, bucket, c.limits); err != nil {
		t.Fatal(err)
	}
	callers := make([]*caller, c.clients)
	for i := range callers {
		skew := time.Duration(rand.Int64N(int64(2*c.maxSkew+1))) - c.maxSkew
		callers[i] = &caller{l: New(w, table, Options{Clock: clk.skewed(skew)})}
		if c.lease > 0 {
			var err error
			if callers[i].lease, err = NewLease(callers[i].l, bucket, c.lease, c.leaseTTL); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Each round every caller asks once, all at the same virtual time and
	// truly concurrently; then the clock moves on by one step.
	for clk.elapsed() < c.duration {
		var wg sync.WaitGroup
		for _, cl := range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := cl.ask(ctx, bucket); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
		clk.advance(c.step)
	}
	var res loadResult
	for _, cl := range callers {
		if cl.lease != nil {
			if cl.spent > cl.lease.Taken+1e-9 {
				t.Errorf("a lease spent %v of the %v tokens it was granted", cl.spent, cl.lease.Taken)
			}
			cl.granted, cl.wins = cl.lease.Taken, int64(cl.lease.Batches)
		}
		res.granted += cl.granted
		res.spent += cl.spent
		res.wins += cl.wins
		res.contended += cl.contended
	}
	res.elapsed = clk.elapsed()
	_, states, err := admin.Describe(ctx, bucket)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range states {
		res.versions += s.Version - 1
		if s.Tokens < 0 {
			t.Errorf("a shard ends with %v tokens", s.Tokens)
		}
	}
	return res
}

// caller is one client process: its own Limiter, cache and clock.
type caller struct {
	l               *Limiter
	lease           *Lease
	granted, spent  float64
	wins, contended int64
}

func (c *caller) ask(ctx context.Context, bucket string) error {
	var r Result
	var err error
	if c.lease != nil {
		r, err = c.lease.Take(ctx, 1)
	} else {
		r, err = c.l.Acquire(ctx, bucket, 1)
	}
	switch {
	case err != nil:
		return err
	case errors.Is(r.Degraded, ErrContention):
		c.contended++
	case r.Degraded != nil:
		return r.Degraded
	}
	c.spent += r.Granted
	if c.lease == nil && r.Granted > 0 {
		c.granted += r.Granted
		c.wins++
	}
	return nil
}

// TestDynaliteBoundHolds is the limiter's proof over real sockets: 50
// concurrent callers for 60 s of virtual time, with clocks skewed by up to
// 200 ms, on one item, on 4 shards, and with leases. The bucket never
// grants more than rate × (t + skew) + burst (a float's rounding aside),
// no winning write is lost (each shard's version counts exactly the grants
// callers saw), and no write ever stores negative tokens.
func TestDynaliteBoundHolds(t *testing.T) {
	if testing.Short() {
		t.Skip("60 s of virtual time against dynalite")
	}
	w, table := dynaliteTable(t)
	cases := map[string]loadCase{
		"one_item": {limits: Limits{Rate: 100, Burst: 50, Shards: 1}, step: 500 * time.Millisecond},
		"4_shards": {limits: Limits{Rate: 200, Burst: 100, Shards: 4}, step: 500 * time.Millisecond},
		"leases":   {limits: Limits{Rate: 1000, Burst: 500, Shards: 1}, lease: 20, leaseTTL: time.Second, step: 50 * time.Millisecond},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			c.clients, c.duration, c.maxSkew = 50, 60*time.Second, 200*time.Millisecond
			u0, c0, g0 := w.updates.Load(), w.conflicts.Load(), w.gets.Load()
			r := runLoad(t, w, table, c)
			t.Logf("%d UpdateItem (%d lost races), %d GetItem", w.updates.Load()-u0, w.conflicts.Load()-c0, w.gets.Load()-g0)
			bound := c.limits.Burst + c.limits.Rate*(r.elapsed+c.maxSkew).Seconds()
			t.Logf("granted %.0f (spent %.0f) in %s virtual; bound %.0f; %d winning writes; %d acquires failed closed on contention", r.granted, r.spent, r.elapsed, bound, r.wins, r.contended)
			if r.granted > bound*(1+1e-9) {
				t.Errorf("granted %v > bound %v", r.granted, bound)
			}
			if r.granted < 0.5*c.limits.Rate*r.elapsed.Seconds() {
				t.Errorf("granted only %v of a possible %v: the limiter starves its callers", r.granted, c.limits.Rate*r.elapsed.Seconds())
			}
			if r.versions != r.wins {
				t.Errorf("shards record %d writes, callers saw %d winning: an update was lost", r.versions, r.wins)
			}
			w.mu.Lock()
			defer w.mu.Unlock()
			if w.minTokens < 0 {
				t.Errorf("a write stored %v tokens", w.minTokens)
			}
		})
	}
}
