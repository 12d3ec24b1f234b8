// Package daemontest holds in-memory sensors, actuators and a clock for
// the tests of the run modes (daemon, Lambda, lease, revert). They speak
// the controller's interfaces, not AWS wire protocols; wire-level fakes
// belong with the AWS sensors and actuators.
package daemontest

import (
	"context"
	"fmt"
	"maps"
	"sort"
	"sync"
	"time"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/daemon"
	"github.com/autotuner/autotuner/policy"
)

// Sensor returns the same value for every signal of every target, stamped
// with the period that ends at now truncated to the minute, so each new
// minute is a new datapoint. Block, when set, is waited on first, so a
// test can hold a tick in flight.
type Sensor struct {
	mu    sync.Mutex
	Value float64
	Block chan struct{}
	// Entered, when set, receives once per Read as it starts.
	Entered chan struct{}
	Reads   int
	// Fail names targets whose signals the service does not answer,
	// with the class of the failure: they come back missing and failed.
	Fail map[string]string
}

// SetFail makes the signals of target fail with class ("" answers again).
func (s *Sensor) SetFail(target, class string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Fail == nil {
		s.Fail = map[string]string{}
	}
	s.Fail[target] = class
}

var _ controller.Sensor = (*Sensor)(nil)

func (s *Sensor) Read(ctx context.Context, targets []*config.Target, now time.Time) (map[string]policy.Signals, error) {
	s.mu.Lock()
	s.Reads++
	v, block, entered := s.Value, s.Block, s.Entered
	fail := maps.Clone(s.Fail)
	s.mu.Unlock()
	if entered != nil {
		entered <- struct{}{}
	}
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	at := now.Truncate(time.Minute).Add(-time.Minute)
	out := map[string]policy.Signals{}
	for _, t := range targets {
		sig := policy.Signals{}
		for name := range t.Signals {
			sig[name] = policy.Reading(v, at)
			if class := fail[t.Name]; class != "" {
				sig[name] = policy.Signal{Why: "the service did not answer", Failed: class}
			}
		}
		out[t.Name] = sig
	}
	return out, nil
}

// SetValue changes what every signal reads.
func (s *Sensor) SetValue(v float64) {
	s.mu.Lock()
	s.Value = v
	s.mu.Unlock()
}

// Actuator keeps every target's value in memory and records each change.
type Actuator struct {
	mu       sync.Mutex
	Values   map[string]float64 // by target name; Initial when absent
	Initial  float64
	Applies  []Apply
	Quota    policy.DecreaseQuota            // reported as the constraint of every target...
	Quotas   map[string]policy.DecreaseQuota // ...unless this names the target
	ApplyErr error
}

// Apply is one recorded change.
type Apply struct {
	Target   string
	From, To float64
	At       time.Time
}

var _ controller.Actuator = (*Actuator)(nil)

func (a *Actuator) Current(_ context.Context, t *config.Target, _ time.Time) (controller.State, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	v, ok := a.Values[t.Name]
	if !ok {
		v = a.Initial
	}
	q, ok := a.Quotas[t.Name]
	if !ok {
		q = a.Quota
	}
	return controller.State{Value: v, Constraints: policy.Constraints{Decreases: q}}, nil
}

func (a *Actuator) Apply(_ context.Context, t *config.Target, from, to float64, now time.Time) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ApplyErr != nil {
		return a.ApplyErr
	}
	if a.Values == nil {
		a.Values = map[string]float64{}
	}
	a.Values[t.Name] = to
	a.Applies = append(a.Applies, Apply{Target: t.Name, From: from, To: to, At: now})
	return nil
}

// Changes returns a copy of the recorded changes.
func (a *Actuator) Changes() []Apply {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]Apply(nil), a.Applies...)
}

// Value is a target's current value.
func (a *Actuator) Value(target string) float64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	if v, ok := a.Values[target]; ok {
		return v
	}
	return a.Initial
}

// Actuators maps every kind to a.
func Actuators(a controller.Actuator) map[config.Kind]controller.Actuator {
	m := map[config.Kind]controller.Actuator{}
	for _, k := range config.Kinds {
		m[k] = a
	}
	return m
}

// Clock is a manual clock: time moves only when Advance is called, and
// timers fire then.
type Clock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*timer
}

var _ daemon.Clock = (*Clock)(nil)

// NewClock starts a clock at t.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

type timer struct {
	c       chan time.Time
	at      time.Time
	stopped bool
	fired   bool
	clk     *Clock
}

func (t *timer) C() <-chan time.Time { return t.c }
func (t *timer) Stop() bool {
	t.clk.mu.Lock()
	defer t.clk.mu.Unlock()
	was := !t.stopped && !t.fired
	t.stopped = true
	return was
}

// NewTimer fires at now+d, at once when d ≤ 0.
func (c *Clock) NewTimer(d time.Duration) daemon.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &timer{c: make(chan time.Time, 1), at: c.now.Add(d), clk: c}
	if d <= 0 {
		t.fired = true
		t.c <- c.now
		return t
	}
	c.timers = append(c.timers, t)
	return t
}

// Advance moves the clock to now+d and fires every timer due by then, in
// order of their deadlines.
func (c *Clock) Advance(d time.Duration) { c.Set(c.Now().Add(d)) }

// Set moves the clock to t (never backwards) and fires due timers.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.Before(c.now) {
		panic(fmt.Sprintf("daemontest.Clock: time cannot go back from %v to %v", c.now, t))
	}
	c.now = t
	sort.SliceStable(c.timers, func(i, j int) bool { return c.timers[i].at.Before(c.timers[j].at) })
	keep := c.timers[:0]
	for _, tm := range c.timers {
		switch {
		case tm.stopped:
		case !tm.at.After(t):
			tm.fired = true
			tm.c <- tm.at
		default:
			keep = append(keep, tm)
		}
	}
	c.timers = keep
}

// Since is the clock's elapsed time since t.
func (c *Clock) Since(t time.Time) time.Duration { return c.Now().Sub(t) }
