package sim

import "math"

// Synchronous clients that retry. A client whose request is throttled
// (429) or fails (5xx) retries it after an exponential backoff, with
// jitter, up to its retry count; then it gives up and the request is
// lost. Retries add to the load the API sees, so throttles can feed
// themselves: a retry storm. The retry policy is the scenario's (AWS
// SDKs retry this way, e.g. the standard mode's exponential backoff with
// full jitter: https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html);
// by default clients do not retry.
//
// What becomes of a request: served on its first attempt; served on a
// retry (delayed); or lost when its last attempt fails.

// clientWheelSize covers the longest backoff, 15 minutes.
const clientWheelSize = 1024

// clients holds the retries waiting, by second and by how many retries
// each request has had.
type clients struct {
	retries     int
	base, limit float64 // backoff: base × 2^i, at most limit, seconds
	jitter      string
	wheel       [clientWheelSize][]float64
	cur         []float64 // this second's attempts by retries so far
	total       float64

	newLost, newDelayed float64
}

func newClients(c *Clients) *clients {
	cl := &clients{retries: c.Retries, base: c.Backoff.D().Seconds(), limit: c.MaxBackoff.D().Seconds(), jitter: c.Jitter}
	for i := range cl.wheel {
		cl.wheel[i] = make([]float64, c.Retries+1)
	}
	cl.cur = make([]float64, c.Retries+1)
	return cl
}

// attempts gathers second t's requests: the fresh ones and the retries
// due. It returns how many.
func (c *clients) attempts(t int64, fresh float64) float64 {
	slot := c.wheel[t&(clientWheelSize-1)]
	c.total = fresh
	for i, v := range slot {
		c.cur[i] = v
		c.total += v
		slot[i] = 0
	}
	c.cur[0] += fresh
	return c.total
}

// settle ends second t, in which a share of the attempts failed.
func (c *clients) settle(t int64, failedShare float64) {
	if c.total <= 0 {
		return
	}
	f := min(max(failedShare, 0), 1)
	for i, n := range c.cur {
		if n <= 0 {
			continue
		}
		c.cur[i] = 0
		if i > 0 {
			c.newDelayed += n * (1 - f)
		}
		failed := n * f
		if failed <= 0 {
			continue
		}
		if i >= c.retries {
			c.newLost += failed
			continue
		}
		c.schedule(t, i, failed)
	}
}

// schedule spreads n retries after their i-th failure over the seconds
// the backoff's jitter allows. A wait under a second lands in the next.
func (c *clients) schedule(t int64, i int, n float64) {
	b := min(c.limit, c.base*math.Pow(2, float64(i)))
	lo := 0.0
	switch c.jitter {
	case "none":
		lo = b
	case "equal":
		lo = b / 2
	}
	if b-lo < 1e-9 {
		at := t + max(1, int64(math.Ceil(b)))
		c.wheel[at&(clientWheelSize-1)][i+1] += n
		return
	}
	// Uniform on [lo, b]: the mass in each second (s−1, s].
	for s := max(1, int64(math.Floor(lo))+1); float64(s-1) < b; s++ {
		part := (min(float64(s), b) - max(float64(s-1), lo)) / (b - lo)
		if part > 0 {
			c.wheel[(t+s)&(clientWheelSize-1)][i+1] += n * part
		}
	}
}
