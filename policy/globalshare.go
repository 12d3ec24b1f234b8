package policy

import "math"

// GlobalShareParams configure GlobalShare: one logical limit (a third-
// party API's 500 requests/s for the whole company) split into one
// ratelimit-bucket per region, so that no caller makes a cross-region call
// on its hot path.
type GlobalShareParams struct {
	Global float64 // the limit the regions' shares sum to at most
	Own    Demand  // this region's demand signals
	Peers  []Peer  // every other region
	// Resolution is the grid shares are set on (0.01 tokens/s); a share is
	// rounded down to it, so the guards' rounding never lifts the sum.
	Resolution float64
}

// Demand names the signals of a region's demand on its bucket, in tokens
// per second: what it was granted and what it was denied. Their sum is
// what the region would have used with no limit.
type Demand struct {
	Acquired, Denied string
}

// Peer is another region of the same global limit.
type Peer struct {
	Name   string  // its target, for the audit
	Limit  string  // signal of its share in force (source target)
	Min    float64 // its target's min: its share never goes below it
	Demand Demand
}

// GlobalShare sets this region's share of the global limit from every
// region's demand, and keeps the shares' sum at most Global at all times.
//
// Every region computes the same allocation from the same readings: each
// gets its min, and what is left is split in proportion to demand (evenly
// when no region has any). Lowering to the allocation is always safe and
// is done at once. Raising is not: the other regions may not have lowered
// yet. So a region only raises into the headroom, Global − the sum of the
// shares in force (this region's as the service reports it, the others' as
// this tick's snapshot has them), and only into its part of it: the
// headroom split in proportion to how far each region is below its
// allocation. The parts of all regions sum to the headroom at most, so the
// shares never exceed Global even when every region raises in the same
// tick, and a region that must rise waits for the others to make room:
// lower first, raise after. A missing reading of any region holds.
type GlobalShare struct{ P GlobalShareParams }

var _ Recommender = (*GlobalShare)(nil)

// Reason codes of GlobalShare.
const (
	ReasonShareLower  = "share_lower"  // lowered to the allocation
	ReasonShareRaise  = "share_raise"  // raised into its part of the headroom
	ReasonShareWait   = "share_wait"   // below its allocation; no headroom yet
	ReasonShareSteady = "share_steady" // at its allocation
)

func (g *GlobalShare) Name() string { return "global-share" }

func (g *GlobalShare) Recommend(in *Input, mem *Memory) Proposal {
	mem.LastEval = in.Now
	hold := Proposal{Value: in.Current}
	own, ok := g.demand(in.Signals, g.P.Own)
	if !ok {
		hold.Reason = Reason{Code: ReasonMissing, Signal: firstMissing(in.Signals, g.P.Own.Acquired, g.P.Own.Denied)}
		return hold
	}
	demands, limits, mins := []float64{own}, []float64{in.Current}, []float64{in.Min}
	for _, p := range g.P.Peers {
		d, ok := g.demand(in.Signals, p.Demand)
		l := in.Signals[p.Limit]
		if !ok || !l.Present() {
			hold.Reason = Reason{Code: ReasonMissing, Signal: firstMissing(in.Signals, p.Limit, p.Demand.Acquired, p.Demand.Denied)}
			return hold
		}
		demands, limits, mins = append(demands, d), append(limits, l.Value), append(mins, p.Min)
	}
	alloc := Allocate(g.P.Global, demands, mins)
	want := g.grid(alloc[0])
	terms := Terms{Driver: g.P.Own.Acquired}
	if in.Current > 0 {
		terms.Demand = want / in.Current
	}
	switch {
	case want < in.Current:
		return Proposal{Value: want, Terms: terms, Reason: Reason{Code: ReasonShareLower, Value: own, Param: want}}
	case want == in.Current:
		return Proposal{Value: want, Terms: terms, Reason: Reason{Code: ReasonShareSteady, Value: own, Param: want}}
	}
	part := RaisePart(g.P.Global, alloc, limits, 0)
	v := g.grid(in.Current + part)
	if v <= in.Current {
		return Proposal{Value: in.Current, Terms: terms, Reason: Reason{Code: ReasonShareWait, Value: own, Param: want}}
	}
	return Proposal{Value: v, Terms: terms, Reason: Reason{Code: ReasonShareRaise, Value: own, Param: want}}
}

func (g *GlobalShare) grid(v float64) float64 {
	if g.P.Resolution > 0 {
		return quantize(v, g.P.Resolution, false)
	}
	return v
}

func (g *GlobalShare) demand(sig Signals, d Demand) (float64, bool) {
	a, n := sig[d.Acquired], sig[d.Denied]
	if !a.Present() || !n.Present() {
		return 0, false
	}
	return math.Max(0, a.Value) + math.Max(0, n.Value), true
}

func firstMissing(sig Signals, names ...string) string {
	for _, n := range names {
		if !sig[n].Present() {
			return n
		}
	}
	return ""
}

// Allocate splits global among regions: each its min, the rest in
// proportion to demand, evenly when there is none. The sum is global
// when the mins leave room, and the mins alone otherwise.
func Allocate(global float64, demand, mins []float64) []float64 {
	out := make([]float64, len(demand))
	var sumMin, sumD float64
	for i := range demand {
		sumMin += mins[i]
		sumD += math.Max(0, demand[i])
	}
	rest := math.Max(0, global-sumMin)
	for i := range demand {
		share := rest / float64(len(demand))
		if sumD > 0 {
			share = rest * math.Max(0, demand[i]) / sumD
		}
		out[i] = mins[i] + share
	}
	return out
}

// RaisePart is how much region i may raise now: its part of the headroom
// (global − Σ limits in force), in proportion to how far below its
// allocation it is among all regions below theirs.
func RaisePart(global float64, alloc, limits []float64, i int) float64 {
	var sum, deficit float64
	for j := range limits {
		sum += limits[j]
		deficit += math.Max(0, alloc[j]-limits[j])
	}
	head := global - sum
	own := math.Max(0, alloc[i]-limits[i])
	if head <= 0 || own <= 0 || deficit <= 0 {
		return 0
	}
	return math.Min(own, head*own/deficit)
}
