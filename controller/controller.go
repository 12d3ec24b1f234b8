package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/policy"
)

// Controller runs ticks over a validated policies file.
type Controller struct {
	Config    *config.File
	Sensor    Sensor
	Actuators map[config.Kind]Actuator
	Store     Store
	Audit     AuditSink // may be nil
	Gate      Gate      // may be nil: this process always may apply
	Logger    *slog.Logger
	// Parallelism bounds how many targets are evaluated at once.
	// 0 means 16.
	Parallelism int
	// DryRun forces dry-run for every target, whatever the file says.
	DryRun bool
	// CheckEvery spreads drift checks: a target whose value autotuner
	// knows is read from the service only every CheckEvery ticks (in
	// rotation) unless the policy wants to change it. 0 or 1 reads every
	// target on every tick.
	CheckEvery int
	// OnRecord, when set, is called with every record before it is
	// written; the simulator uses it to account for decisions.
	OnRecord func(*Record)
}

// TickOptions narrow or restrain one tick.
type TickOptions struct {
	// Only evaluates these targets; empty means all.
	Only []string
	// Alarm marks targets evaluated because their alarm entered ALARM.
	Alarm map[string]bool
	// Plan decides without applying or saving anything.
	Plan bool
	// DryRun applies nothing in this tick but remembers the decisions.
	DryRun bool
	// Standby, with Plan, is a follower's tick: it decides from the
	// values the leader last set and never reads the service, so N
	// replicas spend the account's control-plane quota once, not N times.
	// A target the leader has not touched yet is skipped.
	Standby bool
}

// Result is the outcome of one tick.
type Result struct {
	At      time.Time
	Records []*Record // in the order of the policies file
	// SenseErr is set when the batched signal read failed; every target
	// then held for want of data.
	SenseErr error
}

// Errors counts the records that carry an error.
func (r *Result) Errors() int {
	n := 0
	for _, rec := range r.Records {
		if rec.Error != "" {
			n++
		}
	}
	return n
}

// ErrUnknownTarget is returned when TickOptions.Only names a target that is
// not in the policies file.
var ErrUnknownTarget = errors.New("unknown target")

// Tick runs one evaluation of the chosen targets at now.
func (c *Controller) Tick(ctx context.Context, now time.Time, opt TickOptions) (*Result, error) {
	targets, err := c.select_(opt.Only)
	if err != nil {
		return nil, err
	}
	// The drift-check rotation follows the clock, not a per-process
	// counter, so a process restarted or rebuilt every tick (the Lambda
	// mode reloading its policies) still reaches every target in turn.
	tickNo := uint64(0)
	if iv := int64(c.Config.Defaults.Interval / time.Second); iv > 0 && now.Unix() > 0 {
		tickNo = uint64(now.Unix() / iv)
	}

	res := &Result{At: now, Records: make([]*Record, len(targets))}
	readings, senseErr := c.sense(ctx, targets, now)
	res.SenseErr = senseErr
	c.limits(ctx, targets, readings, now)

	units := c.units(targets)
	run := func(u unit) {
		if u.group == nil {
			i := u.i
			res.Records[i] = c.evaluate(ctx, targets[i], i, tickNo, now, readings[targets[i].Name], senseErr, &opt)
			return
		}
		c.evaluateGroup(ctx, targets, u.group, tickNo, now, readings, senseErr, &opt, res.Records)
	}
	par := c.Parallelism
	if par <= 0 {
		par = 16
	}
	if par > len(units) {
		par = len(units)
	}
	if par <= 1 {
		for _, u := range units {
			run(u)
		}
	} else {
		var wg sync.WaitGroup
		next := make(chan unit)
		for range par {
			wg.Go(func() {
				for u := range next {
					run(u)
				}
			})
		}
		for _, u := range units {
			next <- u
		}
		close(next)
		wg.Wait()
	}

	var commitErr error
	if !opt.Plan {
		if cm, ok := c.Store.(Committer); ok {
			if err := cm.Commit(ctx); err != nil {
				// The changes are applied but not remembered: every
				// record says so, and is still written, for the audit
				// matters most exactly then.
				commitErr = fmt.Errorf("saving state: %w", err)
				for _, r := range res.Records {
					if r.Error == "" && r.Mode != ModeNotLeader {
						r.Stage, r.Error, r.ErrorClass = "save", commitErr.Error(), Classify(err)
					}
				}
			}
		}
	}
	for _, r := range res.Records {
		if c.OnRecord != nil {
			c.OnRecord(r)
		}
		if c.Audit != nil {
			if err := c.Audit.Write(r); err != nil {
				c.logger().Error("writing audit record", "target", r.Target, "err", err)
			}
		}
	}
	return res, commitErr
}

