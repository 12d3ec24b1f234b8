package sim

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/policy"
	"github.com/autotuner/autotuner/ratelimit"
	"github.com/autotuner/autotuner/state"
)

// RateLimitScenario is the shared-limiter component: callers (a Step
// Functions workflow that Waits and asks again) take a token from a
// ratelimit bucket before each call to a third-party API whose capacity
// changes over time, and autotuner tunes the bucket's rate from the
// limiter's Acquired/Denied/WaitSeconds and the API's 429s and latency.
// The bucket is the product's own arithmetic (ratelimit.Take); the
// controller, config and policy are the product's.
type RateLimitScenario struct {
	Duration time.Duration
	Start    time.Time
	Seed     uint64
	Demand   float64 // new requests per second (Poisson)
	// Capacity is the API's capacity in requests/s, in steps: Capacity[i]
	// holds from CapacityAt[i] on.
	Capacity   []float64
	CapacityAt []time.Duration
	Latency    time.Duration // the API's latency when idle
	// Rate is the bucket's rate at the start; its burst is BurstRatio ×
	// the rate, as the target's burst_ratio says.
	Rate float64
	// MetricDelay is how long after a minute ends its metrics are visible.
	MetricDelay time.Duration
	// Adaptive, when set, runs the limiter's fast loop (ratelimit.Adaptive)
	// on what the callers see each second, under the rate autotuner sets.
	Adaptive *ratelimit.AdaptiveConfig
}

// RateLimitResult is what a run measured.
type RateLimitResult struct {
	Offered, Granted, Served  float64 // requests: asked (new), given a token, answered by the API
	Throttled                 float64 // the API's 429s
	ThrottledAfterFirstMinute float64
	// Usable is Σ min(demand, capacity) per second after the first
	// minute: the most the API could have served; Efficiency is served ÷
	// usable over the same seconds.
	Usable, ServedAfterFirstMinute, Efficiency float64
	Actuations                                 int
	Rates                                      []float64 // the bucket's rate each minute
}

// rlMinute is one minute of published metrics.
type rlMinute struct {
	acquired, denied, throttled float64
	waits, latMax               float64
	waitN                       float64
}

// rlPlant is the modelled system: the bucket, the waiting callers, the API.
type rlPlant struct {
	sc      *RateLimitScenario
	bucket  ratelimit.State // Rate is autotuner's; Fast the loop's, under it
	ratio   float64
	api     tokenBucket
	retries [64]float64 // callers due to ask again in (t mod 64)
	minutes []rlMinute
	arr     poissonGen
	res     RateLimitResult
}

func (p *rlPlant) capacity(t int64) float64 {
	c := p.sc.Capacity[0]
	for i, at := range p.sc.CapacityAt {
		if time.Duration(t)*time.Second >= at {
			c = p.sc.Capacity[i]
		}
	}
	return c
}

// step runs second t: new and returning callers ask for a token; those
// granted call the API; those denied Wait the whole seconds the task
// returns and ask again.
func (p *rlPlant) step(t int64) {
	now := p.sc.Start.Add(time.Duration(t) * time.Second)
	fresh := p.arr.draw(p.sc.Demand)
	ask := fresh + p.retries[t%64]
	p.retries[t%64] = 0
	p.res.Offered += fresh
	r := p.bucket.Refill(now)
	g := math.Min(ask, math.Floor(r.Tokens))
	if g > 0 {
		p.bucket, _, _, _ = ratelimit.Take(p.bucket, now, g, g)
	} else {
		p.bucket = r
	}
	denied := ask - g
	m := &p.minutes[t/60]
	m.acquired += g
	if denied > 0 {
		wait := ratelimit.WaitFor(p.bucket, now, 1)
		secs := int64(math.Max(1, math.Ceil(wait.Seconds())))
		if wait < 0 || secs > 60 {
			secs = 60
		}
		p.retries[(t+secs)%64] += denied
		m.denied += denied
		m.waits += float64(secs) * denied
		m.waitN += denied
	}
	c := p.capacity(t)
	p.api.rate, p.api.burst = c, c
	served := p.api.admit(g)
	throttled := g - served
	m.throttled += throttled
	u := math.Min(0.98, g/c)
	lat := p.sc.Latency.Seconds() * 1000 / (1 - u)
	m.latMax = math.Max(m.latMax, lat)
	p.adapt(now, ratelimit.Feedback{Calls: g, Throttled: throttled, Latency: time.Duration(lat * float64(time.Millisecond))})
	p.res.Granted += g
	p.res.Served += served
	p.res.Throttled += throttled
	if t >= 60 {
		p.res.ThrottledAfterFirstMinute += throttled
		p.res.Usable += math.Min(p.sc.Demand, c)
		p.res.ServedAfterFirstMinute += served
	}
}

