package controller_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/policy"
	"github.com/autotuner/autotuner/state"
)

// A resource a selector no longer finds keeps its memory for
// defaults.forget_after after it was last evaluated, then loses it; a
// hand-written target's memory, and a tick that covers only some
// targets, forget nothing.
func TestForgetsAVanishedResourceAfterItsRetention(t *testing.T) {
	f := policies(t, lambdaTarget("orders", ""), lambdaTarget("gone", ""), lambdaTarget("hand", ""))
	for _, tg := range f.Targets[:2] {
		tg.Entry, tg.Name = "fns", "fns/"+tg.Name // as a selector entry names them
	}
	if f.Defaults.ForgetAfter != config.DefaultForgetAfter || config.DefaultForgetAfter != 7*24*time.Hour {
		t.Fatalf("forget_after defaults to %s", f.Defaults.ForgetAfter)
	}
	r := newRig(t, f, map[string]float64{"fns/orders": 100, "fns/gone": 100, "hand": 100}, func(now time.Time, _ string) policy.Signals {
		return busy(now, 70)
	})
	st := state.NewMem()
	r.c.Store = st
	r.tick(t, t0, controller.TickOptions{})
	if got := st.Targets(); !slices.Equal(got, []string{"fns/gone", "fns/orders", "hand"}) {
		t.Fatalf("memories after the first tick: %v", got)
	}

	// Reloaded: the selector no longer finds "gone", and "hand" left the file.
	reloaded := *f
	reloaded.Targets = []*config.Target{f.Targets[0]}
	r.c.Config = &reloaded
	week := config.DefaultForgetAfter
	for _, s := range []struct {
		at   time.Duration
		opt  controller.TickOptions
		want []string
	}{
		{time.Minute, controller.TickOptions{}, []string{"fns/gone", "fns/orders", "hand"}},
		{week - time.Minute, controller.TickOptions{}, []string{"fns/gone", "fns/orders", "hand"}},
		// It looks once an hour: the last look was at week-1m.
		{week + time.Minute, controller.TickOptions{}, []string{"fns/gone", "fns/orders", "hand"}},
		{week + time.Hour + time.Minute, controller.TickOptions{Only: []string{"fns/orders"}}, []string{"fns/gone", "fns/orders", "hand"}},
		{week + time.Hour + 2*time.Minute, controller.TickOptions{Plan: true}, []string{"fns/gone", "fns/orders", "hand"}},
		{week + time.Hour + 3*time.Minute, controller.TickOptions{}, []string{"fns/orders", "hand"}},
	} {
		r.tick(t, t0.Add(s.at), s.opt)
		if got := st.Targets(); !slices.Equal(got, s.want) {
			t.Fatalf("t0+%v %+v: memories %v, want %v", s.at, s.opt, got, s.want)
		}
	}
}

// A change in flight is never forgotten: the next tick that sees the
// resource must settle it.
func TestForgetKeepsAPendingChange(t *testing.T) {
	f := policies(t, lambdaTarget("orders", ""))
	f.Targets[0].Entry, f.Targets[0].Name = "fns", "fns/orders"
	r := newRig(t, f, map[string]float64{"fns/orders": 100}, func(now time.Time, _ string) policy.Signals { return busy(now, 70) })
	st := state.NewMem()
	r.c.Store = st
	m := policy.NewMemory()
	m.LastEval = t0
	m.Actuation.Pending = &policy.Intent{ID: "c1", From: 10, To: 20}
	if err := st.Save(context.Background(), "fns/vanished", m); err != nil {
		t.Fatal(err)
	}
	r.tick(t, t0.Add(30*24*time.Hour), controller.TickOptions{})
	if got := st.Targets(); !slices.Contains(got, "fns/vanished") {
		t.Fatalf("a memory with a change in flight was forgotten: %v", got)
	}
}
