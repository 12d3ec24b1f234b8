package config

import (
	"fmt"
	"regexp"

	"go.yaml.in/yaml/v3"

	"github.com/autotuner/autotuner/policy"
)

// bucketRE is a bucket name: it becomes part of a DynamoDB key.
var bucketRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$`)

// MaxBucketRate bounds a ratelimit-bucket's rate, in tokens per second.
const MaxBucketRate = 1e6

// bucketIdentity reads a ratelimit-bucket's table, bucket and burst_ratio:
// the burst autotuner sets with each rate, in seconds of that rate.
func (d *decoder) bucketIdentity(o *obj, t *Target, need func(string, *string)) {
	need("table", &t.Table)
	need("bucket", &t.Bucket)
	if t.Bucket != "" {
		o.check(bucketRE.MatchString(t.Bucket), "bucket", "must be 1-128 letters, digits, '_', '.', ':' or '-', got %q", t.Bucket)
	}
	t.BurstRatio = 1
	if o.number("burst_ratio", &t.BurstRatio) {
		o.check(t.BurstRatio > 0 && t.BurstRatio <= 3600, "burst_ratio", "must be in (0, 3600]: the burst in seconds of the rate, got %v", t.BurstRatio)
	}
}

func checkBucketBounds(o *obj, t *Target) {
	o.check(t.Min > 0, "min", "must be > 0: a rate of 0 stops every caller of the bucket, got %v", t.Min)
	o.check(t.Max <= MaxBucketRate, "max", "must be <= %v tokens/s, got %v", MaxBucketRate, t.Max)
}

// shareRef is a global-share policy waiting for its peers' bounds.
type shareRef struct {
	t    *Target
	gs   *policy.GlobalShare
	node *yaml.Node
	path string
}

// globalShare reads the global-share policy of a regional bucket:
//
//	global-share:
//	  global: 500                  # the limit all regions share
//	  acquired: acquired           # this region's demand signals
//	  denied: denied
//	  peers:
//	    - {limit: eu_limit, acquired: eu_acquired, denied: eu_denied}
//
// A peer's limit is a signal of source target naming the peer's target;
// its min is read from that target.
func (pc *policyCtx) globalShare(n *yaml.Node, path string, e *policy.Engine) {
	p := policy.GlobalShareParams{Resolution: pc.t.Resolution()}
	o := pc.d.obj(n, path)
	if o.number("global", &p.Global) {
		o.check(p.Global > 0 && p.Global <= MaxBucketRate*MaxShareRegions, "global", "must be in (0, %v], got %v", MaxBucketRate*MaxShareRegions, p.Global)
	} else {
		o.check(false, "global", "is required: the limit the regions share")
	}
	pc.ref(o, "acquired", &p.Own.Acquired, true)
	pc.ref(o, "denied", &p.Own.Denied, true)
	items := o.list("peers")
	o.check(len(items) > 0 && len(items) < MaxShareRegions, "peers", "must list 1 to %d other regions, got %d", MaxShareRegions-1, len(items))
	for i, item := range items {
		po := pc.d.obj(item, fmt.Sprintf("%s[%d]", o.at("peers"), i))
		var peer policy.Peer
		if po.str("limit", &peer.Limit) {
			sig := pc.t.Signals[peer.Limit]
			po.check(sig != nil && sig.Source == SourceTarget, "limit", "must name a signal of source target (the peer's bucket target), got %q", peer.Limit)
		} else {
			po.check(false, "limit", "is required: a signal of source target naming the peer's target")
		}
		pc.ref(po, "acquired", &peer.Demand.Acquired, true)
		pc.ref(po, "denied", &peer.Demand.Denied, true)
		po.done()
		p.Peers = append(p.Peers, peer)
	}
	o.done()
	gs := &policy.GlobalShare{P: p}
	e.Rec = gs
	pc.d.shares = append(pc.d.shares, shareRef{t: pc.t, gs: gs, node: n, path: path})
}

// MaxShareRegions bounds the regions of one global limit.
const MaxShareRegions = 32

// globalShares completes every global-share policy with its peers' names
// and mins, and checks that the group agrees: every peer shares the same
// global limit, and the mins of all regions fit in it (a min above its
// share would lift the sum over the limit).
func (d *decoder) globalShares(f *File) {
	for _, r := range d.shares {
		sum := r.t.Min
		for i := range r.gs.P.Peers {
			p := &r.gs.P.Peers[i]
			sig := r.t.Signals[p.Limit]
			if sig == nil {
				continue // reported where it was read
			}
			peer := f.Target(sig.Target)
			if peer == nil {
				continue // reported with the other source-target signals
			}
			p.Name, p.Min = peer.Name, peer.Min
			sum += peer.Min
			other, ok := peer.Engine.Rec.(*policy.GlobalShare)
			if peer.Engine == nil || !ok || other.P.Global != r.gs.P.Global {
				d.errorf(r.node, r.path+".peers", "peer %q must use global-share with the same global limit (%v)", peer.Name, r.gs.P.Global)
			}
		}
		if sum > r.gs.P.Global {
			d.errorf(r.node, r.path+".global", "is %v, below the sum of the regions' mins (%v): the shares could not fit", r.gs.P.Global, sum)
		}
	}
}
