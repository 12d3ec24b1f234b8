package policy

import (
	"math"
	"slices"
	"time"
)

// Step limits a change by a fraction of the current value and by absolute
// units. A zero field sets no limit; when both are set the tighter wins.
type Step struct {
	Pct   float64 `json:"pct,omitempty"`   // 0.5 is 50%
	Units float64 `json:"units,omitempty"` // absolute units
}

// limit is the largest change Step allows from current, or +Inf.
func (s Step) limit(current float64) float64 {
	l := math.Inf(1)
	if s.Pct > 0 {
		l = s.Pct * math.Abs(current)
	}
	if s.Units > 0 && s.Units < l {
		l = s.Units
	}
	return l
}

// BackPressure is a guard signal that describes downstream health. Above
// Warn no increase is allowed; above Critical the limit is cut by Cut
// (multiplicative decrease), cooldowns notwithstanding.
type BackPressure struct {
	Signal   string  `json:"signal"`
	Warn     float64 `json:"warn"`
	Critical float64 `json:"critical"`
	Cut      float64 `json:"cut"` // 0.3 cuts 30%
	// Memory is how long the level of the last cut is remembered: until
	// then increases may reach 90% of it at once, and go beyond only by
	// Probe of it per evaluation. 0 remembers nothing.
	Memory time.Duration `json:"memory"`
}

// Probe is the additive step, as a fraction of the remembered congestion
// level, by which a limit may rise above 90% of that level while it is
// remembered.
const Probe = 0.05

// Guards damp and bound every proposal, whatever policy made it.
type Guards struct {
	StepUp, StepDown         Step
	CooldownUp, CooldownDown time.Duration
	Stabilization            time.Duration
	// StabilizationMax, when above Stabilization, makes the window adapt
	// to flapping: a decrease undone by an increase within the window was
	// premature, so the window doubles (up to StabilizationMax); a
	// decrease that held for two windows or more halves it back. A load
	// that bursts every 15 minutes thus stops releasing capacity it will
	// need again, without holding capacity longer after a one-off peak.
	StabilizationMax time.Duration
	DeadBand         Step // changes smaller than this are ignored
	// MinDecrease holds a decrease that the stabilization window shrank
	// below this fraction of the current value: it would spend an API
	// call, and count as a reversal when the load turns, for a saving
	// inside the policy's own noise band. The autotuner policy sets it to
	// its band.
	MinDecrease float64
	// Resolution is the quantum of the knob: 1 for concurrency and
	// capacity units, 0.01 for an API Gateway rate. 0 means continuous.
	Resolution float64
	// AllowZero lets the limit reach 0. A Lambda reservation of 0 stops the
	// function, so this is off unless a policy says otherwise.
	AllowZero bool
	// AlarmBypassesCooldown lets an alarm in ALARM skip the up cooldown.
	AlarmBypassesCooldown bool
	BackPressure          []BackPressure
	// DecreaseReserve is how many of the day's free DynamoDB decreases are
	// kept for back-pressure cuts within the hour after a decrease, when
	// only a free one could be spent. An ordinary decrease an hour or more
	// after the last may still use a free slot; holding the reserve all
	// day would leave a quiet table unable to come down after 3 decreases.
	DecreaseReserve int
	// MinSaving is the smallest decrease, as a fraction of the current
	// value, that is worth one of DynamoDB's scarce decreases.
	MinSaving float64
	// WeighDecreases keeps a table's last decrease before the hourly
	// spacing for the deeper cut the stabilization window allows soon,
	// when that saves more over the hour (weighDecrease).
	WeighDecreases bool
}

// chain runs the guards over a proposal. It is the single place where
// bounds, damping and service rules are enforced, so no policy can skip
// them.
type chain struct {
	in  *Input
	mem *Memory
	g   *Guards
	d   *Decision
	v   float64
	cut bool // a back-pressure cut is in force: it may spend reserved decreases
	// stabilized: the stabilization window raised a decrease.
	stabilized bool
	lo         float64
	hi         float64
	sat        bool // a guard limited the output: freeze the integrator
	hold       bool // a guard held the value at current

	window      WindowMode // what the stabilization window records
	windowValue float64
	// evidence is the value measured evidence supports (Proposal.Evidence):
	// the up step cap does not hold an increase below it.
	evidence float64
}

