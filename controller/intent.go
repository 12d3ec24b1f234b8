package controller

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/autotuner/autotuner/policy"
)

// The crash-safe part of a tick. A change goes out only once its intent
// is durable, in the store (with the change's cooldown already in
// force) and in the audit; its outcome is audited before the memory
// forgets the intent. So a process that dies at any point leaves behind
// either nothing, or an intent that the next evaluation settles by
// reading the knob back (settle).

// changeID names a change: one per target per tick.
func changeID(target string, now time.Time) string {
	return target + "@" + now.UTC().Format(time.RFC3339Nano)
}

// recordIntents writes the intent of every change about to go out: the
// memory first, then the audit line. A change whose intent cannot be
// written is not sent.
func (c *Controller) recordIntents(ctx context.Context, tk *tick) {
	c.auditSettled(tk)
	var ps []*pending
	for _, p := range tk.pend {
		if p != nil && p.applies() {
			ps = append(ps, p)
		}
	}
	if len(ps) == 0 {
		c.step(StepIntentSaved)
		c.step(StepIntentAudited)
		return
	}
	for _, p := range ps {
		in := &policy.Intent{
			ID: changeID(p.t.Name, tk.now), At: tk.now,
			From: p.dec.Current, FromUnset: p.next.Actuation.LastUnset, To: p.dec.Final,
			Undo: p.before.History(),
		}
		m := p.next
		m.Actuation.Pending = in
		p.intent, p.rec.Change = in, in.ID
		if err := c.saveOne(ctx, p.t.Name, m); err != nil {
			p.refuse("intent", fmt.Errorf("recording the intent: %w", err))
		}
	}
	if cm, ok := c.Store.(Committer); ok {
		if err := cm.Commit(ctx); err != nil {
			for _, p := range ps {
				p.refuse("intent", fmt.Errorf("recording the intent: saving state: %w", err))
			}
		}
	}
	c.step(StepIntentSaved)
	if c.Audit != nil {
		for _, p := range ps {
			if !p.applies() {
				continue
			}
			line := *p.rec
			line.Intent, line.Final = true, p.dec.Final
			if err := c.Audit.Write(&line); err != nil {
				p.refuse("audit", fmt.Errorf("auditing the intent: %w", err))
			}
		}
		c.syncAudit()
	}
	c.step(StepIntentAudited)
}

// refuse keeps a decided change from going out: it did not happen, so it
// leaves no cooldown behind.
func (p *pending) refuse(stage string, err error) {
	if p.failStage != "" {
		return
	}
	p.failStage = stage
	p.rec.Stage, p.rec.Error, p.rec.ErrorClass = stage, err.Error(), Classify(err)
	p.rec.Final = p.dec.Current
	p.next = unwindChange(p.next, p.before)
	p.next.Actuation.Pending = nil
}

// settle decides what became of a change a crashed run left pending,
// from the value just read: applied (the memory takes it, and its line
// says so), not applied (its cooldown is undone), or overtaken by
// another change (whether ours landed first is unknown, so its cooldown
// stays; the drift check reports the value). The line is written before
// the memory forgets the intent.
func (c *Controller) settle(e *evaluation) {
	in := e.mem.Actuation.Pending
	if in == nil || !e.read {
		return
	}
	if e.st.Constraints.Blocked != "" && near(e.st.Value, in.From) {
		// A locked knob may still show the old value while the change
		// takes effect (a DynamoDB table UPDATING): settle it later.
		return
	}
	e.mem.Actuation.Pending = nil
	t := e.p.t
	rec := &Record{
		V: AuditVersion, Time: in.At, Target: t.Name, Kind: string(t.Kind), Resource: t.Identity(),
		Mode: ModeApply, Signals: policy.Signals{}, Current: in.From, ReadActual: true, Final: in.From,
		Change: in.ID, Recovered: true,
	}
	switch {
	case !e.st.Unset && near(e.st.Value, in.To):
		rec.Final, rec.Applied = in.To, true
		a := &e.mem.Actuation
		a.LastSet, a.HaveLastSet, a.LastSetAt, a.LastUnset = e.st.Value, true, in.At, false
	case e.st.Unset == in.FromUnset && near(e.st.Value, in.From):
		e.mem.SetHistory(in.Undo)
	default:
		rec.Drift = &Drift{Expected: in.To, Actual: e.st.Value}
		rec.Final = e.st.Value
	}
	c.logger().Warn("settled a change left by a crashed run", "target", t.Name, "change", in.ID,
		"from", in.From, "to", in.To, "actual", e.st.Value, "applied", rec.Applied)
	e.p.settled = rec
}

