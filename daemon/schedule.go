package daemon

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/autotuner/autotuner/config"
)

// group is a set of targets that tick on the same schedule.
type group struct {
	spec    string
	sched   cron.Schedule
	targets []string // nil for the global group: every target without its own spec
	next    time.Time
}

// plan is the schedule of one configuration.
type plan struct {
	groups []*group
}

// ParseSchedule checks a cron spec as the daemon reads it: with the
// parser and rules `validate` uses (config.ParseSchedule).
func ParseSchedule(spec string) (cron.Schedule, error) { return config.ParseSchedule(spec) }

// newPlan groups targets by schedule. Every spec is checked, and every bad
// one is reported, so a reload names all problems at once.
func newPlan(f *config.File) (*plan, error) {
	var errs []error
	global := f.Defaults.CronSpec()
	bySpec := map[string]*group{}
	p := &plan{}
	add := func(spec string) *group {
		if g, ok := bySpec[spec]; ok {
			return g
		}
		s, err := ParseSchedule(spec)
		if err != nil {
			return nil
		}
		g := &group{spec: spec, sched: s}
		bySpec[spec] = g
		p.groups = append(p.groups, g)
		return g
	}
	if _, err := ParseSchedule(global); err != nil {
		errs = append(errs, fmt.Errorf("%s: defaults.schedule: invalid cron spec %q: %v", f.Path, global, err))
	}
	var own []string
	for i, t := range f.Targets {
		spec := t.Schedule
		if spec == "" {
			continue
		}
		if _, err := ParseSchedule(spec); err != nil {
			errs = append(errs, fmt.Errorf("%s:%d:%d: targets[%d].schedule: invalid cron spec %q: %v", f.Path, t.Line, t.Col, i, spec, err))
			continue
		}
		g := add(spec)
		g.targets = append(g.targets, t.Name)
		own = append(own, t.Name)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	// The global group covers the targets that have no spec of their own.
	var rest []string
	for _, t := range f.Targets {
		if !slices.Contains(own, t.Name) {
			rest = append(rest, t.Name)
		}
	}
	if len(rest) > 0 {
		s, _ := ParseSchedule(global)
		g := &group{spec: global, sched: s, targets: rest}
		if prev, ok := bySpec[global]; ok {
			prev.targets = append(prev.targets, rest...)
		} else {
			p.groups = append(p.groups, g)
		}
	}
	return p, nil
}

// start sets every group's first firing after now.
func (p *plan) start(now time.Time) {
	for _, g := range p.groups {
		g.next = g.sched.Next(now)
	}
}

// nextFiring is the earliest time any group is due.
func (p *plan) nextFiring() time.Time {
	var t time.Time
	for _, g := range p.groups {
		if t.IsZero() || g.next.Before(t) {
			t = g.next
		}
	}
	return t
}

// due returns the targets of every group due at now, in file order of
// groups, and moves those groups to their next firing.
func (p *plan) due(now time.Time) []string {
	var out []string
	for _, g := range p.groups {
		if g.next.After(now) {
			continue
		}
		for _, n := range g.targets {
			if !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
		g.next = g.sched.Next(now)
	}
	return out
}

// LongestGap is the longest wait between two ticks the file's schedules
// give (the global one and the targets' own, together) over the week from
// now: what a lease renewed once per tick must outlast.
func LongestGap(f *config.File, now time.Time) (time.Duration, error) {
	p, err := newPlan(f)
	if err != nil {
		return 0, err
	}
	var longest time.Duration
	cur := now
	// A week of firings, and at least two (a yearly schedule's one gap).
	for i := 0; i < 20000 && (cur.Sub(now) < 7*24*time.Hour || i < 2); i++ {
		var next time.Time
		for _, g := range p.groups {
			if n := g.sched.Next(cur); !n.IsZero() && (next.IsZero() || n.Before(next)) {
				next = n
			}
		}
		if next.IsZero() {
			break
		}
		if i > 0 && next.Sub(cur) > longest {
			longest = next.Sub(cur)
		}
		cur = next
	}
	return longest, nil
}

// period estimates the global schedule's interval, for readiness.
func (p *plan) period(now time.Time) time.Duration {
	var best time.Duration
	for _, g := range p.groups {
		a := g.sched.Next(now)
		d := g.sched.Next(a).Sub(a)
		if best == 0 || d > best {
			best = d
		}
	}
	return best
}
