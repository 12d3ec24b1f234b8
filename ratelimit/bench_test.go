package ratelimit

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkAcquire measures acquires per second and their latency against
// dynalite over a real socket, on one item and on 4 shards, with 16
// concurrent callers (one Limiter each, as separate processes would have)
// on a bucket fast enough never to deny. dynalite is one Node.js process:
// the figures compare layouts, they are not DynamoDB's.
func BenchmarkAcquire(b *testing.B) {
	w, table := dynaliteTable(b)
	for _, shards := range []int{1, 4} {
		b.Run(fmt.Sprintf("shards=%d", shards), func(b *testing.B) {
			ctx := context.Background()
			bucket := fmt.Sprintf("bench-%d", shards)
			if err := New(w, table, Options{}).Configure(ctx, bucket, Limits{Rate: 1e6, Burst: 1e6, Shards: shards}); err != nil {
				b.Fatal(err)
			}
			const callers = 16
			var mu sync.Mutex
			var lat []time.Duration
			var wg sync.WaitGroup
			per := (b.N + callers - 1) / callers
			b.ResetTimer()
			for c := 0; c < callers; c++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					l := New(w, table, Options{})
					mine := make([]time.Duration, 0, per)
					for i := 0; i < per; i++ {
						start := time.Now()
						r, err := l.Acquire(ctx, bucket, 1)
						if err != nil || r.Granted != 1 {
							b.Errorf("acquire: %+v %v", r, err)
							return
						}
						mine = append(mine, time.Since(start))
					}
					mu.Lock()
					lat = append(lat, mine...)
					mu.Unlock()
				}()
			}
			wg.Wait()
			b.StopTimer()
			slices.Sort(lat)
			if len(lat) > 0 {
				b.ReportMetric(float64(len(lat))/b.Elapsed().Seconds(), "acquires/s")
				b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
			}
		})
	}
}

// BenchmarkCost is the cost model: DynamoDB write units per 1,000 granted
// tokens, for 10 s of virtual time, with 4 callers each wanting 250
// tokens/s one token at a time (1,000 tokens/s in all), acquiring directly
// and with leases of 250 tokens that live 2 s; on a bucket of 1,250
// tokens/s (the demand fits) and of 1,000 tokens/s (the bucket runs dry,
// and callers race for each refill). Every UpdateItem, a failed
// conditional write included, is one write unit for an item under 1 KB; a
// strongly consistent GetItem is one read unit
// (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/provisioned-capacity-mode.html).
// The bound is checked too: granted ≤ rate × t + burst.
func BenchmarkCost(b *testing.B) {
	w, table := dynaliteTable(b)
	for _, c := range []struct{ rate, lease float64 }{{1250, 0}, {1250, 250}, {1000, 0}, {1000, 250}} {
		b.Run(fmt.Sprintf("rate=%v/lease=%v", c.rate, c.lease), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				u0, g0 := w.updates.Load(), w.gets.Load()
				granted, spent, elapsed := costRun(b, w, table, c.rate, c.lease, fmt.Sprintf("cost-%v-%v-%d", c.rate, c.lease, costRuns.Add(1)))
				if bound := c.rate + c.rate*elapsed.Seconds(); granted > bound {
					b.Fatalf("granted %v > bound %v", granted, bound)
				}
				b.ReportMetric(float64(w.updates.Load()-u0)/granted*1000, "WCU/1000tok")
				b.ReportMetric(float64(w.gets.Load()-g0)/granted*1000, "RCU/1000tok")
				b.ReportMetric(spent/elapsed.Seconds(), "tok/s-used")
			}
		})
	}
}

var costRuns atomic.Int64

func costRun(b *testing.B, w *watch, table string, rate, lease float64, bucket string) (granted, spent float64, elapsed time.Duration) {
	ctx := context.Background()
	clk := &rounds{at: t0}
	if err := New(w, table, Options{Clock: clk.now}).Configure(ctx, bucket, Limits{Rate: rate, Burst: rate, Shards: 1}); err != nil {
		b.Fatal(err)
	}
	// Each caller wants 5 tokens per 20 ms on average (250/s), 2 to 8 at
	// random, so callers are not in lockstep as real ones never are.
	const callers = 4
	rnd := rand.New(rand.NewPCG(1, 2))
	type caller struct {
		l     *Limiter
		lease *Lease
	}
	cs := make([]caller, callers)
	for i := range cs {
		cs[i].l = New(w, table, Options{Clock: clk.now})
		if lease > 0 {
			cs[i].lease, _ = NewLease(cs[i].l, bucket, lease, 2*time.Second)
		}
	}
	var mu sync.Mutex
	for clk.elapsed() < 10*time.Second {
		var wg sync.WaitGroup
		for _, c := range cs {
			wg.Add(1)
			perStep := 2 + rnd.IntN(7)
			go func() {
				defer wg.Done()
				for k := 0; k < perStep; k++ {
					var r Result
					var err error
					if c.lease != nil {
						r, err = c.lease.Take(ctx, 1)
					} else {
						r, err = c.l.Acquire(ctx, bucket, 1)
					}
					if err != nil {
						b.Error(err)
						return
					}
					mu.Lock()
					spent += r.Granted
					if c.lease == nil {
						granted += r.Granted
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		clk.advance(20 * time.Millisecond)
	}
	if lease > 0 {
		granted = 0
		for _, c := range cs {
			granted += c.lease.Taken
		}
	}
	return granted, spent, clk.elapsed()
}
