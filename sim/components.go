package sim

import (
	"math"
	"math/rand/v2"
)

// The components are fluid models at 1-second resolution: counts are
// float64 so that fractions carry from one second to the next instead of
// being rounded away. Each keeps its state in fixed-size fields, so the
// per-second loop allocates nothing.

// downstream is a dependency with a capacity in requests per second.
// Below it, latency follows an M/M/1-like curve of its recent load; above
// it, the excess fails and latency saturates. The load is smoothed over a
// few seconds, as a real queue smooths it, so latency does not flip from
// second to second.
type downstream struct {
	capacity float64
	latency  float64 // seconds, at low load
	load     float64 // smoothed calls per second
}

// maxLatencyFactor bounds how much slower the dependency gets.
const maxLatencyFactor = 20

// loadSmoothing is the weight of the newest second in the smoothed load.
const loadSmoothing = 0.2

// latencyAt is the latency at utilization rho.
func latencyAt(base, rho float64) float64 {
	if rho >= 1 {
		return base * maxLatencyFactor
	}
	return base * min(1/(1-min(rho, 0.95)), maxLatencyFactor)
}

// serve returns the failed calls and the latency of n calls in a second
// with the given share of capacity left.
func (d *downstream) serve(n, factor float64) (failed, latency float64) {
	c := d.capacity * factor
	failed = max(0, n-c)
	d.load += loadSmoothing * (n - d.load)
	rho := math.Inf(1)
	if c > 0 {
		rho = d.load / c
	}
	return failed, latencyAt(d.latency, rho)
}

// poissonGen draws Poisson counts: by multiplication for small means, by
// Hörmann's transformed rejection (PTRS) up to 1000, and by the normal
// approximation above, where it is indistinguishable. Each is O(1) in the
// mean, so a busy second costs what a quiet one does. PTRS's constants
// depend on the mean only; they are kept while the mean stays the same,
// as it does through every flat stretch of a scenario.
type poissonGen struct {
	r                                        *rand.Rand
	lam                                      float64
	expNeg                                   float64 // e^−lam, for multiplication
	slam, loglam, b, a, invAlpha, vr, logInv float64
}

func (g *poissonGen) draw(lam float64) float64 {
	switch {
	case lam <= 0:
		return 0
	case lam < 10:
		if lam != g.lam {
			g.lam, g.expNeg = lam, math.Exp(-lam)
		}
		k, p := 0.0, 1.0
		for {
			p *= g.r.Float64()
			if p <= g.expNeg {
				return k
			}
			k++
		}
	case lam < 1000:
		if lam != g.lam {
			g.setPTRS(lam)
		}
		return g.ptrs()
	}
	return max(0, math.Round(lam+math.Sqrt(lam)*g.r.NormFloat64()))
}

func (g *poissonGen) setPTRS(lam float64) {
	g.lam = lam
	g.slam, g.loglam = math.Sqrt(lam), math.Log(lam)
	g.b = 0.931 + 2.53*g.slam
	g.a = -0.059 + 0.02483*g.b
	g.invAlpha = 1.1239 + 1.1328/(g.b-3.4)
	g.vr = 0.9277 - 3.6224/(g.b-2)
	g.logInv = math.Log(g.invAlpha)
}

// ptrs is W. Hörmann, "The transformed rejection method for generating
// Poisson random variables" (1993), for lam ≥ 10.
func (g *poissonGen) ptrs() float64 {
	for {
		u := g.r.Float64() - 0.5
		v := g.r.Float64()
		us := 0.5 - math.Abs(u)
		k := math.Floor((2*g.a/us+g.b)*u + g.lam + 0.43)
		if us >= 0.07 && v <= g.vr {
			return k
		}
		if k < 0 || (us < 0.013 && v > us) {
			continue
		}
		lg, _ := math.Lgamma(k + 1)
		if math.Log(v)+g.logInv-math.Log(g.a/(us*us)+g.b) <= -g.lam+k*g.loglam-lg {
			return k
		}
	}
}

// durationClasses turns a distribution into nClasses durations (seconds),
// one at the middle quantile of each equal-probability class.
func durationClasses(d *DurationDist, p *DurationPercentiles) [nClasses]float64 {
	var out [nClasses]float64
	for i := range out {
		q := (float64(i) + 0.5) / nClasses
		if p != nil {
			scale := 1.0
			if d.Trace != nil && d.Trace.Scale > 0 {
				scale = d.Trace.Scale
			}
			out[i] = min(p.quantile(q)/1000*scale, 900)
			continue
		}
		med := d.Median.D().Seconds()
		sigma := 0.0
		if p99 := d.P99.D().Seconds(); p99 > med && med > 0 {
			sigma = math.Log(p99/med) / 2.3263478740408408
		}
		out[i] = min(med*math.Exp(sigma*normQuantile(q)), 900)
	}
	return out
}

// normQuantile is the standard normal quantile (Acklam's approximation,
// relative error below 1.2e-9).
func normQuantile(p float64) float64 {
	a := [6]float64{-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00}
	b := [5]float64{-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01}
	c := [6]float64{-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00}
	dd := [4]float64{7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00}
	const lo = 0.02425
	switch {
	case p < lo:
		q := math.Sqrt(-2 * math.Log(p))
		return (((((c[0]*q+c[1])*q+c[2])*q+c[3])*q+c[4])*q + c[5]) / ((((dd[0]*q+dd[1])*q+dd[2])*q+dd[3])*q + 1)
	case p <= 1-lo:
		q := p - 0.5
		r := q * q
		return (((((a[0]*r+a[1])*r+a[2])*r+a[3])*r+a[4])*r + a[5]) * q / (((((b[0]*r+b[1])*r+b[2])*r+b[3])*r+b[4])*r + 1)
	default:
		q := math.Sqrt(-2 * math.Log(1-p))
		return -(((((c[0]*q+c[1])*q+c[2])*q+c[3])*q+c[4])*q + c[5]) / ((((dd[0]*q+dd[1])*q+dd[2])*q+dd[3])*q + 1)
	}
}
