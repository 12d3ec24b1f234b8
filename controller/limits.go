package controller

import (
	"context"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/policy"
)

// sense reads every target's signals in one batch. A panic is the
// sensor's failure, not the tick's.
func (c *Controller) sense(ctx context.Context, tk *tick) {
	defer func() {
		if p := recover(); p != nil {
			tk.readings, tk.senseErr = nil, WithClass(ClassInternal, fmt.Errorf("sensor panic: %v", p))
			c.logger().Error("sensor panic", "panic", p, "stack", string(debug.Stack()))
		}
		tk.res.SenseErr = tk.senseErr
	}()
	tk.readings, tk.senseErr = c.Sensor.Read(ctx, tk.targets, tk.now)
	if tk.senseErr != nil {
		c.logger().Warn("reading signals failed; every target holds", "err", tk.senseErr)
	}
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
