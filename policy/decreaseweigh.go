package policy

import (
	"math"
	"time"
)

// weighDecrease spends a table's scarce decrease where it saves most.
//
// Once a table's free decreases are spent (or the last is kept in
// reserve), a decrease now leaves the next one an hour away (DynamoDB's
// decrease quota, see quotaHold). The stabilization window may allow only
// a shallow decrease now (it still holds a recent peak), where the data
// asks for far less and the window will allow it within minutes. Spent
// now, the slot buys the shallow level for the hour; kept, it buys the
// deep one a little later. Over the hour that follows, waiting until t
// costs (current − deep) × (t − now) more while waiting and saves
// (shallow − deep) × 1h afterwards; the decrease waits for the t where
// the balance is best, if any saves. A decrease that the data alone
// sizes (no window holding it) gains nothing by waiting and goes now,
// and so does one on a table raised within the hour.
//
// Only an engine with WeighDecreases does this: a baseline spends the
// quota as it was designed to.
func (c *chain) weighDecrease() {
	cur, now := c.in.Current, c.in.Now
	q := c.in.Constraints.Decreases
	if !c.g.WeighDecreases || !q.Enforced || c.v >= cur || c.cut || cur > c.hi {
		return
	}
	if q.FreeLeft(now)-1 > c.g.DecreaseReserve {
		return // a free decrease is left after this one: the next need not wait
	}
	if !c.mem.LastUp.IsZero() && now.Sub(c.mem.LastUp) < DecreaseSpacing {
		// Raised within the hour: the load comes and goes faster than
		// the quota's spacing (a burst every hour), so its decreases come
		// as soon as the quota allows, and a slot spent later pushes every
		// later one back by as much, each time at the peak's level.
		return
	}
	w := c.g.window(c.mem)
	if w <= 0 {
		return
	}
	best, at, deep := 0.0, time.Time{}, 0.0
	for _, r := range c.mem.Window {
		t := r.At.Add(w) // the entry leaves the window then
		d := t.Sub(now)
		if d <= 0 || d >= DecreaseSpacing {
			continue
		}
		v := c.windowFloorAt(t)
		gain := (c.v-v)*DecreaseSpacing.Seconds() - (cur-v)*d.Seconds()
		if gain > best {
			best, at, deep = gain, t, v
		}
	}
	if at.IsZero() {
		return
	}
	c.set(GuardService, "decrease slot kept for the deeper cut the window allows soon", cur, deep, at, "")
	c.hold = true
}

// windowFloorAt is the lowest value a decrease could reach at t, as far
// as the stabilization window and the down step cap allow: the highest
// entry still in the window then, the data's own proposal, within the
// step cap from the current value, never above it, rounded up.
func (c *chain) windowFloorAt(t time.Time) float64 {
	cur, w := c.in.Current, c.g.window(c.mem)
	v := c.d.Proposed
	for _, r := range c.mem.Window {
		if r.At.Add(w).After(t) && r.Value > v {
			v = r.Value
		}
	}
	if l := c.stepLimit(c.g.StepDown, cur); cur-v > l {
		v = cur - l
	}
	v = math.Max(math.Min(v, cur), c.lo)
	return quantize(v, c.g.Resolution, true)
}
