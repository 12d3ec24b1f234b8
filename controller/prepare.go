package controller

import (
	"context"
	"fmt"
	"math"
	"runtime/debug"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/policy"
)

// decideUnit runs the decision stage of one unit: each target reads what
// it must and decides alone. An evaluation with work left stays in
// tk.pend.
func (c *Controller) decideUnit(ctx context.Context, tk *tick, u unit) {
	for _, i := range u.members() {
		p := &tk.buf[i]
		p.idx = i
		if c.prepare(ctx, tk, p, i) {
			tk.pend[i] = p
		}
		tk.res.Records[i] = p.rec
	}
}

// evaluation is one target's decision stage in progress.
type evaluation struct {
	tk   *tick
	p    *pending
	idx  int
	sig  policy.Signals
	mem  policy.Memory
	st   State // the knob as read, or as remembered
	read bool  // st was read from the service this tick
}

// prepare runs one target's part of the tick up to its change, into p.
// It reports whether a change (or a save) is pending; when not, the target
// is done (planned, failed, not the leader's to change) and p.rec is its
// complete record.
func (c *Controller) prepare(ctx context.Context, tk *tick, p *pending, idx int) (ok bool) {
	t := tk.targets[idx]
	ev := evaluation{tk: tk, p: p, idx: idx, sig: tk.readings[t.Name]}
	e := &ev
	rec := &Record{V: AuditVersion, Time: tk.now, Target: t.Name, Kind: string(t.Kind), Resource: t.Identity(), Mode: c.mode(t, tk.opt), Alarm: tk.opt.Alarm[t.Name], Signals: e.sig}
	if rec.Signals == nil {
		rec.Signals = policy.Signals{}
	}
	p.t, p.rec = t, rec
	defer func() {
		if r := recover(); r != nil {
			c.notePanic(t, rec, r)
			ok = false
		}
	}()
	if tk.senseErr != nil {
		// Signals are missing: the decision below will hold, but the
		// error is still the target's to report.
		rec.Stage, rec.Error, rec.ErrorClass = "sense", tk.senseErr.Error(), Classify(tk.senseErr)
		rec.SenseFailed = true
	} else {
		noteSenseFailure(t, e.sig, rec)
	}
	if p.act = c.Actuators[t.Kind]; p.act == nil {
		return e.fail("read", WithClass(ClassInvalid, fmt.Errorf("no actuator for kind %s", t.Kind)))
	}
	if err := c.load(ctx, e); err != nil {
		return e.fail("load", err)
	}
	if done, err := c.readKnob(ctx, e); err != nil {
		return e.fail("read", err)
	} else if done {
		return false
	}
	c.settle(e)
	if err := c.decide(ctx, e); err != nil {
		return e.fail("read", err)
	}
	if in := e.mem.Actuation.Pending; in != nil && p.dec.Changed() && rec.Mode != ModePlan {
		// Another change must not go out before the last one is known
		// to have landed or not.
		return e.fail("read", WithClass(ClassConflict, fmt.Errorf("change %s (%v → %v) is not settled yet: %s", in.ID, in.From, in.To, e.st.Constraints.Blocked)))
	}
	if rec.Mode == ModePlan {
		return false
	}
	return c.mayAct(ctx, rec)
}

// fail ends a target's evaluation with an error at stage.
func (e *evaluation) fail(stage string, err error) bool {
	rec := e.p.rec
	rec.Stage, rec.Error, rec.ErrorClass = stage, err.Error(), Classify(err)
	rec.Final = rec.Current
	return false
}

// load reads the target's memory and checks it can be used.
func (c *Controller) load(ctx context.Context, e *evaluation) error {
	mem, err := c.Store.Load(ctx, e.p.t.Name)
	if err != nil {
		return err
	}
	if err := mem.Check(); err != nil {
		return WithClass(ClassInvalid, err)
	}
	probation(e.p.t, &mem, e.p.rec, e.tk.now)
	e.mem = mem
	return nil
}

// readKnob reads the actual value when autotuner does not know it, when
// a crashed run left a change unsettled, right after its own increase,
// or on this target's turn in the drift-check rotation; otherwise it
// takes the remembered value. done means there is nothing to evaluate.
func (c *Controller) readKnob(ctx context.Context, e *evaluation) (done bool, err error) {
	tk, mem := e.tk, &e.mem
	known := mem.Actuation.HaveLastSet
	standby := tk.opt.Standby && tk.opt.Plan
	if standby && !known {
		e.p.rec.Mode = ModeNotLeader
		return true, nil // nothing to plan from without a read, and reads are the leader's
	}
	every := uint64(max(c.CheckEvery, 1))
	// Right after our own increase the knob is read every tick, whatever
	// the rotation, until the service stops reporting it locked: the
	// policy must see the lock without a gap to know which periods ran
	// under the old limit.
	if !standby && (!known || mem.Actuation.Pending != nil || mem.LockPending() || (uint64(e.idx)+tk.no)%every == 0) {
		return false, c.readActual(ctx, e)
	}
	e.st = State{Value: mem.Actuation.LastSet}
	return false, nil
}

