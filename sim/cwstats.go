package sim

import (
	"math"
	"slices"
)

// CloudWatch computes a statistic over the samples a metric received,
// not over seconds (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_concepts.html#Statistic):
// Lambda's Duration has one sample per invocation, DynamoDB's Consumed*
// one per request, and API Gateway's 4XXError and 5XXError one per request
// valued 0 or 1, so that their Average is an error rate
// (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-metrics-and-dimensions.html,
// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/metrics-dimensions.html,
// https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html).

// weighted is one value and how many samples had it.
type weighted struct{ v, w float64 }

// acc gathers one window of a metric.
type acc struct {
	sum, min, max, secs, samples float64
	// wsum is Σ value × samples: the total of per-second means.
	wsum float64
	// smin and smax are the smallest and largest per-sample values.
	smin, smax float64
}

func newAcc() acc {
	return acc{min: math.Inf(1), max: math.Inf(-1), smin: math.Inf(1), smax: math.Inf(-1)}
}

// statistic is one window's statistic of metric m over the seconds
// [from, to) that CloudWatch has datapoints for; ok is false when it has
// none.
func (s *Sensor) statistic(r resolvedSignal, from, to int64) (float64, bool) {
	info := &metrics[r.m]
	st := s.p.cw
	v := st.vals[r.m]
	var n []float64
	if info.shape != perSecond {
		n = st.vals[info.samples]
	}
	a := newAcc()
	pairs := s.pairs[:0]
	for t := from; t < to; t++ {
		if t == from || t%60 == 0 {
			if s.skipMinute(r.m, t/60) {
				t = (t/60+1)*60 - 1
				continue
			}
		}
		if info.every > 1 && t%info.every != 0 {
			continue
		}
		x := v[t&st.mask]
		a.sum += x
		a.min, a.max = min(a.min, x), max(a.max, x)
		a.secs++
		if n == nil {
			if r.stat == "p" {
				pairs = append(pairs, weighted{x, 1})
			}
			continue
		}
		c := n[t&st.mask]
		if c <= 0 {
			continue
		}
		a.samples += c
		a.wsum += x * c
		pairs = s.samplesOf(info.shape, x, c, &a, pairs, r.stat == "p")
	}
	s.pairs = pairs
	if a.secs == 0 || info.sparse && a.sum == 0 {
		return 0, false
	}
	if n == nil {
		return a.perSecond(r, pairs), true
	}
	if a.samples == 0 && (r.stat == "Sum" || r.stat == "SampleCount") {
		return 0, true // a metric that reports when idle, such as Consumed*: 0
	}
	return a.perSample(r, info.shape, pairs)
}

// samplesOf records the samples of one second: c samples whose values
// sum to x (or, for errors, of which x are 1).
func (s *Sensor) samplesOf(shape sampleShape, x, c float64, a *acc, pairs []weighted, keep bool) []weighted {
	switch shape {
	case perRequest:
		a.smin, a.smax = min(a.smin, x/c), max(a.smax, x/c)
		if keep {
			pairs = append(pairs, weighted{x / c, c})
		}
	case durationMs:
		// x is the second's mean duration in ms: the classes shifted by
		// the latency the second added to every invocation.
		fn := &s.p.fn
		shift := x - fn.mean*1000
		a.smin = min(a.smin, fn.classes[0]*1000+shift)
		a.smax = max(a.smax, fn.classes[nClasses-1]*1000+shift)
		if keep {
			for _, d := range fn.classes {
				pairs = append(pairs, weighted{d*1000 + shift, c / nClasses})
			}
		}
	}
	return pairs
}

func (a *acc) perSecond(r resolvedSignal, pairs []weighted) float64 {
	switch r.stat {
	case "Sum":
		return a.sum
	case "Average":
		return a.sum / a.secs
	case "Maximum":
		return a.max
	case "Minimum":
		return a.min
	case "SampleCount":
		return a.secs
	}
	return quantile(pairs, r.pct)
}

func (a *acc) perSample(r resolvedSignal, shape sampleShape, pairs []weighted) (float64, bool) {
	if a.samples == 0 {
		return 0, false
	}
	if shape == durationMs {
		a.sum = a.wsum // Duration's samples are invocations, each its own duration
	}
	switch r.stat {
	case "SampleCount":
		return a.samples, true
	case "Sum":
		return a.sum, true
	case "Average":
		return a.sum / a.samples, true
	}
	if shape == errorFlag {
		rate := a.sum / a.samples
		switch r.stat {
		case "Maximum":
			return b2f(a.sum > 0), true
		case "Minimum":
			return b2f(a.sum >= a.samples), true
		}
		return b2f(rate > 1-r.pct/100), true
	}
	switch r.stat {
	case "Maximum":
		return a.smax, true
	case "Minimum":
		return a.smin, true
	}
	return quantile(pairs, r.pct), true
}

// quantile is the pNN of weighted samples, as CloudWatch's percentile:
// the smallest value with at least p% of the samples at or below it.
func quantile(pairs []weighted, p float64) float64 {
	if len(pairs) == 0 {
		return math.NaN()
	}
	slices.SortFunc(pairs, func(a, b weighted) int {
		switch {
		case a.v < b.v:
			return -1
		case a.v > b.v:
			return 1
		}
		return 0
	})
	total := 0.0
	for _, q := range pairs {
		total += q.w
	}
	need, run := p/100*total, 0.0
	for _, q := range pairs {
		run += q.w
		if run >= need-1e-9 {
			return q.v
		}
	}
	return pairs[len(pairs)-1].v
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