// adapt runs the fast loop on second t's answers, as Limiter.Report
// does on the item: refill at the old rate up to the end of the second,
// then step the loop under the configured rate.
func (p *rlPlant) adapt(now time.Time, fb ratelimit.Feedback) {
	if p.sc.Adaptive == nil {
		return
	}
	at := now.Add(time.Second)
	s := p.bucket.Refill(at)
	a := ratelimit.Adaptive{Rate: s.Fast, Started: s.FastAt > 0}.Observe(fb, s.Rate, *p.sc.Adaptive)
	s.Fast, s.FastAt = a.Rate, at.UnixMilli()
	s.Version++
	p.bucket = s
}

// RunRateLimit runs the target named target of a policies file against
// the scenario, with the real controller ticking every defaults.interval.
func RunRateLimit(ctx context.Context, sc *RateLimitScenario, policies []byte, target string) (*RateLimitResult, error) {
	f, err := config.Parse("ratelimit.yaml", policies)
	if err != nil {
		return nil, err
	}
	t := f.Target(target)
	if t == nil || t.Kind != config.RateLimitBucket {
		return nil, fmt.Errorf("sim: no ratelimit-bucket target %q", target)
	}
	secs := int64(sc.Duration / time.Second)
	p := &rlPlant{sc: sc, ratio: t.BurstRatio, arr: poissonGen{r: rand.New(rand.NewPCG(sc.Seed, 0x726c))}, minutes: make([]rlMinute, secs/60+2)}
	p.bucket = ratelimit.State{Tokens: sc.Rate * t.BurstRatio, Last: sc.Start.UnixMilli(), Rate: sc.Rate, Burst: sc.Rate * t.BurstRatio, Shards: 1, Version: 1}
	p.api = tokenBucket{rate: sc.Capacity[0], burst: sc.Capacity[0], tokens: sc.Capacity[0]}
	act := &rlActuator{p: p}
	c := &controller.Controller{
		Config: f, Sensor: &rlSensor{p: p}, Store: state.NewMem(), Logger: discardLogger, Parallelism: 1,
		Actuators: map[config.Kind]controller.Actuator{config.RateLimitBucket: act},
	}
	interval := max(int64(f.Defaults.Interval/time.Second), 1)
	for s := int64(0); s < secs; s++ {
		if s%interval == 0 {
			if _, err := c.Tick(ctx, sc.Start.Add(time.Duration(s)*time.Second), controller.TickOptions{Only: []string{target}}); err != nil {
				return nil, err
			}
		}
		if s%60 == 0 {
			p.res.Rates = append(p.res.Rates, p.bucket.Rate)
		}
		p.step(s)
	}
	if p.res.Usable > 0 {
		p.res.Efficiency = p.res.ServedAfterFirstMinute / p.res.Usable
	}
	p.res.Actuations = act.n
	return &p.res, nil
}

// rlActuator sets the simulated bucket's rate as the ratelimit-bucket
// actuator does: refill at the old rate up to now, then the new rate and
// burst, the tokens capped at the new burst.
type rlActuator struct {
	p *rlPlant
	n int
}

var _ controller.Actuator = (*rlActuator)(nil)

func (a *rlActuator) Current(_ context.Context, _ *config.Target, _ time.Time) (controller.State, error) {
	return controller.State{Value: a.p.bucket.Rate}, nil
}

// Apply sets the configured rate; a fast loop keeps its own rate, which
// refills the bucket only while below it.
func (a *rlActuator) Apply(_ context.Context, t *config.Target, from, to float64, now time.Time) error {
	s := a.p.bucket.Refill(now)
	s.Rate, s.Burst = to, to*t.BurstRatio
	s.Tokens = math.Min(s.Tokens, s.Burst)
	s.Version++
	a.p.bucket = s
	a.n++
	return nil
}

// rlSensor reads the plant's per-minute metrics as CloudWatch shows them:
// a minute is visible MetricDelay after it ends.
type rlSensor struct{ p *rlPlant }

var _ controller.Sensor = (*rlSensor)(nil)

func (s *rlSensor) Read(_ context.Context, targets []*config.Target, now time.Time) (map[string]policy.Signals, error) {
	out := map[string]policy.Signals{}
	for _, t := range targets {
		sig := policy.Signals{}
		for _, q := range t.SignalList {
			start, _ := q.Window(now)
			sig[q.Name] = q.Apply(s.read(q, start, now), start)
		}
		t.Complete(sig)
		out[t.Name] = sig
	}
	return out, nil
}