// readActual reads the knob from the service.
func (c *Controller) readActual(ctx context.Context, e *evaluation) error {
	s, err := e.p.act.Current(ctx, e.p.t, e.tk.now)
	if err != nil {
		return err
	}
	if math.IsNaN(s.Value) || math.IsInf(s.Value, 0) {
		return WithClass(ClassInvalid, fmt.Errorf("the service reported %v as the current value", s.Value))
	}
	e.st, e.read = s, true
	e.p.rec.ReadActual = true
	return nil
}

// decide lets the policy decide, from the truth when it would change the
// limit.
func (c *Controller) decide(ctx context.Context, e *evaluation) error {
	tk, p, t := e.tk, e.p, e.p.t
	standby := tk.opt.Standby && tk.opt.Plan
	// A sparse counter's filled zero stands only if its period was
	// published: checked here, once, for every sensor alike.
	t.Complete(e.sig)
	in := policy.Input{Now: tk.now, Min: t.Min, Max: t.Max, Signals: e.sig, Alarm: tk.opt.Alarm[t.Name]}
	run := func(m policy.Memory) (policy.Decision, policy.Memory) {
		if e.read {
			c.noteDrift(p.rec, &m, e.st.Value)
		}
		in.Current, in.Constraints = e.st.Value, e.st.Constraints
		p.rec.Current, p.rec.Constraints = e.st.Value, e.st.Constraints
		return t.Engine.Decide(in, m)
	}
	// Decide never changes the entries of the memory it is given, so
	// before stays as it was for a second decision; that one may reuse
	// the window's spare capacity because the first result is dropped.
	before := e.mem
	dec, next := run(e.mem)
	if dec.Changed() && !e.read && !standby {
		// Never change a limit on a remembered value: read the truth and
		// decide again from the memory as it was.
		if err := c.readActual(ctx, e); err != nil {
			return err
		}
		dec, next = run(before)
	}
	p.rec.Decision = &dec
	p.rec.Final = dec.Final
	p.dec = p.rec.Decision
	if !next.Actuation.HaveOriginal && e.read {
		next.Actuation.Original, next.Actuation.HaveOriginal, next.Actuation.OriginalAt = e.st.Value, true, tk.now
		next.Actuation.OriginalUnset = e.st.Unset
		next.Actuation.OriginalBurst, next.Actuation.HaveOriginalBurst = e.st.Burst, e.st.HaveBurst
	}
	if e.read {
		next.Actuation.LastSet, next.Actuation.HaveLastSet, next.Actuation.LastUnset = e.st.Value, true, e.st.Unset
	}
	p.next, p.before = next, before
	return nil
}

// mayAct asks the gate, right before acting: a follower neither applies
// nor saves, for its memory would overwrite the leader's; a leader that
// lost its lease mid-tick stops at once.
func (c *Controller) mayAct(ctx context.Context, rec *Record) bool {
	if c.Gate == nil {
		return true
	}
	ok, err := c.Gate.MayApply(ctx)
	if err != nil || !ok {
		rec.Mode = ModeNotLeader
		if err != nil {
			rec.Stage, rec.Error, rec.ErrorClass = "lease", err.Error(), Classify(err)
		}
		return false
	}
	return true
}

// notePanic records a recovered panic against the target alone.
func (c *Controller) notePanic(t *config.Target, rec *Record, r any) {
	rec.Applied = false
	rec.Error = fmt.Sprintf("panic: %v", r)
	rec.ErrorClass = ClassInternal
	c.logger().Error("target evaluation panicked", "target", t.Name, "panic", r, "stack", string(debug.Stack()))
}

// noteDrift records a hand-made change and starts again from the real
// value: the integral no longer describes the limit in force.
func (c *Controller) noteDrift(rec *Record, m *policy.Memory, actual float64) {
	if !m.Actuation.HaveLastSet || m.Actuation.LastSet == actual {
		return
	}
	rec.Drift = &Drift{Expected: m.Actuation.LastSet, Actual: actual}
	m.Integral = 0
	m.Actuation.LastSet = actual
}