func (c *chain) set(guard, rule string, to, param float64, until time.Time, signal string) {
	if to == c.v {
		return
	}
	c.d.record(GuardStep{Guard: guard, From: c.v, To: to, Rule: rule, Param: param, Until: until, Signal: signal})
	c.v = to
}

// effectiveBounds merges the target's bounds with the service's rules.
func (c *chain) effectiveBounds() {
	c.lo, c.hi = c.in.Min, c.in.Max
	if f := c.in.Constraints.Floor; f > c.lo {
		c.lo = f
	}
	if !c.g.AllowZero && c.lo < c.minPositive() {
		c.lo = c.minPositive()
	}
	if ce := c.in.Constraints.Ceiling; ce > 0 && ce < c.hi {
		c.hi = ce
	}
	if r := c.g.Resolution; r > 0 {
		c.lo = quantize(c.lo, r, true)
		c.hi = quantize(c.hi, r, false)
	}
	if c.hi < c.lo { // a ceiling below the floor: the service leaves no room to move up
		c.hi = c.lo
	}
}

// quantize puts v on the grid of resolution r, up (towards more capacity)
// or down. Float noise is tolerated (10.000000000000002 is 10, not 11), and
// a grid point is computed as n/(1/r) when 1/r is whole, so 1230 steps of
// 0.01 give exactly 12.3, never 12.300000000000001 above a max of 12.3.
func quantize(v, r float64, up bool) float64 {
	if r <= 0 || !finite(v) {
		return v
	}
	k := v / r
	tol := 1e-9 * math.Max(1, math.Abs(k))
	var n float64
	if up {
		n = math.Ceil(k - tol)
	} else {
		n = math.Floor(k + tol)
	}
	out := n * r
	if inv := 1 / r; math.Abs(inv-math.Round(inv)) < 1e-9*inv && inv >= 1 {
		out = n / math.Round(inv)
	}
	if !finite(out) {
		return v
	}
	return out
}

func (c *chain) minPositive() float64 {
	if c.g.Resolution > 0 {
		return c.g.Resolution
	}
	return math.SmallestNonzeroFloat64
}

func (c *chain) bounds(rule string) {
	switch {
	case c.v > c.hi:
		rule2 := rule + ": max"
		if ce := c.in.Constraints.Ceiling; ce > 0 && ce < c.in.Max {
			rule2 = rule + ": service ceiling"
			if why := c.in.Constraints.CeilingRule; why != "" {
				rule2 += " (" + why + ")"
			}
		}
		c.set(GuardBounds, rule2, c.hi, c.hi, time.Time{}, "")
		c.sat = true
	case c.v < c.lo:
		c.set(GuardBounds, rule+": min", c.lo, c.lo, time.Time{}, "")
		c.sat = true
	}
}

// stabilization follows the highest recommendation over the window when
// scaling down, so that one quiet minute does not release capacity.
func (c *chain) stabilization() {
	w := c.g.window(c.mem)
	if w <= 0 {
		return
	}
	win := c.mem.Window
	switch c.window {
	case WindowProposal:
		win = pushWindow(win, c.in.Now, w, c.v)
	case WindowRecommend:
		win = pushWindow(win, c.in.Now, w, c.windowValue)
	case WindowNone:
		win = expireWindow(win, c.in.Now, w)
	}
	c.mem.Window = win
	if c.v >= c.in.Current {
		return
	}
	high := c.v
	for _, r := range win {
		if r.Value > high {
			high = r.Value
		}
	}
	if high > c.in.Current {
		high = c.in.Current
	}
	if high > c.v {
		c.stabilized = true
	}
	c.set(GuardStabilization, "highest recommendation in window (s)", high, w.Seconds(), time.Time{}, "")
}

// maxFlaps bounds the doublings of the stabilization window.
const maxFlaps = 6

// window is the stabilization window in force: the configured one,
// doubled once per premature decrease remembered, up to StabilizationMax.
func (g *Guards) window(mem *Memory) time.Duration {
	w := g.Stabilization
	if w <= 0 || g.StabilizationMax <= w {
		return w
	}
	for range min(max(mem.Flaps, 0), maxFlaps) {
		w *= 2
	}
	return min(w, g.StabilizationMax)
}

