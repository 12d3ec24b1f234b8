package sim

import (
	"math"
	"math/rand/v2"

	"github.com/autotuner/autotuner/policy"
)

// List prices (us-east-1, late 2026) used for cost_usd.
const (
	PriceWCUHour     = 0.00065  // provisioned write capacity unit per hour
	PriceRCUHour     = 0.00013  // provisioned read capacity unit per hour
	PriceWriteUnitOD = 0.625e-6 // on-demand write request unit
	PriceReadUnitOD  = 0.125e-6 // on-demand read request unit
)

// knob is a limit the actuators move.
type knob int

const (
	kAPIRate knob = iota // the usage plan's throttle, each key
	kAPIBurst
	kStageRate // the stage's default method throttle, each method
	kStageBurst
	kReserved
	kESM
	kRead
	kWrite
)

// change is an actuation that takes effect at a later second.
type change struct {
	at int64
	k  knob
	v  float64
}

// plant is the whole modelled system for one run.
type plant struct {
	sc    *Scenario
	curve *curve
	arr   poissonGen

	api     *apiGateway
	q       *sqsQueue
	clients *clients    // synchronous callers that retry, when the scenario says so
	async   *asyncQueue // asynchronous invocation, when the scenario asks for it
	fn      lambdaFn
	table   *tableState
	down    *downstream

	latency float64 // the downstream's latency last second, seconds

	pending []change
	// warm is the warm-up in seconds: the plant's clock starts warm
	// seconds before the scenario's, at the first rate, and scoring
	// begins when the scenario does.
	warm int64
	cw   *store
	k    kpis
	tl   *Timeline
	acc  minuteAcc
}

func newPlant(sc *Scenario, cur *curve, durs *DurationPercentiles, horizon int64) *plant {
	tp := &sc.Topology
	p := &plant{sc: sc, curve: cur, arr: poissonGen{r: rand.New(rand.NewPCG(sc.Seed, 0x61727269766c73))}, pending: make([]change, 0, 16)}
	if a := tp.API; a != nil {
		p.api = newAPIGateway(a)
	}
	if tp.Queue != nil {
		p.q = newSQS(tp.Queue)
		p.fn.pollers = pollerStart
	}
	if sc.Clients != nil && sc.Clients.Retries > 0 {
		p.clients = newClients(sc.Clients)
	}
	l := &tp.Lambda
	if l.Async != nil {
		p.async = newAsync(l.Async)
	}
	p.fn.reserved = l.Reserved
	if l.Unreserved {
		p.fn.reserved, p.fn.unreserved = l.unreservedPool(), true
	}
	p.fn.scaling = scaling{per10s: l.ScalingPer10s, tokens: l.ScalingPer10s, coldStart: l.ColdStart.D().Seconds(), idle: l.IdleTimeout.D().Seconds()}
	p.fn.esmMax = tp.Lambda.MaxConcurrency
	p.fn.classes = durationClasses(&tp.Lambda.Duration, durs)
	for _, d := range p.fn.classes {
		p.fn.mean += d / nClasses
	}
	if t := tp.Table; t != nil {
		bs, full := *t.BurstSeconds, *t.BurstStart
		p.table = &tableState{
			read:  newCapacity(t.Read, t.OnDemand, bs, full, t.WarmRead),
			write: newCapacity(t.Write, t.OnDemand, bs, full, t.WarmWrite),
			rpr:   t.ReadsPerRequest, wpr: t.WritesPerRequest, hot: t.HotKeyShare,
			quota: policy.DecreaseQuota{Enforced: !t.OnDemand},
		}
	}
	if d := tp.Downstream; d != nil {
		p.down = &downstream{capacity: d.Capacity, latency: d.Latency.D().Seconds()}
		p.latency = p.down.latency
	}
	p.cw = newStore(horizon)
	p.k.ageHist = make([]float64, ageBins)
	return p
}

// limit is the Lambda's effective concurrency cap for the sync path.
func (p *plant) knobValue(k knob) float64 {
	switch k {
	case kAPIRate, kAPIBurst, kStageRate, kStageBurst:
		return p.api.get(k <= kAPIBurst, k == kAPIBurst || k == kStageBurst)
	case kReserved:
		return p.fn.reserved
	case kESM:
		return p.fn.esmMax
	case kRead:
		return p.table.read.prov
	case kWrite:
		return p.table.write.prov
	}
	return math.NaN()
}

func (p *plant) setKnob(k knob, v float64) {
	switch k {
	case kAPIRate, kAPIBurst, kStageRate, kStageBurst:
		p.api.set(k <= kAPIBurst, k == kAPIBurst || k == kStageBurst, v)
	case kReserved:
		p.fn.reserved, p.fn.unreserved = v, false
	case kESM:
		p.fn.esmMax = v
	case kRead:
		p.table.read.prov = v
	case kWrite:
		p.table.write.prov = v
	}
}

// schedule makes a change take effect at second at.
func (p *plant) schedule(at int64, k knob, v float64) {
	p.pending = append(p.pending, change{at, k, v})
}

// applyDue applies the changes whose time has come.
func (p *plant) applyDue(t int64) {
	n := 0
	for _, c := range p.pending {
		if c.at <= t {
			p.setKnob(c.k, c.v)
			continue
		}
		p.pending[n] = c
		n++
	}
	p.pending = p.pending[:n]
}

