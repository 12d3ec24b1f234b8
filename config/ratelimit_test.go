package config

import (
	"strings"
	"testing"

	"github.com/autotuner/autotuner/policy"
)

const sharePair = `version: 1
targets:
  - name: us
    kind: ratelimit-bucket
    region: us-east-1
    table: buckets
    bucket: partner
    min: MIN_US
    max: 400
    signals:
      acquired: {namespace: Autotuner/RateLimit, metric: Acquired, dimensions: {Bucket: partner}, stat: Sum, per_second: true}
      denied:   {namespace: Autotuner/RateLimit, metric: Denied, dimensions: {Bucket: partner}, stat: Sum, per_second: true, missing: zero}
      eu_acq:   {namespace: Autotuner/RateLimit, metric: Acquired, dimensions: {Bucket: partner}, stat: Sum, per_second: true, region: eu-west-1}
      eu_den:   {namespace: Autotuner/RateLimit, metric: Denied, dimensions: {Bucket: partner}, stat: Sum, per_second: true, region: eu-west-1}
      eu_limit: {source: target, target: eu}
    policy:
      global-share: {global: 500, acquired: acquired, denied: denied, peers: [{limit: eu_limit, acquired: eu_acq, denied: eu_den}]}
  - name: eu
    kind: ratelimit-bucket
    region: eu-west-1
    table: buckets
    bucket: partner
    min: 100
    max: 400
    signals:
      acquired: {namespace: Autotuner/RateLimit, metric: Acquired, dimensions: {Bucket: partner}, stat: Sum, per_second: true}
      denied:   {namespace: Autotuner/RateLimit, metric: Denied, dimensions: {Bucket: partner}, stat: Sum, per_second: true, missing: zero}
      us_acq:   {namespace: Autotuner/RateLimit, metric: Acquired, dimensions: {Bucket: partner}, stat: Sum, per_second: true, region: us-east-1}
      us_den:   {namespace: Autotuner/RateLimit, metric: Denied, dimensions: {Bucket: partner}, stat: Sum, per_second: true, region: us-east-1}
      us_limit: {source: target, target: us}
    policy:
      global-share: {global: GLOBAL_EU, acquired: acquired, denied: denied, peers: [{limit: us_limit, acquired: us_acq, denied: us_den}]}
`

func TestGlobalShareLoads(t *testing.T) {
	src := strings.NewReplacer("MIN_US", "50", "GLOBAL_EU", "500").Replace(sharePair)
	f, err := Parse("share.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	gs := f.Target("us").Engine.Rec.(*policy.GlobalShare)
	if p := gs.P.Peers[0]; p.Name != "eu" || p.Min != 100 || p.Limit != "eu_limit" || gs.P.Resolution != 0.01 {
		t.Fatalf("peer: %+v (resolution %v)", p, gs.P.Resolution)
	}
	if r := f.Target("us").Signals["eu_acq"].Region; r != "eu-west-1" {
		t.Fatalf("peer demand region %q", r)
	}
}

func TestGlobalShareErrors(t *testing.T) {
	for name, c := range map[string]struct{ minUS, globalEU, want string }{
		"mins above global": {"450", "500", "targets[0].policy.global-share.global: is 500, below the sum of the regions' mins (550)"},
		"globals disagree":  {"50", "600", `targets[0].policy.global-share.peers: peer "eu" must use global-share with the same global limit (500)`},
	} {
		t.Run(name, func(t *testing.T) {
			src := strings.NewReplacer("MIN_US", c.minUS, "GLOBAL_EU", c.globalEU).Replace(sharePair)
			_, err := Parse("share.yaml", []byte(src))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want %q", err, c.want)
			}
		})
	}
}

func TestRateLimitBucketKeys(t *testing.T) {
	src := `version: 1
targets:
  - name: b
    kind: ratelimit-bucket
    table: buckets
    bucket: "bad name"
    burst_ratio: 0
    min: 0
    max: 2000000
    signals:
      acquired: {namespace: Autotuner/RateLimit, metric: Acquired, dimensions: {Bucket: b}, stat: Sum}
    policy:
      static: {value: 10}
`
	_, err := Parse("b.yaml", []byte(src))
	for _, want := range []string{"bucket: must be 1-128 letters", "burst_ratio: must be in (0, 3600]", "min: must be > 0", "max: must be <= 1e+06"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("missing error %q in:\n%v", want, err)
		}
	}
}