// learnFlaps updates the memory of premature decreases after a decision,
// before LastUp and LastDown move. It judges the last decrease, once: by
// the first change after it.
//   - An increase within the window undid it: it was premature, and the
//     window doubles. (Undoing a back-pressure cut is recovery, not a
//     flap.)
//   - A change two windows or more after it shows it held: the window
//     halves. A window that is holding capacity through recurring bursts
//     sees its decreases undone, never held, so it keeps its length.
func (g *Guards) learnFlaps(mem *Memory, now time.Time, action Action, cut bool) {
	if g.Stabilization <= 0 || g.StabilizationMax <= g.Stabilization {
		return
	}
	w := g.window(mem)
	judged := !mem.LastDown.IsZero() && mem.LastDown.After(mem.LastUp) && now.After(mem.LastDown)
	since := now.Sub(mem.LastDown)
	switch {
	case !judged:
	case action == Up && since < w && !mem.LastDownCut:
		if w < g.StabilizationMax {
			mem.Flaps = min(mem.Flaps+1, maxFlaps)
		}
	case since >= 2*w && mem.Flaps > 0:
		mem.Flaps--
	}
	if action == Down {
		mem.LastDownCut = cut
	}
}

// pushWindow drops the entries older than span and appends (now, v). It
// never writes over an entry the caller's slice can see: expired entries
// leave by re-slicing the head, and the new one goes after the last, as
// append does. So Decide stays free of allocations in the steady state and
// the Memory it was given keeps its meaning.
func pushWindow(w []Recommendation, now time.Time, span time.Duration, v float64) []Recommendation {
	return append(expireWindow(w, now, span), Recommendation{At: now, Value: v})
}

// expireWindow drops the entries older than span, without writing over
// any entry the caller's slice can see.
func expireWindow(w []Recommendation, now time.Time, span time.Duration) []Recommendation {
	k := 0
	for k < len(w) && now.Sub(w[k].At) >= span {
		k++
	}
	w = w[k:]
	for i, r := range w {
		if r.At.After(now) || i > 0 && r.At.Before(w[i-1].At) {
			// Out of order (a clock that went back, a hand-edited
			// state): rebuild a fresh, ordered window instead.
			fresh := make([]Recommendation, 0, len(w)+1)
			for _, r := range w {
				if now.Sub(r.At) < span && !r.At.After(now) {
					fresh = append(fresh, r)
				}
			}
			slices.SortStableFunc(fresh, func(a, b Recommendation) int { return a.At.Compare(b.At) })
			w = fresh
			break
		}
	}
	return w
}

// steps caps the change. A cap never forbids one quantum of the knob:
// otherwise 20% of a limit of 4 would round back to 4 and a small limit
// could never come down.
func (c *chain) steps() {
	cur := c.in.Current
	switch {
	case c.v > cur:
		l := c.stepLimit(c.g.StepUp, cur)
		if c.evidence > cur {
			l = math.Max(l, c.evidence-cur) // caps damp noise, not evidence
		}
		if c.v-cur > l {
			c.set(GuardStepUp, "largest step up", cur+l, l, time.Time{}, "")
			c.sat = true
		}
	case c.v < cur:
		if l := c.stepLimit(c.g.StepDown, cur); cur-c.v > l {
			c.set(GuardStepDown, "largest step down", cur-l, l, time.Time{}, "")
			c.sat = true
			c.stabilized = false // the cap, not the window, sizes this step
		}
	}
}

func (c *chain) stepLimit(s Step, cur float64) float64 {
	l := s.limit(cur)
	if cur <= 0 && l <= 0 {
		// From zero a percentage allows nothing; only Units can cap it.
		l = math.Inf(1)
		if s.Units > 0 {
			l = s.Units
		}
	}
	if q := c.g.Resolution; q > 0 && l < q {
		l = q
	}
	return l
}

