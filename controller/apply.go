package controller

import (
	"context"
	"fmt"
	"runtime/debug"
	"time"
)

// regate asks the gate again for each group with work left: each member
// asked in its turn, but the group acts only now, after the others'
// reads, so a lease lost meanwhile stops the whole group before any of
// its intents is written.
func (c *Controller) regate(ctx context.Context, tk *tick) {
	if c.Gate == nil {
		return
	}
	for _, u := range tk.units {
		if u.group == nil {
			continue
		}
		var ps []*pending
		for _, i := range u.group {
			if p := tk.pend[i]; p != nil {
				ps = append(ps, p)
			}
		}
		if len(ps) == 0 {
			continue
		}
		if ok, err := c.Gate.MayApply(ctx); err != nil || !ok {
			for _, p := range ps {
				tk.pend[p.idx] = nil
				p.rec.Mode = ModeNotLeader
				if err != nil {
					p.rec.Stage, p.rec.Error, p.rec.ErrorClass = "lease", err.Error(), Classify(err)
				}
			}
		}
	}
}

// applyUnit sends one unit's changes: a lone target's with Apply, a
// group's together with ApplyGroup. A change the group call reports
// failed fails its target only.
func (c *Controller) applyUnit(ctx context.Context, tk *tick, u unit) {
	var ps []*pending
	for _, i := range u.members() {
		if p := tk.pend[i]; p != nil {
			ps = append(ps, p)
		}
	}
	if len(ps) == 0 {
		return
	}
	var batch []*pending
	for _, p := range ps {
		if p.applies() {
			batch = append(batch, p)
		}
	}
	if len(batch) > 0 && !c.stillLeader(ctx, tk, batch) {
		return
	}
	switch {
	case len(batch) == 1:
		batch[0].err = c.applyOne(ctx, batch[0], tk.now)
	case len(batch) > 1:
		co := batch[0].act.(Coalescer)
		changes := make([]Change, len(batch))
		for k, p := range batch {
			changes[k] = Change{Target: p.t, From: p.dec.Current, To: p.dec.Final}
		}
		res := c.applyGroup(ctx, co, changes, tk.now)
		for k, p := range batch {
			p.err = res[k]
		}
	}
	for _, p := range batch {
		c.noteOutcome(p, tk.now)
	}
}

// stillLeader asks the gate right before changes go out: a leader whose
// lease ran out while the tick read and decided must act no more. Their
// intents stay in the store, for the next leader to settle (it finds
// the old values and drops them); this process saves nothing more for
// these targets, since its writes would overwrite the leader's.
func (c *Controller) stillLeader(ctx context.Context, tk *tick, batch []*pending) bool {
	if c.Gate == nil {
		return true
	}
	ok, err := c.Gate.MayApply(ctx)
	if err == nil && ok {
		return true
	}
	for _, p := range batch {
		tk.pend[p.idx] = nil
		p.rec.Mode = ModeNotLeader
		if err != nil {
			p.rec.Stage, p.rec.Error, p.rec.ErrorClass = "lease", err.Error(), Classify(err)
		}
	}
	return false
}

// outcomeUnknown says whether a failed change may still have landed: a
// network error, a timeout or a 5xx may come after the service acted,
// and a panic may come after the call. An answer of the service that
// refuses the change (throttled, invalid, quota, conflict, ...) means
// it did not.
func outcomeUnknown(err error) bool {
	switch Classify(err) {
	case ClassTransient, ClassInternal:
		return true
	}
	return false
}

// applyGroup applies changes in one call and returns one error per
// change. A panic, or an answer of the wrong length, fails them all.
func (c *Controller) applyGroup(ctx context.Context, co Coalescer, changes []Change, now time.Time) (res []error) {
	defer func() {
		if r := recover(); r != nil {
			c.logger().Error("applying a group panicked", "target", changes[0].Target.Name, "panic", r, "stack", string(debug.Stack()))
			res = nil
			err := WithClass(ClassInternal, fmt.Errorf("panic applying %d changes in one call: %v", len(changes), r))
			for range changes {
				res = append(res, err)
			}
		}
	}()
	actx, cancel := c.applyContext(ctx)
	defer cancel()
	res = co.ApplyGroup(actx, changes, now)
	if len(res) != len(changes) {
		panic(fmt.Sprintf("the actuator answered %d results for %d changes", len(res), len(changes)))
	}
	return res
}

// applyContext bounds a change by the lease's remaining validity, so a
// change delayed by rate limits or retries cannot land after it.
func (c *Controller) applyContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if bg, ok := c.Gate.(BoundedGate); ok {
		return context.WithTimeout(ctx, bg.ValidFor())
	}
	return ctx, func() {}
}

// applyOne applies one target's change. A panic fails the change.
func (c *Controller) applyOne(ctx context.Context, p *pending, now time.Time) (err error) {
	defer func() {
		if r := recover(); r != nil {
			c.logger().Error("applying a change panicked", "target", p.t.Name, "panic", r, "stack", string(debug.Stack()))
			err = WithClass(ClassInternal, fmt.Errorf("panic: %v", r))
		}
	}()
	actx, cancel := c.applyContext(ctx)
	defer cancel()
	return p.act.Apply(actx, p.t, p.dec.Current, p.dec.Final, now)
}

// noteOutcome records how a change that went to the service ended, in
// its record and its memory: applied, the intent is done; failed, the
// change never happened and leaves no cooldown behind.
func (c *Controller) noteOutcome(p *pending, now time.Time) {
	rec := p.rec
	if p.err != nil {
		rec.Stage, rec.Error, rec.ErrorClass = "apply", p.err.Error(), Classify(p.err)
		rec.Final = p.dec.Current
		if outcomeUnknown(p.err) {
			// The call may have landed (a lost response, a timeout): the
			// intent stays, with its cooldown, for the next tick to
			// settle by reading the knob.
			p.next.Actuation.Pending = p.intent
			return
		}
		p.next = unwindChange(p.next, p.before)
		p.next.Actuation.Pending = nil
		return
	}
	p.next.Actuation.Pending = nil
	rec.Applied = true
	p.next.Actuation.LastSet, p.next.Actuation.HaveLastSet, p.next.Actuation.LastSetAt = p.dec.Final, true, now
	p.next.Actuation.LastUnset = false
}
