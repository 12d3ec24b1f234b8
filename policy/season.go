package policy

import (
	"math"
	"slices"
	"time"
)

// Predictive pre-scaling. Load that recurs (an hourly cron job, a daily
// peak) is learned per target as a compact seasonal profile of the
// capacity it needed, and the limit is raised ahead of it by the lead
// time: the age of the newest datapoint (the metric delay and period)
// plus the time a change takes to act. It follows AWS predictive scaling,
// which forecasts from up to 14 days of history (at least 24 hours), adds
// capacity ahead of the forecast and never scales in on a forecast
// (https://docs.aws.amazon.com/goto/WebAPI/autoscaling-2011-01-01/GetPredictiveScalingForecast,
// https://docs.aws.amazon.com/autoscaling/application/userguide/aas-predictive-scaling-how-it-works.html),
// and KEDA's predictive scaler, which looks ahead by a horizon near the
// application's cool-down over 7–14 days of history
// (https://keda.sh/docs/latest/scalers/predictkube).
//
// A forecast only ever raises a limit or holds a decrease for the lead
// time; it never lowers one. A pattern is forecast only while it recurred
// in at least half of the cycles remembered, so one that stops is
// forgotten once it is missing from more than half of them.
const (
	// HourSlots one-minute slots of the hour, remembered for HourCycles
	// hours: top-of-hour and cron bursts.
	HourSlots  = 60
	HourCycles = 6
	// DaySlots quarter-hour slots of the day, remembered for DayCycles
	// days: daily peaks.
	DaySlots  = 96
	DayCycles = 7
	// minCycles is how many cycles must have been seen before a season
	// forecasts anything.
	minCycles = 3
	// ActuationLead is the time a change is allowed to take effect
	// (a DynamoDB table stays UPDATING for minutes), added to the age of
	// the newest datapoint to make the lead time.
	ActuationLead = 3 * time.Minute
	// DayJump: the day season forecasts only load at least this many
	// times the present need.
	DayJump = 2.0
	// idle is what a slot records for a datapoint that needed nothing.
	idle = 1e-30
	// maxLead bounds the lead time whatever the data's age.
	maxLead = 20 * time.Minute
)

// Profile is a target's seasonal memory: the highest capacity needed in
// each slot of the last few hours and days, in the limit's units. It is a
// plain value (fixed arrays), so a Memory copies it whole and Decide never
// writes into the caller's.
type Profile struct {
	Hour HourSeason `json:"hour,omitzero"`
	Day  DaySeason  `json:"day,omitzero"`
}

// HourSeason remembers the last HourCycles hours, minute by minute.
type HourSeason struct {
	Start time.Time                      `json:"start,omitzero"` // the hour Peaks[0] records
	Seen  [HourCycles]bool               `json:"seen"`
	Peaks [HourCycles][HourSlots]float32 `json:"peaks"`
	// Level and Fence summarize each cycle (see level), kept as the
	// cycle is recorded so a forecast need not sort every evaluation.
	Level [HourCycles]float32 `json:"level"`
	Fence [HourCycles]float32 `json:"fence"`
}

// DaySeason remembers the last DayCycles days, quarter-hour by quarter-hour.
type DaySeason struct {
	Start time.Time                    `json:"start,omitzero"` // the day Peaks[0] records
	Seen  [DayCycles]bool              `json:"seen"`
	Peaks [DayCycles][DaySlots]float32 `json:"peaks"`
	Level [DayCycles]float32           `json:"level"`
	Fence [DayCycles]float32           `json:"fence"`
}

// season is the common view of the two seasons: rows of slots, newest
// row first.
type season struct {
	start  *time.Time
	seen   []bool
	level  []float32
	fence  []float32
	rows   [max(HourCycles, DayCycles)][]float32 // the first n are used
	n      int
	length time.Duration
	// relative: a slot is read as its excess over its cycle's level (the
	// median of its slots), and forecast as that excess over the newest
	// level. An hourly burst is a shape within the hour; a load that
	// changes from hour to hour (a daily wave) is not hourly.
	relative bool
}

func (h *HourSeason) view() season {
	s := season{start: &h.Start, seen: h.Seen[:], level: h.Level[:], fence: h.Fence[:], n: HourCycles, length: time.Hour, relative: true}
	for i := range s.n {
		s.rows[i] = h.Peaks[i][:]
	}
	return s
}

func (d *DaySeason) view() season {
	s := season{start: &d.Start, seen: d.Seen[:], level: d.Level[:], fence: d.Fence[:], n: DayCycles, length: 24 * time.Hour, relative: true}
	for i := range s.n {
		s.rows[i] = d.Peaks[i][:]
	}
	return s
}

func (s *season) slot() time.Duration { return s.length / time.Duration(len(s.rows[0])) }

