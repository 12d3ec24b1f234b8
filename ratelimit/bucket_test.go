package ratelimit

import (
	"testing"
	"time"

	"pgregory.net/rapid"
)

var t0 = time.Date(2026, 12, 5, 4, 0, 0, 0, time.UTC)

// client is one caller in the pure model: its own clock offset and the
// view of the item it last read or wrote.
type client struct {
	skew time.Duration
	view State
}

// TestBoundUnderInterleavingAndSkew plays any interleaving of callers
// that read, compute on their own skewed clocks and write conditionally,
// as Acquire does against DynamoDB, and checks the bucket's promise: no
// more than burst + rate × (elapsed + max skew) is ever granted, tokens
// never go negative nor above the burst, and every write that wins was
// computed from the item as it stood (no lost update).
func TestBoundUnderInterleavingAndSkew(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		rate := rapid.Float64Range(0, 500).Draw(t, "rate")
		burst := rapid.Float64Range(0, 1000).Draw(t, "burst")
		maxSkew := time.Duration(rapid.Int64Range(0, 5000).Draw(t, "max_skew_ms")) * time.Millisecond
		item := State{Tokens: burst, Last: t0.UnixMilli(), Rate: rate, Burst: burst, Shards: 1, Version: 1}
		clients := make([]client, rapid.IntRange(1, 8).Draw(t, "clients"))
		for i := range clients {
			clients[i] = client{skew: time.Duration(rapid.Int64Range(-maxSkew.Milliseconds(), maxSkew.Milliseconds()).Draw(t, "skew")) * time.Millisecond, view: item}
		}
		now := t0
		var granted float64
		writes := int64(0)
		steps := rapid.IntRange(1, 200).Draw(t, "steps")
		for s := 0; s < steps; s++ {
			now = now.Add(time.Duration(rapid.Int64Range(0, 2000).Draw(t, "dt_ms")) * time.Millisecond)
			c := &clients[rapid.IntRange(0, len(clients)-1).Draw(t, "who")]
			// A clock may also wander within the tolerance, back and forth.
			if rapid.Bool().Draw(t, "wander") {
				c.skew = time.Duration(rapid.Int64Range(-maxSkew.Milliseconds(), maxSkew.Milliseconds()).Draw(t, "skew")) * time.Millisecond
			}
			if rapid.IntRange(0, 3).Draw(t, "op") == 0 {
				c.view = item // a (re)read
				continue
			}
			lo := rapid.Float64Range(0.5, 50).Draw(t, "lo")
			hi := lo + rapid.Float64Range(0, 50).Draw(t, "extra")
			next, got, wait, ok := Take(c.view, now.Add(c.skew), lo, hi)
			if !ok {
				if got != 0 || (wait < 0 && lo <= next.Burst && (lo-next.Tokens)/next.Rate < 3e7) || wait == 0 {
					t.Fatalf("denial granted %v or waited %v with rate %v", got, wait, next.Rate)
				}
				continue
			}
			if got < lo || got > hi {
				t.Fatalf("granted %v outside [%v, %v]", got, lo, hi)
			}
			// The write Acquire sends, with DynamoDB's condition on it.
			var won bool
			if item, won = write(item, c.view, now.Add(c.skew), next, got); !won {
				c.view = item // lost: the caller sees the item as it is
				continue
			}
			c.view = item
			granted += got
			writes++
			if item.Tokens < 0 || item.Tokens > item.Burst+1e-9 {
				t.Fatalf("tokens %v outside [0, burst %v]", item.Tokens, item.Burst)
			}
		}
		elapsed := now.Sub(t0) + maxSkew
		bound := burst + rate*elapsed.Seconds()
		if granted > bound+1e-6*(1+bound) {
			t.Fatalf("granted %v > burst %v + rate %v × %s = %v", granted, burst, rate, elapsed, bound)
		}
		if item.Version != 1+writes {
			t.Fatalf("version %d after %d winning writes: an update was lost", item.Version, writes)
		}
	})
}

