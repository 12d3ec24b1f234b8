package actuators

import (
	"testing"
	"time"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/internal/awsclient"
	"github.com/autotuner/autotuner/internal/awsfake"
	"github.com/autotuner/autotuner/internal/testenv"
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
