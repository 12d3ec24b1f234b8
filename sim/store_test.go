package sim

import (
	"context"
	"testing"
	"time"

	"github.com/autotuner/autotuner/policy"
)

// The simulator's store keeps state.Mem's contract: what a caller does
// with a loaded or saved memory never reaches the stored one; and a
// profile goes back to the policy only when no stored memory refers to
// it, once however often it was replaced.
func TestMemStoreIsolatesAndRecyclesOnce(t *testing.T) {
	ctx := context.Background()
	s := newMemStore()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p1, p2 := new(policy.Profile), new(policy.Profile)
	m := policy.NewMemory()
	m.Profile = p1
	m.Window = []policy.Recommendation{{At: t0, Value: 1}}
	m.Actuation.Pending = &policy.Intent{ID: "x", To: 3}
	if err := s.Save(ctx, "a", m); err != nil {
		t.Fatal(err)
	}
	m.Window[0].Value, m.Actuation.Pending.To = 9, 9 // the caller's copy
	got, _ := s.Load(ctx, "a")
	if got.Window[0].Value != 1 || got.Actuation.Pending.To != 3 || got.Profile != p1 {
		t.Fatalf("stored memory changed through the saved copy: %+v", got)
	}
	got.Window[0].Value, got.Actuation.Pending.To = 7, 7 // the loaded copy
	again, _ := s.Load(ctx, "a")
	if again.Window[0].Value != 1 || again.Actuation.Pending.To != 3 {
		t.Fatalf("stored memory changed through the loaded copy: %+v", again)
	}

	// p1 → p2 → p1 → p2: p1 is replaced twice and held by nobody at the
	// end; p2 is stored.
	for _, p := range []*policy.Profile{p2, p1, p2} {
		m.Profile = p
		s.Save(ctx, "a", m)
	}
	s.Save(ctx, "b", policy.Memory{Version: policy.MemoryVersion, Profile: p1})
	s.Save(ctx, "b", policy.Memory{Version: policy.MemoryVersion})
	var freed []*policy.Profile
	s.free = func(p *policy.Profile) { freed = append(freed, p) }
	s.recycle()
	if len(s.replaced) != 0 {
		t.Fatalf("replaced not emptied: %d", len(s.replaced))
	}
	if cur, _ := s.Load(ctx, "a"); cur.Profile != p2 {
		t.Fatal("the stored profile changed")
	}
	if len(freed) != 1 || freed[0] != p1 {
		t.Fatalf("freed %p, want only p1 %p (p2 is %p)", freed, p1, p2)
	}
	s.recycle()
	if len(freed) != 1 {
		t.Fatalf("a second recycle freed again: %d", len(freed))
	}
}