// near says whether a value read back is the one set: the services round
// (API Gateway rates to hundredths).
func near(a, b float64) bool { return math.Abs(a-b) <= 0.005+1e-9*math.Abs(b) }

// auditSettled writes the lines of the changes settled from a crashed
// run before any memory that forgets their intents is written: the
// intents of this tick's own changes are such writes.
func (c *Controller) auditSettled(tk *tick) {
	n := 0
	for _, p := range tk.pend {
		if p == nil || p.settled == nil {
			continue
		}
		tk.res.Recovered = append(tk.res.Recovered, p.settled)
		if !c.outcomeWritten(p.settled.Change) {
			c.write(p.settled)
			n++
		}
	}
	if n > 0 {
		c.syncAudit()
	}
}

// auditOutcomes writes, ahead of the save that forgets their intents, the
// lines of the changes this tick sent or refused after recording their
// intent.
func (c *Controller) auditOutcomes(tk *tick) {
	for _, p := range tk.pend {
		if p == nil {
			continue
		}
		if p.intent != nil {
			if c.OnRecord != nil {
				c.OnRecord(p.rec)
			}
			c.write(p.rec)
			p.audited = true
		}
	}
	c.syncAudit()
}

// outcomeWritten asks the audit whether a change's outcome line is
// already there; when it cannot tell, the line is written (twice rather
// than never).
func (c *Controller) outcomeWritten(change string) bool {
	l, ok := c.Audit.(AuditLookup)
	if !ok {
		return false
	}
	found, err := l.HasOutcome(change)
	if err != nil {
		c.logger().Warn("looking up a change in the audit; writing its line", "change", change, "err", err)
	}
	return found
}

// saveAll saves every pending memory and commits a batching store. A
// commit that fails leaves the intents of this tick's changes in the
// store, for the next tick to settle.
func (c *Controller) saveAll(ctx context.Context, tk *tick) error {
	for _, p := range tk.pend {
		if p == nil {
			continue
		}
		if p.dec.Changed() && p.rec.Mode == ModeDryRun {
			p.rec.Final = p.dec.Final
			p.next = unwindChange(p.next, p.before) // nothing changed, so no cooldown starts
		}
		if err := c.saveOne(ctx, p.t.Name, p.next); err != nil && p.rec.Error == "" {
			p.rec.Stage, p.rec.Error, p.rec.ErrorClass = "save", err.Error(), Classify(err)
		}
	}
	cm, ok := c.Store.(Committer)
	if !ok {
		return nil
	}
	err := cm.Commit(ctx)
	if err == nil {
		return nil
	}
	// The changes are applied but not remembered: every record still
	// to be written says so, for the audit matters most exactly then.
	commitErr := fmt.Errorf("saving state: %w", err)
	for _, p := range tk.pend {
		if p != nil && !p.audited && p.rec.Error == "" {
			p.rec.Stage, p.rec.Error, p.rec.ErrorClass = "save", commitErr.Error(), Classify(err)
		}
	}
	c.logger().Error("saving state failed; the next tick settles this tick's changes", "err", err)
	return commitErr
}

// saveOne saves one memory; a panic in the store fails that save alone.
func (c *Controller) saveOne(ctx context.Context, target string, m policy.Memory) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = WithClass(ClassInternal, fmt.Errorf("panic saving state: %v", r))
		}
	}()
	return c.Store.Save(ctx, target, m)
}

// auditRest writes every record not written yet, in the order of the
// policies file.
func (c *Controller) auditRest(tk *tick) {
	for i, r := range tk.res.Records {
		if p := tk.pend[i]; p != nil && p.audited {
			continue
		}
		if c.OnRecord != nil {
			c.OnRecord(r)
		}
		c.write(r)
	}
}

func (c *Controller) write(r *Record) {
	if c.Audit == nil {
		return
	}
	if err := c.Audit.Write(r); err != nil {
		c.logger().Error("writing audit record", "target", r.Target, "err", err)
	}
}

// syncAudit asks the audit sink to make what it wrote durable.
func (c *Controller) syncAudit() {
	if s, ok := c.Audit.(interface{ Sync() error }); ok {
		if err := s.Sync(); err != nil {
			c.logger().Error("syncing the audit", "err", err)
		}
	}
}
