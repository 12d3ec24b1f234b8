package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
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
	// OnStep, when set, is called as a tick passes each Step. Crash
	// tests end the process there; production leaves it nil.
	OnStep func(Step)

	forgotAt time.Time // the last look for vanished resources' memory
}

// Step names a point of the crash-safe sequence of a tick, between two
// durable writes or calls.
type Step string

const (
	StepDecided       Step = "decided"        // decisions made, nothing written yet
	StepIntentSaved   Step = "intent-saved"   // intents durable in the store, not yet audited
	StepIntentAudited Step = "intent-audited" // intents audited; no change sent yet
	StepApplied       Step = "applied"        // changes sent; outcomes not yet audited
	StepAudited       Step = "outcome-audited"
	StepSaved         Step = "saved" // outcomes durable; the other records not yet audited
)

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
	// Recovered are the changes a crashed run left unsettled and this
	// tick settled, one record each (Recovered set).
	Recovered []*Record
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

// Tick runs one evaluation of the chosen targets at now. Its stages run
// in this order, so that no change is ever lost or applied unrecorded:
// read every signal; decide every target; write the intents (memory,
// then audit) durably; apply; audit the outcomes; save the memory; audit
// the rest. A process that dies anywhere in between leaves either nothing
// or an intent, which the next tick settles by reading the knob.
func (c *Controller) Tick(ctx context.Context, now time.Time, opt TickOptions) (*Result, error) {
	tk, err := c.begin(now, &opt)
	if err != nil {
		return nil, err
	}
	defer tk.release()
	c.sense(ctx, tk)
	c.limits(ctx, tk.targets, tk.readings, now)
	c.each(tk, func(u unit) { c.decideUnit(ctx, tk, u) })
	var commitErr error
	if !opt.Plan {
		c.regate(ctx, tk)
		c.step(StepDecided)
		c.recordIntents(ctx, tk)
		c.each(tk, func(u unit) { c.applyUnit(ctx, tk, u) })
		c.step(StepApplied)
		c.auditOutcomes(tk)
		c.step(StepAudited)
		c.forgetVanished(ctx, now, opt)
		commitErr = c.saveAll(ctx, tk)
		c.step(StepSaved)
	}
	c.auditRest(tk)
	return tk.res, commitErr
}

// begin sets up a tick's shared value.
func (c *Controller) begin(now time.Time, opt *TickOptions) (*tick, error) {
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
	return &tick{
		now: now, no: tickNo, opt: opt, targets: targets,
		res:  &Result{At: now, Records: make([]*Record, len(targets))},
		pend: make([]*pending, len(targets)),
		buf:  newPendings(len(targets)),
	}, nil
}

func (c *Controller) step(s Step) {
	if c.OnStep != nil {
		c.OnStep(s)
	}
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

// unwindChange keeps what the policy learned (counters, integral, window)
// but forgets that a change happened, since none did.
func unwindChange(next, before policy.Memory) policy.Memory {
	next.SetHistory(before.History())
	return next
}