func (s *rlSensor) read(q *config.Signal, start, now time.Time) policy.Signal {
	p := s.p
	minute := int64(start.Sub(p.sc.Start) / time.Minute)
	visible := start.Add(time.Minute + p.sc.MetricDelay)
	if minute < 0 || minute >= int64(len(p.minutes)) || now.Before(visible) {
		return policy.Signal{}
	}
	m := p.minutes[minute]
	var v float64
	switch q.Metric {
	case "Acquired":
		v = m.acquired
	case "Denied":
		v = m.denied
	case "Throttled":
		v = m.throttled
	case "WaitSeconds":
		if m.waitN == 0 {
			return policy.Signal{} // no denial, no datapoint
		}
		v = m.waits / m.waitN
	case "Latency":
		v = m.latMax
	default:
		return policy.Signal{}
	}
	if q.Stat == "Sum" && v == 0 && q.Metric != "Acquired" {
		return policy.Signal{} // a sparse counter publishes nothing
	}
	if q.PerSecond {
		v /= q.Period.Seconds()
	}
	return policy.Reading(v, start)
}

// dropBuckets takes the ratelimit-bucket targets out of a file the
// service topology runs: they protect no AWS knob of it, and RunRateLimit
// simulates them.
func dropBuckets(f *config.File, n *notes) {
	kept := f.Targets[:0]
	for _, t := range f.Targets {
		if t.Kind == config.RateLimitBucket {
			n.add("target %s (ratelimit-bucket) is simulated by the rate-limiter component, not this topology", t.Name)
			continue
		}
		kept = append(kept, t)
	}
	f.Targets = kept
}

// RateLimitRow is one policy's line in the rate limiter's bake-off.
type RateLimitRow struct {
	Policy string
	R      *RateLimitResult
}

// RateLimitBakeoff runs the built-in partner scenario (600 requests/s
// wanted; capacity 500/s, 300/s from minute 20, 450/s from minute 40)
// under autotuner with the limiter's fast loop, autotuner on CloudWatch
// minutes alone, and the same bucket at its starting rate.
func RateLimitBakeoff(ctx context.Context, seed uint64) ([]RateLimitRow, error) {
	data, err := builtins.ReadFile("policies/ratelimit-partner.yaml")
	if err != nil {
		return nil, err
	}
	fastPolicies, err := builtins.ReadFile("policies/ratelimit-partner-fast.yaml")
	if err != nil {
		return nil, err
	}
	fastSc := PartnerScenario(seed)
	cfg := ratelimit.DefaultAdaptive
	fastSc.Adaptive = &cfg
	fast, err := RunRateLimit(ctx, fastSc, fastPolicies, "partner-api-bucket")
	if err != nil {
		return nil, err
	}
	sc := PartnerScenario(seed)
	tuned, err := RunRateLimit(ctx, sc, data, "partner-api-bucket")
	if err != nil {
		return nil, err
	}
	fixed, err := RunRateLimit(ctx, sc, StaticBucket(data, "partner-api-bucket", sc.Rate), "partner-api-bucket")
	if err != nil {
		return nil, err
	}
	return []RateLimitRow{{PolicyAutotuner + " + fast loop", fast}, {PolicyAutotuner + " (minutes only)", tuned}, {fmt.Sprintf("static %v/s", sc.Rate), fixed}}, nil
}

// PartnerScenario is the built-in rate-limiter scenario.
func PartnerScenario(seed uint64) *RateLimitScenario {
	return &RateLimitScenario{
		Duration: time.Hour, Start: time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC), Seed: seed,
		Demand:   600,
		Capacity: []float64{500, 300, 450}, CapacityAt: []time.Duration{0, 20 * time.Minute, 40 * time.Minute},
		Latency: 80 * time.Millisecond, Rate: 400, MetricDelay: time.Minute,
	}
}

// StaticBucket replaces the policy of the named bucket target with a
// static rate: the shared limiter without autotuner.
func StaticBucket(policies []byte, target string, rate float64) []byte {
	f, err := config.Parse("policies.yaml", policies)
	if err != nil || f.Target(target) == nil {
		return policies
	}
	lines := strings.Split(string(policies), "\n")
	var out []string
	in, skip := false, false
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "  - name: "):
			in = strings.TrimPrefix(l, "  - name: ") == target
			skip = false
		case in && (l == "    policy:" || l == "    guards:"):
			skip = true
			if l == "    policy:" {
				out = append(out, "    policy:", fmt.Sprintf("      static: {value: %v}", rate))
			}
			continue
		case in && skip && strings.HasPrefix(l, "    ") && !strings.HasPrefix(l, "      "):
			skip = false
		}
		if !(in && skip) {
			out = append(out, l)
		}
	}
	return []byte(strings.Join(out, "\n"))
}