// write applies the write an Acquire computed from view at now to item,
// as DynamoDB would: within the view's refill step, a decrement
// conditional on the tokens; in a later step, the refill conditional on
// the item's last refill, rate and burst, in the form the view chose.
func write(item, view State, now time.Time, next State, n float64) (State, bool) {
	if Decrements(view, now, n) {
		if item.Tokens < n {
			return item, false
		}
		item.Tokens -= n
		item.Version++
		return item, true
	}
	q, add := view.Accrued(now)
	if item.Last != view.Last || item.Rate != view.Rate || item.Burst != view.Burst {
		return item, false
	}
	room := view.Burst - add
	switch {
	case view.Tokens <= room && item.Tokens <= room && item.Tokens >= n-add:
		item.Tokens += add - n
	case view.Tokens > room && item.Tokens >= room:
		item.Tokens = view.Burst - n
	default:
		return item, false
	}
	item.Last = q
	item.Version++
	return item, true
}

// TestSkewDoesNotAccumulate: a clock that keeps jumping ahead by the
// tolerance and back can mint at most one tolerance's worth, however
// often it jumps.
func TestSkewDoesNotAccumulate(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		rate := rapid.Float64Range(1, 100).Draw(t, "rate")
		skew := time.Duration(rapid.Int64Range(1, 3000).Draw(t, "skew_ms")) * time.Millisecond
		s := State{Tokens: 0, Last: t0.UnixMilli(), Rate: rate, Burst: 1e9, Shards: 1}
		now := t0
		var granted float64
		for i := 0; i < rapid.IntRange(1, 100).Draw(t, "jumps"); i++ {
			now = now.Add(time.Duration(rapid.Int64Range(0, 500).Draw(t, "dt_ms")) * time.Millisecond)
			at := now.Add(skew)
			if i%2 == 1 {
				at = now.Add(-skew)
			}
			next, got, _, ok := Take(s, at, 1e-9, 1e12)
			if ok {
				s, granted = next, granted+got
			}
		}
		if bound := rate * (now.Sub(t0) + skew).Seconds(); granted > bound*(1+1e-9)+1e-9 {
			t.Fatalf("granted %v > rate × (elapsed + skew) = %v", granted, bound)
		}
	})
}

// TestWaitIsEnough: waiting the reported time finds the tokens.
func TestWaitIsEnough(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := State{
			Tokens: rapid.Float64Range(0, 100).Draw(t, "tokens"),
			Last:   t0.UnixMilli(),
			Rate:   rapid.Float64Range(0.01, 1000).Draw(t, "rate"),
			Burst:  100,
		}
		n := rapid.Float64Range(0.01, 100).Draw(t, "n")
		now := t0.Add(time.Duration(rapid.Int64Range(0, 10000).Draw(t, "dt_ms")) * time.Millisecond)
		_, _, wait, ok := Take(s, now, n, n)
		if ok {
			return
		}
		if wait <= 0 {
			t.Fatalf("denied with wait %v", wait)
		}
		if _, _, w2, ok := Take(s, now.Add(wait), n, n); !ok {
			t.Fatalf("after waiting %v still denied (wait %v)", wait, w2)
		}
	})
}

func TestNeverWhenImpossible(t *testing.T) {
	s := State{Tokens: 5, Last: t0.UnixMilli(), Rate: 10, Burst: 10}
	if _, _, w, ok := Take(s, t0, 11, 11); ok || w != Never {
		t.Fatalf("asking above the burst: ok=%v wait=%v, want denied Never", ok, w)
	}
	s.Rate = 0
	if _, _, w, ok := Take(s, t0, 6, 6); ok || w != Never {
		t.Fatalf("rate 0: ok=%v wait=%v, want denied Never", ok, w)
	}
	s.Burst = 2 // a lowered burst holds at the next refill
	if r := s.Refill(t0); r.Tokens != 2 {
		t.Fatalf("tokens %v after burst lowered to 2", r.Tokens)
	}
}
