package ratelimit

import (
	"context"
	"sync"
	"testing"
	"time"
)

// TestLeaseExpiresAndNeverReturns: a lease spends its batch locally with
// no call, its unspent tokens expire after the TTL and are not given back
// to the bucket, and its size and TTL are bounded.
func TestLeaseExpiresAndNeverReturns(t *testing.T) {
	fake, api := fakeTable(t)
	ctx := context.Background()
	at := t0
	rec := &countingRecorder{}
	l := New(api, "buckets", Options{Clock: func() time.Time { return at }, Metrics: rec})
	if err := l.Configure(ctx, "b", Limits{Rate: 1, Burst: 20, Shards: 1}); err != nil {
		t.Fatal(err)
	}
	p, err := NewLease(l, "b", 10, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	r, err := p.Take(ctx, 3)
	if err != nil || r.Granted != 3 || r.Writes != 1 {
		t.Fatalf("first take: %+v %v", r, err)
	}
	calls := len(fake.Calls("UpdateItem"))
	for i := 0; i < 7; i++ {
		if r, err := p.Take(ctx, 1); err != nil || r.Granted != 1 || r.Writes != 0 {
			t.Fatalf("local take %d: %+v %v", i, r, err)
		}
	}
	if n := len(fake.Calls("UpdateItem")); n != calls {
		t.Fatalf("local takes sent %d writes", n-calls)
	}
	_, states, _ := l.Describe(ctx, "b")
	if states[0].Tokens != 10 {
		t.Fatalf("bucket holds %v after a batch of 10 from 20", states[0].Tokens)
	}
	// The batch is spent; a new one of 10 is taken, 4 used, then it expires.
	if r, _ := p.Take(ctx, 4); r.Granted != 4 {
		t.Fatalf("second batch: %+v", r)
	}
	at = at.Add(1500 * time.Millisecond)
	if r, _ := p.Take(ctx, 1); r.Granted != 1 || p.Expired != 6 {
		t.Fatalf("after the TTL: %+v, expired %v, want 6", r, p.Expired)
	}
	_, states, _ = l.Describe(ctx, "b")
	if states[0].Tokens > 1.5+1e-9 { // 0 + 1.5 s × 1/s − 1 taken: nothing came back
		t.Fatalf("bucket holds %v: expired tokens were returned", states[0].Tokens)
	}
	if _, err := NewLease(l, "b", 0, time.Second); err == nil {
		t.Error("a lease of 0 tokens was accepted")
	}
	if _, err := NewLease(l, "b", 10, 2*time.Minute); err == nil {
		t.Error("a lease living 2 minutes was accepted")
	}
	acquired := rec.acquired()
	if acquired != 15 { // 3 + 7 + 4 + 1 spent by the caller
		t.Errorf("acquired tokens metric %v, want 15", acquired)
	}
}

// countingRecorder adds up the tokens granted, as a metrics backend would.
type countingRecorder struct {
	mu  sync.Mutex
	sum float64
}

func (c *countingRecorder) Record(_ string, e Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sum += e.Acquired
}

func (c *countingRecorder) acquired() float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sum
}