// clientsSettle tells the retrying clients how second t went: a 429 from
// the API, and for a synchronous backend a throttle or a failure, comes
// back to them. What they give up on is lost, by its last error.
func (p *plant) clientsSettle(t int64, entered, api429, lthr, failed float64) {
	c, k := p.clients, &p.k
	back := api429
	if p.q == nil && p.async == nil {
		back += lthr + failed
	}
	c.settle(t, safeDiv(back, entered))
	thrShare := safeDiv(api429+lthr, back)
	if p.q != nil || p.async != nil {
		thrShare = 1
	}
	k.lose(lostThrottled, c.newLost*thrShare)
	k.lose(lostFailed, c.newLost*(1-thrShare))
	k.delay(c.newDelayed)
	c.newLost, c.newDelayed = 0, 0
}

func safeDiv(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return a / b
}

func (p *plant) depthNow() float64 {
	if p.q == nil {
		return 0
	}
	return p.q.depth()
}

// lambdaLimit is the concurrency the function may use.
func (p *plant) lambdaLimit() float64 {
	l := p.fn.reserved
	if p.q != nil && p.fn.esmMax > 0 {
		l = min(l, p.fn.esmMax)
	}
	return l
}

// tableLimit is the capacity that matters most: writes if requests write.
func (p *plant) tableLimit() float64 {
	if p.table == nil {
		return 0
	}
	if p.table.wpr > 0 {
		return p.table.write.prov
	}
	return p.table.read.prov
}

func (p *plant) flushMinute() {
	a, tl := &p.acc, p.tl
	tl.Offered = append(tl.Offered, a.offered/60)
	tl.Served = append(tl.Served, a.served/60)
	tl.Lost = append(tl.Lost, p.k.minuteLost)
	tl.Delayed = append(tl.Delayed, p.k.minuteDelayed)
	p.k.minuteLost, p.k.minuteDelayed = 0, 0
	tl.APIThrottled = append(tl.APIThrottled, a.apiThr)
	tl.LambdaThrottled = append(tl.LambdaThrottled, a.lThr)
	tl.TableThrottled = append(tl.TableThrottled, a.tThr)
	tl.DownstreamErrors = append(tl.DownstreamErrors, a.dErr)
	tl.LambdaNeed = append(tl.LambdaNeed, a.need/60)
	tl.LambdaUsed = append(tl.LambdaUsed, a.conc)
	tl.LambdaLimit = append(tl.LambdaLimit, p.lambdaLimit())
	apiRate := 0.0
	if p.api != nil {
		apiRate = p.api.rate()
	}
	tl.APIRate = append(tl.APIRate, apiRate)
	tl.TableNeed = append(tl.TableNeed, a.tNeed/60)
	tl.TableUsed = append(tl.TableUsed, a.tUsed/60)
	tl.TableLimit = append(tl.TableLimit, p.tableLimit())
	tl.QueueDepth = append(tl.QueueDepth, a.depth)
	tl.QueueAge = append(tl.QueueAge, a.age)
	tl.DownstreamLoad = append(tl.DownstreamLoad, a.dLoad/60)
	tl.DownstreamCapacity = append(tl.DownstreamCapacity, a.dCap/60)
	tl.DownstreamLatencyMs = append(tl.DownstreamLatencyMs, a.lat/60*1000)
	tl.CostUSD = append(tl.CostUSD, p.k.cost)
	*a = minuteAcc{}
}

// minuteAcc accumulates one minute of the timeline.
type minuteAcc struct {
	offered, served, apiThr, lThr, tThr, dErr float64
	need, conc, depth, age, dLoad, dCap, lat  float64
	tNeed, tUsed                              float64
}

// ageBins: 1-second bins up to an hour, then 1-minute bins up to 15 days.
const ageBins = 3600 + 15*24*60

func ageBin(age float64) int {
	a := int(age)
	if a < 3600 {
		return max(a, 0)
	}
	return min(3600+(a-3600)/60, ageBins-1)
}

func binAge(i int) float64 {
	if i < 3600 {
		return float64(i)
	}
	return float64(3600 + (i-3600)*60)
}

// kpis accumulate over a run.
type kpis struct {
	offered, served                                                 float64
	apiThrottled, lambdaThrottled, tableThrottled, downstreamErrors float64
	lost                                                            [nLossCauses]float64
	delayed                                                         float64
	minuteLost, minuteDelayed                                       float64 // since the timeline's last minute
	overloadS                                                       int64
	maxAge                                                          float64
	ageHist                                                         []float64
	cost                                                            float64
}

func (k *kpis) observeAge(a float64) {
	if a > k.maxAge {
		k.maxAge = a
	}
	k.ageHist[ageBin(a)]++
}

// p99Age is the 99th percentile of the per-second age of the oldest
// message.
func (k *kpis) p99Age() float64 {
	total := 0.0
	for _, c := range k.ageHist {
		total += c
	}
	if total == 0 {
		return 0
	}
	need := math.Ceil(0.99 * total)
	run := 0.0
	for i, c := range k.ageHist {
		run += c
		if run >= need {
			return binAge(i)
		}
	}
	return k.maxAge
}

// beginScoring ends the warm-up: what was counted so far is dropped, the
// plant's state (limits, queue, bank, functions in flight) carries on.
func (p *plant) beginScoring(minutes int64) {
	hist := p.k.ageHist
	clear(hist)
	p.k = kpis{ageHist: hist}
	if p.q != nil {
		// Messages still queued from the warm-up are offered to the
		// scored run: it serves or loses them.
		p.k.offered = p.q.depth()
	}
	p.acc = minuteAcc{}
	p.tl = newTimeline(minutes)
}
