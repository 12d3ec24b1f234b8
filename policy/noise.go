package policy

import (
	"math"
)

// Noise-aware triggers. A count of N independent events fluctuates by
// about √N on its own (Poisson), so a rate of 10 requests a second read
// over a minute (N = 600) moves by ±4% from one minute to the next with
// nothing changed; real traffic is often noisier than that. A move counts
// only beyond what that noise explains, so a noisy plateau neither raises
// nor lowers a limit, while throttles (which are never noise) act at once.
const (
	// NoiseK is how many standard deviations of counting noise a move
	// must exceed: at 4σ a stationary Poisson count crosses it about
	// once in 30,000 datapoints, and an increase on it needs two in a row
	// (or one beyond twice the band).
	NoiseK = 4.0
	// DispersionK is how many measured standard deviations of the
	// demand's datapoint-to-datapoint variation a move must exceed.
	DispersionK = 2.0
	// dispersionWeight is the weight of the newest datapoint in the
	// measured variance (an exponential average over about 10).
	dispersionWeight = 0.1
	// maxNoiseBand bounds the band the noise can set: beyond ±50% a
	// change is a change, however noisy the signal.
	maxNoiseBand = 0.5
)

// noiseBand sets the band in force for this datapoint: the configured one,
// widened where the load is a handful of units, where the driver is a
// count of few events, or where the demand has been measured to vary this
// much from one datapoint to the next. The audit record shows it.
func (a *Autotuner) noiseBand(mem *Memory, est *estimate, st *stage, base float64) {
	band, noise := a.P.Band, 0.0
	widen := func(b float64, src string) {
		b = math.Min(b, maxNoiseBand)
		if src != NoiseSmallLimit {
			noise = math.Max(noise, b)
		}
		if b > band {
			band, st.terms.Noise = b, src
		}
	}
	if est.driverCount <= 0 {
		// A load of a handful of units (a concurrency of 7) moves by
		// √N too. (A count says itself how many events it holds.)
		widen(1/math.Sqrt(math.Max(base*a.utilTarget(), 1)), NoiseSmallLimit)
	} else {
		n := math.Max(est.driverValue, 0) * est.driverCount
		st.terms.Count = n
		widen(NoiseK/math.Sqrt(math.Max(n, 1)), NoisePoisson)
	}
	// A datapoint is judged against the noise seen before it: its own
	// step would otherwise widen the band that judges it.
	if est.driverSP != nil && !est.driverSP.UpOnly {
		widen(DispersionK*math.Sqrt(math.Max(mem.Dispersion, 0)), NoiseMeasured)
	}
	if st.fresh && est.driverSP != nil && mem.LastRequired > 0 && st.required > 0 {
		// The relative step between successive datapoints; half its
		// square estimates the variance of one datapoint around a level
		// that holds, and a level that moves shows as one large step.
		d := (st.required - mem.LastRequired) / ((st.required + mem.LastRequired) / 2)
		mem.Dispersion = (1-dispersionWeight)*mem.Dispersion + dispersionWeight*d*d/2
	}
	st.band, st.noise = band, noise
	st.terms.Band = band
}

// upAfter is how many datapoints in a row above the band an increase
// needs. Where a count's noise or the measured noise is known, one
// datapoint is enough only beyond twice that noise band (8σ of a Poisson
// count): otherwise a second must confirm it. Only a count or the measured
// variation asks for it (at a small limit one unit is already a lot), and
// throttles and alarms are evidence, not noise: they act on the first.
func (a *Autotuner) upAfter(est *estimate, st *stage) int {
	n := max(a.P.UpAfter, 1)
	if st.noise > 0 && est.throttleDemand == 0 && st.err <= 2*st.noise {
		n = max(n, 2)
	}
	return n
}