// record stores the capacity v needed in the period that began at at.
func (s *season) record(at time.Time, v float64) {
	if at.IsZero() || !finite(v) || v < 0 {
		return
	}
	// A slot holds 0 until a datapoint fell in it: an idle minute is
	// recorded as the smallest positive value, so it counts as seen
	// without a burst, while a minute before the data began counts not
	// at all.
	v = max(v, idle)
	cycle := at.UTC().Truncate(s.length)
	if s.start.IsZero() || cycle.After(*s.start) {
		s.shift(cycle)
	}
	back := int(s.start.Sub(cycle) / s.length)
	if back < 0 || back >= s.n {
		return // older than the profile remembers
	}
	i := int(at.Sub(cycle) / s.slot())
	row := s.rows[back]
	if nv := max(row[i], float32(math.Min(v, math.MaxFloat32))); nv != row[i] || !s.seen[back] {
		row[i] = nv
		l, f := level(row)
		s.level[back], s.fence[back] = float32(l), float32(f)
	}
	s.seen[back] = true
}

// shift starts the cycle at cycle, moving the rows back and forgetting
// the oldest.
func (s *season) shift(cycle time.Time) {
	n := s.n
	k := n
	if !s.start.IsZero() {
		k = min(int(cycle.Sub(*s.start)/s.length), n)
	}
	for i := n - 1; i >= 0; i-- {
		if i >= k {
			copy(s.rows[i], s.rows[i-k])
			s.seen[i], s.level[i], s.fence[i] = s.seen[i-k], s.level[i-k], s.fence[i-k]
		} else {
			clear(s.rows[i])
			s.seen[i], s.level[i], s.fence[i] = false, 0, 0
		}
	}
	*s.start = cycle
}

// forecast is the highest capacity the season expects in [from, to]: for
// each slot, the value it reached in at least half of the cycles seen,
// among the cycles in which that slot is already past (known is the
// newest datapoint). It is 0 until minCycles cycles have been seen.
func (s *season) forecast(from, to, known time.Time) float64 {
	if s.start.IsZero() || s.cycles() < minCycles {
		return 0
	}
	best := 0.0
	var vals [max(HourCycles, DayCycles)]float32
	now := 0.0 // the level forecasts add an excess to (relative seasons)
	if s.relative {
		if now = float64(s.level[0]); now <= 0 && s.filled(0) < len(s.rows[0])/4 {
			now = float64(s.level[1]) // too early in the cycle to say
		}
		// The excess goes on top of the level the load is at now, never
		// above it: a cycle's median remembers an incident (a backlog
		// drained after a brownout) for the rest of the cycle, and adding
		// a burst to it would raise the limit for a load that has gone.
		// One slot, not a span: the minutes before the newest may still
		// be the incident's tail.
		if r := s.recent(known); r > 0 {
			now = math.Min(now, r)
		}
	}
	for t := from.UTC().Truncate(s.slot()); !t.After(to); t = t.Add(s.slot()) {
		off := t.Sub(t.Truncate(s.length))
		i := int(off / s.slot())
		n := 0
		for c := range s.n {
			at := s.start.Add(-time.Duration(c) * s.length).Add(off)
			if !s.seen[c] || at.Add(s.slot()).After(known) || at.After(t) {
				continue
			}
			v := s.near(c, i)
			if v <= 0 {
				continue // no datapoint fell in this slot
			}
			if s.relative {
				// Only an outlier of its cycle (beyond Tukey's upper
				// fence) is a burst; the rest is the level's own wobble.
				if v = max(v-s.level[c], 0); v <= s.fence[c] {
					v = 0
				}
			}
			vals[n] = v
			n++
		}
		if n < minCycles {
			continue
		}
		v := vals[:n]
		slices.Sort(v)
		// The value reached in at least half of them: a pattern seen in
		// fewer is not recurring (or has stopped) and is not forecast.
		best = math.Max(best, float64(v[n/2])+now)
	}
	return best
}

// recent is the capacity recorded in the slot of the newest datapoint
// (known): what the load needs now. It is 0 when that slot holds nothing.
func (s *season) recent(known time.Time) float64 {
	if known.IsZero() {
		return 0
	}
	t := known.UTC()
	cycle := t.Truncate(s.length)
	back := int(s.start.Sub(cycle) / s.length)
	if cycle.After(*s.start) || back >= s.n {
		return 0
	}
	return float64(s.rows[back][int(t.Sub(cycle)/s.slot())])
}