func (c *chain) cooldowns() {
	cur, now := c.in.Current, c.in.Now
	switch {
	case c.v > cur && c.g.CooldownUp > 0 && !c.mem.LastUp.IsZero():
		if c.in.Alarm && c.g.AlarmBypassesCooldown {
			return
		}
		if until := c.mem.LastUp.Add(c.g.CooldownUp); now.Before(until) {
			c.set(GuardCooldownUp, "up cooldown (s)", cur, c.g.CooldownUp.Seconds(), until, "")
			c.hold = true
		}
	case c.v < cur && c.g.CooldownDown > 0:
		last := c.mem.LastDown
		if c.mem.LastUp.After(last) {
			last = c.mem.LastUp // a decrease also waits after the latest increase
		}
		if last.IsZero() {
			return
		}
		if until := last.Add(c.g.CooldownDown); now.Before(until) {
			c.set(GuardCooldownDown, "down cooldown (s)", cur, c.g.CooldownDown.Seconds(), until, "")
			c.hold = true
		}
	}
}

func (c *chain) deadBand() {
	cur := c.in.Current
	if c.v == cur {
		return
	}
	th := 0.0
	if c.g.DeadBand.Pct > 0 {
		th = c.g.DeadBand.Pct * math.Abs(cur)
	}
	if c.g.DeadBand.Units > th {
		th = c.g.DeadBand.Units
	}
	if math.Abs(c.v-cur) < th {
		c.set(GuardDeadBand, "change smaller than dead band", cur, th, time.Time{}, "")
		c.hold = true
	}
}

// minDecrease holds a decrease that the stabilization window shrank to
// less than MinDecrease of the current value, as it stands after
// rounding: the data asked for more, but the window allows only a sliver
// whose saving lies inside the policy's own band. A step the policy or a
// step cap made small on purpose is left alone (or a cautious
// configuration could never come down), and so are a back-pressure cut,
// which protects what lies downstream, and a way back under max.
func (c *chain) minDecrease() {
	cur := c.in.Current
	if c.v >= cur || !c.stabilized || c.cut || cur > c.hi || c.g.MinDecrease <= 0 {
		return
	}
	if cur-c.v < c.g.MinDecrease*cur {
		c.set(GuardDeadBand, "decrease inside the band", cur, c.g.MinDecrease, time.Time{}, "")
		c.hold = true
	}
}

// backPressure vetoes increases while downstream is hurting and cuts the
// limit multiplicatively when it is hurting badly. An unknown downstream
// (missing guard data) vetoes increases too: it is not known to be healthy.
func (c *chain) backPressure() {
	cur := c.in.Current
	c.congestionCeiling()
	for _, bp := range c.g.BackPressure {
		s := c.in.Signals[bp.Signal]
		if !s.Present() {
			if c.v > cur {
				c.set(GuardBackPressure, "no increase: downstream health unknown (missing data)", cur, 0, time.Time{}, bp.Signal)
				c.hold = true
			}
			continue
		}
		switch {
		case bp.Critical > 0 && s.Value >= bp.Critical && !s.At.IsZero() && s.At.Before(c.mem.LastDown):
			// The datapoint describes the limit before the last decrease:
			// wait for one that shows the effect of that cut, but allow
			// no increase meanwhile.
			if c.v > cur {
				c.set(GuardBackPressure, "no increase: downstream critical, waiting for the last cut to show", cur, s.Value, time.Time{}, bp.Signal)
				c.hold = true
			}
		case bp.Critical > 0 && s.Value >= bp.Critical:
			to := math.Min(c.v, cur*(1-bp.Cut))
			if to < c.v {
				c.set(GuardBackPressure, "multiplicative cut: downstream critical", to, s.Value, time.Time{}, bp.Signal)
				c.cut = true
				c.hold = false
				if bp.Memory > 0 {
					c.mem.Congestion, c.mem.CongestionAt, c.mem.ProbeStep = cur, c.in.Now, Probe
				}
			}
		case s.Value >= bp.Warn && c.v > cur:
			c.set(GuardBackPressure, "no increase: downstream above warn", cur, s.Value, time.Time{}, bp.Signal)
			c.hold = true
		}
	}
}

// noDecreaseWithoutData holds a decrease that only the bounds asked for
// while the policy had no data: a limit found above max (a function with
// no reservation reports the account's whole unreserved pool) is brought
// down once there is data to size it by, never blind. A back-pressure cut
// is data, and stands.
func (c *chain) noDecreaseWithoutData(reason string) {
	if c.v >= c.in.Current || c.cut || (reason != ReasonMissing && reason != ReasonNoSignals) {
		return
	}
	c.set(GuardMissingData, "no decrease on missing data, not even to a bound", c.in.Current, 0, time.Time{}, "")
	c.hold = true
}

