package sim

import "math"

// API Gateway as documented:
//
//   - Throttles are token buckets (rate, burst), applied per client API
//     key by a usage plan, per method by a stage's default throttle, then
//     for the whole account (10,000 requests/s, burst 5,000)
//     (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html).
//   - "Per-client throttling limits are applied to clients that use API
//     keys associated with your usage plan": each key gets the plan's
//     rate and burst, not a share of them
//     (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-api-usage-plans.html).
//   - 4XXError counts every client error, not only 429s
//     (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-metrics-and-dimensions.html):
//     a scenario gives a background rate of other 4xx.
//
// A client error is the client's fault: it is neither offered to the
// system nor lost by it.
const (
	accountAPIRate  = maxAPIRate
	accountAPIBurst = maxAPIBurst
)

// apiGateway is a stage with its methods, a usage plan with its keys, and
// the account's throttle.
type apiGateway struct {
	keys, methods       []tokenBucket
	keyShare, methShare []float64
	account             tokenBucket
	plan, stage         bool // which throttles the scenario sets
	clientErr           float64
}

func newAPIGateway(a *API) *apiGateway {
	// The account's bucket refills continuously, so within one second it
	// passes up to its rate although its burst is smaller: at 1-second
	// resolution that is a bucket of max(rate, burst).
	acct := float64(max(accountAPIRate, accountAPIBurst))
	g := &apiGateway{account: tokenBucket{rate: accountAPIRate, burst: acct, tokens: acct}, clientErr: a.ClientErrorRate}
	g.plan = a.UsagePlan != ""
	g.stage = !g.plan || a.StageRate > 0
	planRate, planBurst := a.Rate, a.Burst
	stageRate, stageBurst := a.StageRate, a.StageBurst
	if !g.plan {
		stageRate, stageBurst = a.Rate, a.Burst // the API's one throttle is the stage's
	}
	for _, k := range shares(a.Keys) {
		g.keys = append(g.keys, tokenBucket{rate: planRate, burst: planBurst, tokens: planBurst})
		g.keyShare = append(g.keyShare, k)
	}
	if g.stage {
		for _, m := range shares(a.Methods) {
			g.methods = append(g.methods, tokenBucket{rate: stageRate, burst: stageBurst, tokens: stageBurst})
			g.methShare = append(g.methShare, m)
		}
	}
	if !g.plan {
		g.keys = nil
	}
	return g
}

// shares is the traffic shares of a list, one share of 1 when empty.
func shares(list []Share) []float64 {
	if len(list) == 0 {
		return []float64{1}
	}
	out := make([]float64, len(list))
	total := 0.0
	for _, s := range list {
		total += s.Share
	}
	for i, s := range list {
		out[i] = s.Share / total
	}
	return out
}

// admit takes n valid requests and returns those it passes on and those
// throttled (429).
func (g *apiGateway) admit(n float64) (ok, throttled float64) {
	in := n
	ok = in
	if len(g.keys) > 0 {
		ok = 0
		for i := range g.keys {
			ok += g.keys[i].admit(in * g.keyShare[i])
		}
	}
	if len(g.methods) > 0 {
		m := ok
		ok = 0
		for i := range g.methods {
			ok += g.methods[i].admit(m * g.methShare[i])
		}
	}
	ok = g.account.admit(ok)
	return ok, in - ok
}

// set changes every bucket of one throttle: the plan's (each key) or the
// stage's (each method).
func (g *apiGateway) set(plan, burst bool, v float64) {
	bs := g.methods
	if plan {
		bs = g.keys
	}
	for i := range bs {
		if burst {
			bs[i].burst = v
			bs[i].tokens = min(bs[i].tokens, v)
		} else {
			bs[i].rate = v
		}
	}
}

// get reads one throttle (the buckets of a throttle share their setting).
func (g *apiGateway) get(plan, burst bool) float64 {
	bs := g.methods
	if plan {
		bs = g.keys
	}
	if len(bs) == 0 {
		return math.NaN()
	}
	if burst {
		return bs[0].burst
	}
	return bs[0].rate
}

// tokenBucket is API Gateway's throttle: Rate tokens per second into a
// bucket of Burst. A request takes a token or gets a 429.
type tokenBucket struct {
	rate, burst, tokens float64
}

// admit lets through as many of n requests as there are whole tokens, then
// refills for the next second. From a full bucket under unlimited demand
// it admits burst + rate×t requests in seconds 0..t.
func (b *tokenBucket) admit(n float64) float64 {
	ok := min(n, math.Floor(b.tokens))
	b.tokens -= ok
	b.tokens = min(b.burst, b.tokens+b.rate)
	return ok
}

// rate is the throttle that binds first, for the timeline: the plan's,
// else the stage's.
func (g *apiGateway) rate() float64 {
	if g.plan {
		return g.get(true, false)
	}
	return g.get(false, false)
}