// near is the highest value cycle c recorded in slot i or the slots
// beside it. A datapoint is recorded at the period of the newest
// datapoint of the signal that drove the decision, and CloudWatch
// publishes each metric late by a delay that varies from minute to
// minute, so a one-minute burst lands one slot early or late in some
// cycles: it is still the same burst.
func (s *season) near(c, i int) float32 {
	row := s.rows[c]
	v := row[i]
	if i > 0 {
		v = max(v, row[i-1])
	}
	if i+1 < len(row) {
		v = max(v, row[i+1])
	}
	return v
}

// cycles is how many of the cycles remembered have been seen.
func (s *season) cycles() int {
	n := 0
	for _, b := range s.seen[:s.n] {
		if b {
			n++
		}
	}
	return n
}

// filled is how many slots of row c recorded a value.
func (s *season) filled(c int) int {
	n := 0
	for _, v := range s.rows[c] {
		if v > 0 {
			n++
		}
	}
	return n
}

// level is the median of the slots a cycle recorded, and fence how far
// above it Tukey's upper fence lies (Q3 + 1.5·IQR − median): a slot
// beyond it is an outlier of its cycle. A cycle that recorded in fewer
// than a quarter of its slots (an idle function woken by a cron job) has
// level and fence 0, and its bursts are all excess.
func level(row []float32) (level, fence float64) {
	var buf [max(HourSlots, DaySlots)]float32
	n := 0
	for _, v := range row {
		if v > 0 {
			buf[n] = v
			n++
		}
	}
	if n < len(row)/4 {
		return 0, 0
	}
	v := buf[:n]
	slices.Sort(v)
	q1, med, q3 := float64(v[n/4]), float64(v[n/2]), float64(v[3*n/4])
	return med, q3 + 1.5*(q3-q1) - med
}

// learn records the capacity the newest datapoint needed.
func (p *Profile) learn(at time.Time, need float64) {
	h, d := p.Hour.view(), p.Day.view()
	h.record(at, need)
	d.record(at, need)
}

// expect is the capacity the hour and the day seasons expect within
// [from, to].
func (p *Profile) expect(from, to, known time.Time) (hour, day float64) {
	h, d := p.Hour.view(), p.Day.view()
	return h.forecast(from, to, known), d.forecast(from, to, known)
}

// leadTime is how far ahead the forecast looks at now: the age of the
// newest datapoint (metric delay and period), plus ActuationLead.
func leadTime(now, newest time.Time) time.Duration {
	age := time.Minute
	if !newest.IsZero() && now.After(newest) {
		age = now.Sub(newest)
	}
	return min(age+ActuationLead, maxLead)
}

// preScale is the forecast stage: it learns the capacity the newest
// datapoint needed, then raises the proposal to what the profile expects
// within the lead time, and holds a decrease that would go below it. A
// forecast never lowers a limit.
func (a *Autotuner) preScale(in *Input, mem *Memory, prop *Proposal) {
	if !a.P.Forecast {
		return
	}
	if prop.Window == WindowRecommend && !in.Alarm {
		// Copy on write: the caller's Memory may share the profile.
		p := copyProfile(mem.Profile)
		p.learn(mem.LastSample, prop.WindowValue)
		mem.Profile = p
	}
	if mem.Profile == nil {
		return
	}
	lead := leadTime(in.Now, mem.LastSample)
	fh, fd := mem.Profile.expect(in.Now, in.Now.Add(lead), mem.LastSample)
	if fd < DayJump*mem.LastRequired {
		// A day's slow wave is followed well enough by the feedback
		// loop; pre-scaling on it holds each quarter-hour at its peak
		// for nothing. The day forecasts only a jump (a daily batch).
		fd = 0
	}
	f := math.Min(math.Max(fh, fd), in.Max)
	if f <= 0 {
		return
	}
	prop.Terms.Forecast = f
	cur := in.Current
	// A forecast is a move like any other, on one look: it must clear
	// the band in force and twice the noise, or the noise of past cycles
	// would raise it.
	band := max(a.P.Band, prop.Terms.Band, 2*prop.Terms.Band*noiseShare(prop.Terms.Noise))
	switch {
	case f > cur*(1+band) && f > prop.Value:
		prop.Value = f
		prop.Reason = Reason{Code: ReasonForecast, Value: f, Param: lead.Seconds()}
	case prop.Value < cur && fh > prop.Value:
		// Only a burst the hour expects holds a decrease: a day's
		// quarter-hour peak would hold each falling quarter at its top.
		prop.Value = math.Min(cur, fh)
		if prop.Value >= cur {
			prop.Reason = Reason{Code: ReasonForecast, Value: f, Param: lead.Seconds()}
		}
	}
}

// noiseShare is 1 when the band in force was set by a count's noise or
// the measured noise (a forecast must then clear twice it), else 0.
func noiseShare(src string) float64 {
	if src == NoisePoisson || src == NoiseMeasured {
		return 1
	}
	return 0
}