// congestionCeiling keeps an increase below the level at which downstream
// last had to be protected: up to 90% of it at once, beyond that by Probe
// of it per evaluation, for as long as the guards remember it.
func (c *chain) congestionCeiling() {
	m := c.mem
	if m.Congestion <= 0 || c.v <= c.in.Current {
		return
	}
	memory := time.Duration(0)
	for _, bp := range c.g.BackPressure {
		memory = max(memory, bp.Memory)
	}
	if memory <= 0 || c.in.Now.Sub(m.CongestionAt) >= memory {
		return
	}
	step := max(m.ProbeStep, Probe)
	limit := math.Max(0.9*m.Congestion, c.in.Current+step*m.Congestion)
	if c.v > limit {
		c.set(GuardBackPressure, "approach the level that overloaded downstream slowly", math.Max(limit, c.in.Current), m.Congestion, m.CongestionAt.Add(memory), "")
		c.sat = true
	}
	// Each evaluation that wants more while every guard signal reads
	// healthy doubles the next probe; one that does not resets it.
	if c.downstreamHealthy() {
		m.ProbeStep = math.Min(2*step, 1)
	} else {
		m.ProbeStep = Probe
	}
}

// downstreamHealthy reports whether every back-pressure signal is present
// and below its warn level.
func (c *chain) downstreamHealthy() bool {
	for _, bp := range c.g.BackPressure {
		if s := c.in.Signals[bp.Signal]; !s.Present() || s.Value >= bp.Warn {
			return false
		}
	}
	return len(c.g.BackPressure) > 0
}

// rounding moves the value onto the knob's quantum, always towards more
// capacity: rounding never causes a throttle.
func (c *chain) rounding() {
	r := c.g.Resolution
	if r <= 0 {
		return
	}
	c.set(GuardRounding, "round up to resolution", quantize(c.v, r, true), r, time.Time{}, "")
}

// service enforces what the service itself would refuse or punish: a
// pending update, a call quota, and the DynamoDB decrease quota with its
// pacing.
func (c *chain) service() {
	cur, now, k := c.in.Current, c.in.Now, &c.in.Constraints
	if c.v == cur {
		return
	}
	if k.Blocked != "" {
		c.set(GuardService, "blocked: "+k.Blocked, cur, 0, time.Time{}, "")
		c.hold, c.sat = true, true
		return
	}
	if !k.NotBefore.IsZero() && now.Before(k.NotBefore) {
		c.set(GuardService, "service allows no change yet", cur, 0, k.NotBefore, "")
		c.hold, c.sat = true, true
		return
	}
	if c.v >= cur || !k.Decreases.Enforced {
		return
	}
	q := k.Decreases
	if ok, next := q.Allowed(now); !ok {
		c.set(GuardService, "decrease quota spent", cur, float64(q.Remaining(now)), next, "")
		c.hold = true
		return
	}
	if c.cut {
		return // protecting downstream is what the reserve is for
	}
	if cur > c.hi {
		return // back within bounds: the bound is not a saving to weigh
	}
	if c.g.MinSaving > 0 && (cur-c.v) < c.g.MinSaving*cur {
		c.set(GuardService, "decrease too small to spend a quota slot", cur, c.g.MinSaving, time.Time{}, "")
		c.hold = true
		return
	}
	// Within the hour of the last decrease only a free slot can be used;
	// keep DecreaseReserve of them for back-pressure cuts.
	if q.used(now) > 0 && now.Sub(q.Last) < DecreaseSpacing && q.FreeLeft(now) <= c.g.DecreaseReserve {
		c.set(GuardService, "decrease slot held in reserve", cur, float64(c.g.DecreaseReserve), q.Last.Add(DecreaseSpacing), "")
		c.hold = true
	}
}

// finalBounds re-applies the bounds last, so no guard can leave them, and
// keeps a Lambda reservation off 0 unless zero is allowed.
func (c *chain) finalBounds() {
	c.bounds("final")
	if !c.g.AllowZero && c.v <= 0 {
		c.set(GuardNoZero, "zero is not allowed", c.lo, 0, time.Time{}, "")
	}
}