func (c *Controller) select_(only []string) ([]*config.Target, error) {
	if len(only) == 0 {
		return c.Config.Targets, nil
	}
	var out []*config.Target
	for _, name := range only {
		t := c.Config.Target(name)
		if t == nil {
			return nil, fmt.Errorf("%w %q", ErrUnknownTarget, name)
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out, nil
}

func (c *Controller) sense(ctx context.Context, targets []*config.Target, now time.Time) (m map[string]policy.Signals, err error) {
	defer func() {
		if p := recover(); p != nil {
			m, err = nil, WithClass(ClassInternal, fmt.Errorf("sensor panic: %v", p))
			c.logger().Error("sensor panic", "panic", p, "stack", string(debug.Stack()))
		}
	}()
	m, err = c.Sensor.Read(ctx, targets, now)
	if err != nil {
		c.logger().Warn("reading signals failed; every target holds", "err", err)
	}
	return m, err
}

// limits fills in the signals of source target: another target's limit
// in force, as this process last set or read it (the value in its
// memory). They are read once, before any target is evaluated, so a tick
// gives the same answer whatever the order and parallelism of the
// evaluation; a limit changed in this tick shows in the next. A target
// autotuner has never set or read has no value yet, one with no limit set
// at all has none to follow, and one it has not evaluated for staleAfter
// is not trusted (its reads may be failing, or it left the file): the
// signal is missing, saying why. The reading is live: it has no period
// (At is zero).
func (c *Controller) limits(ctx context.Context, targets []*config.Target, readings map[string]policy.Signals, now time.Time) {
	if readings == nil {
		return
	}
	base := max(3*c.Config.Defaults.Interval, minStaleLimit)
	var known map[string]policy.Signal
	for _, t := range targets {
		for _, s := range t.SignalList {
			if s.Source != config.SourceTarget {
				continue
			}
			v, ok := known[s.Target]
			if !ok {
				m, err := c.Store.Load(ctx, s.Target)
				switch {
				case err != nil:
					c.logger().Warn("reading another target's limit", "target", t.Name, "signal", s.Name, "of", s.Target, "err", err)
					v.Why = "loading the state of " + s.Target + ": " + err.Error()
				case !m.Actuation.HaveLastSet || m.LastEval.IsZero():
					v.Why = "autotuner has not read " + s.Target + " yet"
				case m.Actuation.LastUnset:
					v.Why = s.Target + " has no limit set: it admits up to the account's rate, which no floor should follow"
				case now.Sub(m.LastEval) > staleAfter(m, base):
					v.Why = fmt.Sprintf("%s was last evaluated at %s, over %s ago", s.Target, m.LastEval.UTC().Format(time.RFC3339), staleAfter(m, base))
				default:
					v = policy.Signal{Value: m.Actuation.LastSet, Valid: true}
				}
				if known == nil {
					known = map[string]policy.Signal{}
				}
				known[s.Target] = v
			}
			sig := readings[t.Name]
			if sig == nil {
				sig = policy.Signals{}
				readings[t.Name] = sig
			}
			sig[s.Name] = v
		}
	}
}

// minStaleLimit is the least age at which another target's remembered
// limit is no longer trusted.
const minStaleLimit = 10 * time.Minute

// staleAfter is the age past which a target's remembered limit is not
// trusted: three of its own evaluation periods as its memory shows them
// (a target on a 15-minute schedule is evaluated every 15 minutes), and
// at least base (3 ticks of the file's interval, at least 10 minutes).
func staleAfter(m policy.Memory, base time.Duration) time.Duration {
	if !m.PrevEval.IsZero() && m.LastEval.After(m.PrevEval) {
		return max(base, 3*m.LastEval.Sub(m.PrevEval))
	}
	return base
}

func (c *Controller) logger() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.Default()
}

// probation keeps a target a selector has just found in dry-run: a new
// resource is watched before it is changed. Its memory says since when it
// is known, so the probation survives restarts and the Lambda mode.
func probation(t *config.Target, mem *policy.Memory, rec *Record, now time.Time) {
	if mem.Since.IsZero() {
		mem.Since = now
	}
	if t.Probation <= 0 || rec.Mode != ModeApply {
		return
	}
	if until := mem.Since.Add(t.Probation); now.Before(until) {
		rec.Mode, rec.Probation = ModeDryRun, until
	}
}

func (c *Controller) mode(t *config.Target, opt *TickOptions) Mode {
	switch {
	case opt.Plan:
		return ModePlan
	case opt.DryRun || c.DryRun || t.DryRun:
		return ModeDryRun
	}
	return ModeApply
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

// pending is one target's evaluation between its decision and its
// change: decided, and allowed to act, but not yet applied or saved.
type pending struct {
	t    *config.Target
	act  Actuator
	rec  *Record
	dec  policy.Decision
	next policy.Memory
	// before is the memory the decision started from, to unwind a change
	// that did not happen.
	before policy.Memory
}

// applies reports whether the pending change goes to the service.
func (p *pending) applies() bool { return p.dec.Changed() && p.rec.Mode == ModeApply }

// evaluate runs one target's part of the tick. A panic is caught and
// recorded against the target alone.
func (c *Controller) evaluate(ctx context.Context, t *config.Target, idx int, tickNo uint64, now time.Time, sig policy.Signals, senseErr error, opt *TickOptions) *Record {
	var p pending
	if !c.prepare(ctx, &p, t, idx, tickNo, now, sig, senseErr, opt) {
		return p.rec
	}
	var err error
	if p.applies() {
		err = c.applyOne(ctx, &p, now)
	}
	c.finish(ctx, &p, err, now)
	return p.rec
}

// evaluateGroup runs the targets of one coalescing unit: each decides
// alone, then the changes of those that change go to the service in one
// call, and each saves alone. A change the group call reports failed
// fails its target only.
func (c *Controller) evaluateGroup(ctx context.Context, targets []*config.Target, unit []int, tickNo uint64, now time.Time, readings map[string]policy.Signals, senseErr error, opt *TickOptions, out []*Record) {
	ps := make([]*pending, 0, len(unit))
	for _, i := range unit {
		t := targets[i]
		p := new(pending)
		ok := c.prepare(ctx, p, t, i, tickNo, now, readings[t.Name], senseErr, opt)
		out[i] = p.rec
		if ok {
			ps = append(ps, p)
		}
	}
	if c.Gate != nil && len(ps) > 0 {
		// Each member asked the gate in its turn, but the group acts
		// only now, after the others' reads: ask again, so that a lease
		// lost meanwhile stops the whole group.
		if ok, err := c.Gate.MayApply(ctx); err != nil || !ok {
			for _, p := range ps {
				p.rec.Mode = ModeNotLeader
				if err != nil {
					p.rec.Stage, p.rec.Error, p.rec.ErrorClass = "lease", err.Error(), Classify(err)
				}
			}
			return
		}
	}
	var batch []*pending
	for _, p := range ps {
		if p.applies() {
			batch = append(batch, p)
		}
	}
	errs := map[*pending]error{}
	if len(batch) == 1 {
		errs[batch[0]] = c.applyOne(ctx, batch[0], now)
	} else if len(batch) > 1 {
		co := batch[0].act.(Coalescer)
		changes := make([]Change, len(batch))
		for k, p := range batch {
			changes[k] = Change{Target: p.t, From: p.dec.Current, To: p.dec.Final}
		}
		res := c.applyGroup(ctx, co, changes, now)
		for k, p := range batch {
			errs[p] = res[k]
		}
	}
	for _, p := range ps {
		c.finish(ctx, p, errs[p], now)
	}
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

// finish records the outcome of the change (applyErr, when it applied)
// and saves the memory.
func (c *Controller) finish(ctx context.Context, p *pending, applyErr error, now time.Time) {
	rec, dec := p.rec, p.dec
	defer func() {
		if r := recover(); r != nil {
			c.notePanic(p.t, rec, r)
		}
	}()
	if dec.Changed() {
		switch rec.Mode {
		case ModeApply:
			if applyErr != nil {
				rec.Stage, rec.Error, rec.ErrorClass = "apply", applyErr.Error(), Classify(applyErr)
				rec.Final = dec.Current
				p.next = unwindChange(p.next, p.before)
			} else {
				rec.Applied = true
				p.next.Actuation.LastSet, p.next.Actuation.HaveLastSet, p.next.Actuation.LastSetAt = dec.Final, true, now
				p.next.Actuation.LastUnset = false
			}
		case ModeDryRun:
			rec.Final = dec.Final
			p.next = unwindChange(p.next, p.before) // nothing changed, so no cooldown starts
		}
	}
	if err := c.Store.Save(ctx, p.t.Name, p.next); err != nil {
		if rec.Error == "" {
			rec.Stage, rec.Error, rec.ErrorClass = "save", err.Error(), Classify(err)
		}
	}
}

// prepare runs one target's part of the tick up to its change, into p.
// It reports whether a change (or a save) is pending; when not, the target
// is done (planned, failed, not the leader's to change) and p.rec is its
// complete record.
func (c *Controller) prepare(ctx context.Context, p *pending, t *config.Target, idx int, tickNo uint64, now time.Time, sig policy.Signals, senseErr error, opt *TickOptions) (ok bool) {
	rec := &Record{V: AuditVersion, Time: now, Target: t.Name, Kind: string(t.Kind), Resource: t.Identity(), Mode: c.mode(t, opt), Alarm: opt.Alarm[t.Name], Signals: sig}
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
	fail := func(stage string, err error) bool {
		rec.Stage, rec.Error, rec.ErrorClass = stage, err.Error(), Classify(err)
		rec.Final = rec.Current
		return false
	}
	if senseErr != nil {
		// Signals are missing: the decision below will hold, but the
		// error is still the target's to report.
		rec.Stage, rec.Error, rec.ErrorClass = "sense", senseErr.Error(), Classify(senseErr)
	}

	act := c.Actuators[t.Kind]
	if act == nil {
		return fail("read", WithClass(ClassInvalid, fmt.Errorf("no actuator for kind %s", t.Kind)))
	}
	mem, err := c.Store.Load(ctx, t.Name)
	if err != nil {
		return fail("load", err)
	}
	if err := mem.Check(); err != nil {
		return fail("load", WithClass(ClassInvalid, err))
	}
	probation(t, &mem, rec, now)

	// Read the actual value when autotuner does not know it, or on this
	// target's turn in the drift-check rotation.
	known := mem.Actuation.HaveLastSet
	var st State
	read := false
	doRead := func() error {
		s, err := act.Current(ctx, t, now)
		if err != nil {
			return err
		}
		if math.IsNaN(s.Value) || math.IsInf(s.Value, 0) {
			return WithClass(ClassInvalid, fmt.Errorf("the service reported %v as the current value", s.Value))
		}
		st, read = s, true
		rec.ReadActual = true
		return nil
	}
	every := uint64(max(c.CheckEvery, 1))
	standby := opt.Standby && opt.Plan
	if standby && !known {
		rec.Mode = ModeNotLeader
		return false // nothing to plan from without a read, and reads are the leader's
	}
	// Right after our own increase the knob is read every tick, whatever
	// the rotation, until the service stops reporting it locked: the
	// policy must see the lock without a gap to know which periods ran
	// under the old limit.
	if !standby && (!known || mem.LockPending() || (uint64(idx)+tickNo)%every == 0) {
		if err := doRead(); err != nil {
			return fail("read", err)
		}
	} else {
		st = State{Value: mem.Actuation.LastSet}
	}

	// A sparse counter's filled zero stands only if its period was
	// published: checked here, once, for every sensor alike.
	t.Complete(sig)
	in := policy.Input{Now: now, Min: t.Min, Max: t.Max, Signals: sig, Alarm: opt.Alarm[t.Name]}
	decide := func(m policy.Memory) (policy.Decision, policy.Memory) {
		if read {
			c.noteDrift(rec, &m, st.Value)
		}
		in.Current, in.Constraints = st.Value, st.Constraints
		rec.Current, rec.Constraints = st.Value, st.Constraints
		return t.Engine.Decide(in, m)
	}
	// Decide never changes the entries of the memory it is given, so
	// before stays as it was for a second decision; that one may reuse
	// the window's spare capacity because the first result is dropped.
	before := mem
	dec, next := decide(mem)
	if dec.Changed() && !read && !standby {
		// Never change a limit on a remembered value: read the truth and
		// decide again from the memory as it was.
		if err := doRead(); err != nil {
			return fail("read", err)
		}
		dec, next = decide(before)
	}
	rec.Decision = &dec
	rec.Final = dec.Final
	if !next.Actuation.HaveOriginal && read {
		next.Actuation.Original, next.Actuation.HaveOriginal, next.Actuation.OriginalAt = st.Value, true, now
		next.Actuation.OriginalUnset = st.Unset
	}
	if read {
		next.Actuation.LastSet, next.Actuation.HaveLastSet, next.Actuation.LastUnset = st.Value, true, st.Unset
	}

	if rec.Mode == ModePlan {
		return false
	}
	// A follower neither applies nor saves: its memory would overwrite
	// the leader's. The gate is asked per target, right before acting,
	// so a leader that loses its lease mid-tick stops at once.
	if c.Gate != nil {
		ok, err := c.Gate.MayApply(ctx)
		if err != nil || !ok {
			rec.Mode = ModeNotLeader
			if err != nil {
				rec.Stage, rec.Error, rec.ErrorClass = "lease", err.Error(), Classify(err)
			}
			return false
		}
	}
	p.act, p.dec, p.next, p.before = act, dec, next, before
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

// unwindChange keeps what the policy learned (counters, integral, window)
// but forgets that a change happened, since none did.
func unwindChange(next, before policy.Memory) policy.Memory {
	next.LastUp, next.LastDown, next.LastDir = before.LastUp, before.LastDown, before.LastDir
	next.Flaps, next.LastDownCut = before.Flaps, before.LastDownCut
	return next
}
