package sim

import (
	"math"
)

// curve is the expected offered rate and the downstream's capacity factor
// at each simulated second. It is pure: the oracle and the static baseline
// read it without disturbing the run.
type curve struct {
	base   float64
	trace  *Trace
	tr     *TraceSpec
	diur   *Diurnal
	spikes *Spikes
	surges []Fault
	brown  []Fault
}

func newCurve(sc *Scenario, tr *Trace) *curve {
	c := &curve{base: sc.Traffic.Rate, trace: tr, tr: sc.Traffic.Trace, diur: sc.Traffic.Diurnal, spikes: sc.Traffic.Spikes}
	for _, f := range sc.Faults {
		switch f.Kind {
		case FaultSurge:
			c.surges = append(c.surges, f)
		case FaultBrownout:
			c.brown = append(c.brown, f)
		}
	}
	return c
}

// rate is the expected arrival rate (requests/s) during second t.
func (c *curve) rate(t int64) float64 {
	r := c.base
	if c.trace != nil {
		r = c.traceRate(t)
	}
	ts := float64(t)
	if d := c.diur; d != nil {
		p := d.Period.D().Seconds()
		r *= 1 + d.Amplitude*math.Cos(2*math.Pi*(ts-d.PeakAt.D().Seconds())/p)
	}
	if s := c.spikes; s != nil {
		if st := s.Start.Seconds(); t >= st {
			if (t-st)%s.Every.Seconds() < s.Width.Seconds() {
				r *= s.Factor
			}
		}
	}
	for i := range c.surges {
		r *= surgeFactor(&c.surges[i], t)
	}
	return math.Max(r, 0)
}

// surgeFactor rises linearly from 1 to Factor over Ramp, holds for For,
// and falls back over Ramp.
func surgeFactor(f *Fault, t int64) float64 {
	at, ramp, hold := f.At.Seconds(), f.Ramp.Seconds(), f.For.Seconds()
	switch {
	case t < at:
		return 1
	case t < at+ramp:
		return 1 + (f.Factor-1)*float64(t-at+1)/float64(ramp)
	case t < at+ramp+hold:
		return f.Factor
	case t < at+2*ramp+hold:
		return f.Factor - (f.Factor-1)*float64(t-at-ramp-hold+1)/float64(ramp)
	}
	return 1
}

func (c *curve) traceRate(t int64) float64 {
	n := int64(len(c.trace.Rates))
	step := c.trace.Step.Seconds()
	pos := (c.tr.Offset.D().Seconds() + float64(t)*c.tr.Compress) / step
	i := int64(pos)
	if i >= n {
		if !c.tr.Loop {
			return 0
		}
		i %= n
	}
	return c.trace.Rates[i]
}

// traceDuration is how long the trace plays, in simulated seconds.
func (c *curve) traceDuration() int64 {
	if c.trace == nil {
		return 0
	}
	total := float64(len(c.trace.Rates))*c.trace.Step.Seconds() - c.tr.Offset.D().Seconds()
	return int64(math.Max(total/c.tr.Compress, 60))
}

// capacityFactor is the share of the downstream's capacity left at t.
func (c *curve) capacityFactor(t int64) float64 {
	f := 1.0
	for i := range c.brown {
		b := &c.brown[i]
		if at := b.At.Seconds(); t >= at && t < at+b.For.Seconds() {
			f *= 1 - b.CapacityLoss
		}
	}
	return f
}

// mean is the average expected rate over [0, n).
func (c *curve) mean(n int64) float64 {
	if n <= 0 {
		return 0
	}
	s := 0.0
	for t := int64(0); t < n; t++ {
		s += c.rate(t)
	}
	return s / float64(n)
}
