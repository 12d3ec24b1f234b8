package controller

import (
	"context"
	"time"

	"github.com/autotuner/autotuner/config"
)

// forgetLookEvery is how often a controller looks for memories to forget.
const forgetLookEvery = time.Hour

// Forgetter is a Store that can list its memories and drop one. The
// controller uses it to forget resources a selector no longer finds.
type Forgetter interface {
	Store
	Targets() []string
	Forget(target string)
}

// forgetVanished drops the memory of each target a selector entry found
// once and no longer finds, when it was last evaluated longer ago than
// defaults.forget_after. Until then the memory stays, so a resource that
// comes back (tagged again, made again) resumes where it was.
//
// What it never drops: the memory of a target written by hand (its
// originals are what revert restores, and only the operator knows when
// it is gone for good); a memory with a change in flight (the next tick
// that sees the resource must settle it); and anything on a tick that
// does not cover every target, since such a tick cannot tell vanished
// from skipped.
func (c *Controller) forgetVanished(ctx context.Context, now time.Time, opt TickOptions) []string {
	fs, ok := c.Store.(Forgetter)
	if !ok || len(opt.Only) > 0 || opt.Plan || c.Config == nil || c.Config.Defaults.ForgetAfter <= 0 {
		return nil
	}
	// Retention is at least an hour, so looking more often finds nothing
	// new and would cost every tick a pass over the whole store.
	if !c.forgotAt.IsZero() && now.Sub(c.forgotAt) < forgetLookEvery {
		return nil
	}
	c.forgotAt = now
	live := make(map[string]bool, len(c.Config.Targets))
	for _, t := range c.Config.Targets {
		live[t.Name] = true
	}
	var forgot []string
	for _, name := range fs.Targets() {
		if live[name] {
			continue
		}
		if _, selected := config.SelectedName(name); !selected {
			continue
		}
		m, err := fs.Load(ctx, name)
		if err != nil || m.Actuation.Pending != nil {
			continue
		}
		last := m.LastEval
		if m.Since.After(last) {
			last = m.Since
		}
		if last.IsZero() || now.Sub(last) <= c.Config.Defaults.ForgetAfter {
			continue
		}
		fs.Forget(name)
		forgot = append(forgot, name)
		c.logger().Info("forgot the memory of a resource no selector has found since", "target", name,
			"last_evaluated", last.UTC().Format(time.RFC3339), "forget_after", c.Config.Defaults.ForgetAfter.String())
	}
	return forgot
}
