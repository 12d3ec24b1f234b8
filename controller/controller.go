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

	par := c.Parallelism
	if par <= 0 {
		par = 16
	}
	if par > len(targets) {
		par = len(targets)
	}
	if par <= 1 {
		for i, t := range targets {
			res.Records[i] = c.evaluate(ctx, t, i, tickNo, now, readings[t.Name], senseErr, &opt)
		}
	} else {
		var wg sync.WaitGroup
		next := make(chan int)
		for range par {
			wg.Go(func() {
				for i := range next {
					t := targets[i]
					res.Records[i] = c.evaluate(ctx, t, i, tickNo, now, readings[t.Name], senseErr, &opt)
				}
			})
		}
		for i := range targets {
			next <- i
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

func (c *Controller) logger() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.Default()
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

// evaluate runs one target's part of the tick. A panic is caught here and
// recorded against the target alone.
func (c *Controller) evaluate(ctx context.Context, t *config.Target, idx int, tickNo uint64, now time.Time, sig policy.Signals, senseErr error, opt *TickOptions) (rec *Record) {
	rec = &Record{V: AuditVersion, Time: now, Target: t.Name, Kind: string(t.Kind), Resource: t.Identity(), Mode: c.mode(t, opt), Alarm: opt.Alarm[t.Name], Signals: sig}
	if rec.Signals == nil {
		rec.Signals = policy.Signals{}
	}
	defer func() {
		if p := recover(); p != nil {
			rec.Applied = false
			rec.Error = fmt.Sprintf("panic: %v", p)
			rec.ErrorClass = ClassInternal
			c.logger().Error("target evaluation panicked", "target", t.Name, "panic", p, "stack", string(debug.Stack()))
		}
	}()
	fail := func(stage string, err error) *Record {
		rec.Stage, rec.Error, rec.ErrorClass = stage, err.Error(), Classify(err)
		rec.Final = rec.Current
		return rec
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
		return rec // nothing to plan from without a read, and reads are the leader's
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
		next.Actuation.LastSet, next.Actuation.HaveLastSet = st.Value, true
	}

	if rec.Mode == ModePlan {
		return rec
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
			return rec
		}
	}
	if dec.Changed() {
		switch rec.Mode {
		case ModeApply:
			applyCtx := ctx
			if bg, ok := c.Gate.(BoundedGate); ok {
				var cancel context.CancelFunc
				applyCtx, cancel = context.WithTimeout(ctx, bg.ValidFor())
				defer cancel()
			}
			if err := act.Apply(applyCtx, t, dec.Current, dec.Final, now); err != nil {
				fail("apply", err)
				rec.Final = dec.Current
				next = unwindChange(next, before)
			} else {
				rec.Applied = true
				next.Actuation.LastSet, next.Actuation.HaveLastSet, next.Actuation.LastSetAt = dec.Final, true, now
			}
		case ModeDryRun:
			rec.Final = dec.Final
			next = unwindChange(next, before) // nothing changed, so no cooldown starts
		}
	}
	if err := c.Store.Save(ctx, t.Name, next); err != nil {
		if rec.Error == "" {
			rec.Stage, rec.Error, rec.ErrorClass = "save", err.Error(), Classify(err)
		}
	}
	return rec
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
