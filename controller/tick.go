package controller

import (
	"sync"
	"time"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/policy"
)

// tick is one run of the loop: what every stage reads, and where each
// target's evaluation stands. Stages run one after another; within a
// stage, units run in parallel and each writes only its own targets'
// slots.
type tick struct {
	now      time.Time
	no       uint64 // the drift-check rotation's turn
	opt      *TickOptions
	targets  []*config.Target
	readings map[string]policy.Signals
	senseErr error
	res      *Result
	units    []unit
	// pend holds, by target index, an evaluation that still has work:
	// a change to apply or memory to save. nil once the target is done
	// (planned, failed, not the leader's) and its record complete.
	pend []*pending

	// buf holds the pendings, reused from tick to tick: two Memory
	// values each make them large.
	buf []pending
}

var pendingPool sync.Pool // of *[]pending

// newPendings returns n zeroed pendings.
func newPendings(n int) []pending {
	if b, ok := pendingPool.Get().(*[]pending); ok && cap(*b) >= n {
		s := (*b)[:n]
		clear(s)
		return s
	}
	return make([]pending, n)
}

// release returns the tick's pendings for the next tick. Nothing of them
// outlives the tick: records are allocated apart.
func (tk *tick) release() {
	clear(tk.pend)
	b := tk.buf
	pendingPool.Put(&b)
}

// pending is one target's evaluation between its decision and its
// saved outcome.
type pending struct {
	idx  int // the target's index in the tick
	t    *config.Target
	act  Actuator
	rec  *Record
	dec  *policy.Decision // the record's
	next policy.Memory
	// before is the memory the decision started from, to unwind a change
	// that did not happen.
	before policy.Memory
	// intent is the change recorded before it is applied.
	intent *policy.Intent
	// settled is the audit line of a change a crashed run left behind,
	// which this evaluation settled; written before the memory forgets
	// the intent.
	settled *Record
	// failStage and err: why the change did not go out, or how it failed.
	failStage string
	err       error
	// audited: the record was written ahead of the save.
	audited bool
}

// applies reports whether the pending change goes to the service.
func (p *pending) applies() bool {
	return p.dec != nil && p.dec.Changed() && p.rec.Mode == ModeApply && p.failStage == ""
}

// each runs fn over the tick's units, Parallelism at a time.
func (c *Controller) each(tk *tick, fn func(unit)) {
	if tk.units == nil {
		tk.units = c.units(tk.targets)
	}
	units := tk.units
	par := c.Parallelism
	if par <= 0 {
		par = 16
	}
	par = min(par, len(units))
	if par <= 1 {
		for _, u := range units {
			fn(u)
		}
		return
	}
	var wg sync.WaitGroup
	next := make(chan unit)
	for range par {
		wg.Go(func() {
			for u := range next {
				fn(u)
			}
		})
	}
	for _, u := range units {
		next <- u
	}
	close(next)
	wg.Wait()
}

// unit is one unit of a tick's work: the target at index i alone, or
// (group not nil) the targets a Coalescer can change in one call, which
// run together so their changes meet.
type unit struct {
	i     int
	group []int
}

// units splits the targets into units of work.
func (c *Controller) units(targets []*config.Target) []unit {
	units := make([]unit, 0, len(targets))
	var groups map[string]int // coalesce key → unit
	for i, t := range targets {
		if co, ok := c.Actuators[t.Kind].(Coalescer); ok {
			if key := c.coalesceKey(co, t); key != "" {
				key = string(t.Kind) + "\x00" + key
				if u, ok := groups[key]; ok {
					if units[u].group == nil {
						units[u].group = []int{units[u].i}
					}
					units[u].group = append(units[u].group, i)
					continue
				}
				if groups == nil {
					groups = map[string]int{}
				}
				groups[key] = len(units)
			}
		}
		units = append(units, unit{i: i})
	}
	return units
}

// coalesceKey asks the actuator for the target's key; a panic there
// leaves the target on its own rather than failing the tick.
func (c *Controller) coalesceKey(co Coalescer, t *config.Target) (key string) {
	defer func() {
		if r := recover(); r != nil {
			c.logger().Error("coalesce key panicked", "target", t.Name, "panic", r)
			key = ""
		}
	}()
	return co.CoalesceKey(t)
}

// members lists the unit's target indexes.
func (u unit) members() []int {
	if u.group == nil {
		return []int{u.i}
	}
	return u.group
}
