package actuators

import (
	"context"
	"testing"
	"time"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/internal/awsclient"
	"github.com/autotuner/autotuner/internal/awsfake"
	"github.com/autotuner/autotuner/internal/testenv"
	"github.com/autotuner/autotuner/policy"
	"github.com/autotuner/autotuner/ratelimit"
	"github.com/autotuner/autotuner/state"
)

const bucketPolicies = `version: 1
defaults: {region: us-east-1}
targets:
  - name: partner-api
    kind: ratelimit-bucket
    table: buckets
    bucket: partner-api
    burst_ratio: 0.5
    min: 10
    max: 500
    signals:
      denied: {namespace: Autotuner/RateLimit, metric: Denied, dimensions: {Bucket: partner-api}, stat: Sum, missing: zero}
    policy:
      static: {value: 120}
`

// TestRateLimitBucketDynalite runs a tick of the real controller that sets
// a bucket's rate in dynalite: the rate and the burst (burst_ratio × rate)
// land on every shard, the shard count stays, and a rate changed behind
// the decision's back is not overwritten.
func TestRateLimitBucketDynalite(t *testing.T) {
	url := testenv.Dynalite(t, testenv.DynaliteOptions{})
	awsfake.Start(t)
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", url)
	f, err := awsclient.New(ctx, awsclient.Options{NoRateLimits: true})
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.For("", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := ratelimit.CreateTable(ctx, c.DynamoDB, "buckets"); err != nil {
		t.Fatal(err)
	}
	if err := awsfake.WaitTableActive(ctx, c.DynamoDB, "buckets", 50*time.Millisecond, 100); err != nil {
		t.Fatal(err)
	}
	l := ratelimit.New(c.DynamoDB, "buckets", ratelimit.Options{Clock: func() time.Time { return t0 }})
	if err := l.Configure(ctx, "partner-api", ratelimit.Limits{Rate: 100, Burst: 100, Shards: 2}); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse("bucket.yaml", []byte(bucketPolicies))
	if err != nil {
		t.Fatal(err)
	}
	ctl := &controller.Controller{Config: cfg, Sensor: noSignals{}, Actuators: All(f.For), Store: state.NewMem(), Parallelism: 1}
	res, err := ctl.Tick(ctx, t0.Add(time.Minute), controller.TickOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r := res.Records[0]; !r.Applied || r.Current != 100 || r.Final != 120 {
		t.Fatalf("record: %+v (error %q)", r, r.Error)
	}
	lim, states, err := l.Describe(ctx, "partner-api")
	if err != nil {
		t.Fatal(err)
	}
	if lim != (ratelimit.Limits{Rate: 120, Burst: 60, Shards: 2}) {
		t.Fatalf("limits after the tick: %+v, want rate 120, burst 60, 2 shards", lim)
	}
	for i, s := range states {
		if s.Rate != 60 || s.Burst != 30 || s.Tokens > 30 {
			t.Errorf("shard %d: %+v, want rate 60 burst 30", i, s)
		}
	}

	a := &RateLimitBucket{Conn: f.For}
	err = a.Apply(ctx, cfg.Targets[0], 90, 200, t0.Add(2*time.Minute))
	if controller.Classify(err) != controller.ClassConflict {
		t.Fatalf("apply from a stale 90 while the rate is 120: %v, want a conflict", err)
	}
	cfg.Targets[0].Bucket = "nobody"
	if _, err := a.Current(ctx, cfg.Targets[0], t0); controller.Classify(err) != controller.ClassNotFound {
		t.Fatalf("a missing bucket: %v, want not_found", err)
	}
}

const sharePolicies = `version: 1
defaults: {region: us-east-1}
targets:
  - name: us
    kind: ratelimit-bucket
    table: buckets
    bucket: partner-us
    min: 10
    max: 490
    signals:
      acquired: {namespace: Autotuner/RateLimit, metric: Acquired, dimensions: {Bucket: partner-us}, stat: Sum, per_second: true}
      denied:   {namespace: Autotuner/RateLimit, metric: Denied, dimensions: {Bucket: partner-us}, stat: Sum, per_second: true, missing: zero}
      eu_acq:   {namespace: Autotuner/RateLimit, metric: Acquired, dimensions: {Bucket: partner-eu}, stat: Sum, per_second: true, region: eu-west-1}
      eu_den:   {namespace: Autotuner/RateLimit, metric: Denied, dimensions: {Bucket: partner-eu}, stat: Sum, per_second: true, region: eu-west-1}
      eu_limit: {source: target, target: eu}
    policy:
      global-share: {global: 500, acquired: acquired, denied: denied, peers: [{limit: eu_limit, acquired: eu_acq, denied: eu_den}]}
  - name: eu
    kind: ratelimit-bucket
    table: buckets
    bucket: partner-eu
    min: 10
    max: 490
    signals:
      acquired: {namespace: Autotuner/RateLimit, metric: Acquired, dimensions: {Bucket: partner-eu}, stat: Sum, per_second: true}
      denied:   {namespace: Autotuner/RateLimit, metric: Denied, dimensions: {Bucket: partner-eu}, stat: Sum, per_second: true, missing: zero}
      us_acq:   {namespace: Autotuner/RateLimit, metric: Acquired, dimensions: {Bucket: partner-us}, stat: Sum, per_second: true, region: us-east-1}
      us_den:   {namespace: Autotuner/RateLimit, metric: Denied, dimensions: {Bucket: partner-us}, stat: Sum, per_second: true, region: us-east-1}
      us_limit: {source: target, target: us}
    policy:
      global-share: {global: 500, acquired: acquired, denied: denied, peers: [{limit: us_limit, acquired: us_acq, denied: us_den}]}
`

// demandSensor reports each bucket's demand as the test sets it: acquired
// up to the bucket's rate, the rest denied.
type demandSensor struct {
	demand map[string]float64 // by bucket
	rate   func(bucket string) float64
}

func (s *demandSensor) Read(_ context.Context, ts []*config.Target, now time.Time) (map[string]policy.Signals, error) {
	out := map[string]policy.Signals{}
	for _, t := range ts {
		sig := policy.Signals{}
		for _, q := range t.SignalList {
			if q.Source != config.SourceCloudWatch {
				continue
			}
			b := q.Dimensions["Bucket"]
			d, r := s.demand[b], s.rate(b)
			v := min(d, r)
			if q.Metric == "Denied" {
				v = max(0, d-r)
			}
			start, _ := q.Window(now)
			sig[q.Name] = policy.Reading(v, start)
		}
		out[t.Name] = sig
	}
	return out, nil
}

// TestGlobalShareDynalite is the wiring end to end: the real controller,
// the global-share policies of two regional buckets reading each other's
// limit from the state store, and the actuator setting the buckets in
// dynalite. Demand moves to us-east-1: eu-west-1 lowers first, us-east-1
// raises the tick after, and the buckets' rates never sum above 500.
func TestGlobalShareDynalite(t *testing.T) {
	url := testenv.Dynalite(t, testenv.DynaliteOptions{})
	awsfake.Start(t)
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", url)
	f, err := awsclient.New(ctx, awsclient.Options{NoRateLimits: true})
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.For("", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := ratelimit.CreateTable(ctx, c.DynamoDB, "buckets"); err != nil {
		t.Fatal(err)
	}
	if err := awsfake.WaitTableActive(ctx, c.DynamoDB, "buckets", 50*time.Millisecond, 100); err != nil {
		t.Fatal(err)
	}
	l := ratelimit.New(c.DynamoDB, "buckets", ratelimit.Options{Clock: func() time.Time { return t0 }})
	for _, b := range []string{"partner-us", "partner-eu"} {
		if err := l.Configure(ctx, b, ratelimit.Limits{Rate: 250, Burst: 250, Shards: 1}); err != nil {
			t.Fatal(err)
		}
	}
	rate := func(b string) float64 {
		lim, _, err := l.Describe(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		return lim.Rate
	}
	cfg, err := config.Parse("share.yaml", []byte(sharePolicies))
	if err != nil {
		t.Fatal(err)
	}
	sensor := &demandSensor{demand: map[string]float64{"partner-us": 300, "partner-eu": 100}, rate: rate}
	ctl := &controller.Controller{Config: cfg, Sensor: sensor, Actuators: All(f.For), Store: state.NewMem(), Parallelism: 2}
	want := [][2]float64{
		{250, 250}, // the first tick reads the limits: nothing to share yet
		{250, 130}, // eu-west-1 lowers to 10 + 480 × 100/400; us-east-1 waits
		{370, 130}, // us-east-1 takes the room
		{370, 130},
	}
	for i, w := range want {
		if _, err := ctl.Tick(ctx, t0.Add(time.Duration(i+1)*time.Minute), controller.TickOptions{}); err != nil {
			t.Fatal(err)
		}
		us, eu := rate("partner-us"), rate("partner-eu")
		if us+eu > 500 {
			t.Fatalf("tick %d: shares %v + %v > 500", i, us, eu)
		}
		if us != w[0] || eu != w[1] {
			t.Fatalf("tick %d: shares %v, %v; want %v", i, us, eu, w)
		}
	}
}
