package ratelimit

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/autotuner/autotuner/internal/awsfake"
)

// fakeTable is a bucket table in the wire-level fake: the SDK's real
// serialization, error decoding and retries, and faults on demand.
func fakeTable(t *testing.T) (*awsfake.Server, *dynamodb.Client) {
	t.Helper()
	fake := awsfake.Start(t)
	fake.DynamoDB.AddTable("buckets", awsfake.Table{Billing: "PAY_PER_REQUEST"})
	api := dynamodb.New(dynamodb.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(fake.URL),
		Credentials:      credentials.NewStaticCredentialsProvider("test", "test", ""),
		RetryMaxAttempts: 1, // the limiter's own error mode is under test, not the SDK's retries
	})
	return fake, api
}

func throttled() awsfake.APIError {
	return awsfake.APIError{Status: 400, Code: "ProvisionedThroughputExceededException", Message: "The level of configured provisioned throughput for the table was exceeded."}
}

// TestThrottledBucketFailsClosed: when DynamoDB throttles the bucket item
// itself, the default grants nothing and asks for ErrorWait; FailOpen
// grants and says so; both count the call as Degraded, and the next call
// works normally.
func TestThrottledBucketFailsClosed(t *testing.T) {
	fake, api := fakeTable(t)
	ctx := context.Background()
	at := t0
	clock := func() time.Time { return at }
	if err := New(api, "buckets", Options{Clock: clock}).Configure(ctx, "b", Limits{Rate: 10, Burst: 10, Shards: 1}); err != nil {
		t.Fatal(err)
	}
	var em EMF
	closed := New(api, "buckets", Options{Clock: clock, Metrics: &em})
	fake.Fail("GetItem", throttled())
	r, err := closed.Acquire(ctx, "b", 1)
	if err != nil || r.Granted != 0 || r.Wait != time.Second || r.Degraded == nil {
		t.Fatalf("fail closed: %+v, %v; want no grant, wait 1s, degraded", r, err)
	}
	r, err = closed.Acquire(ctx, "b", 1)
	if err != nil || r.Granted != 1 || r.Degraded != nil {
		t.Fatalf("after the throttle: %+v, %v", r, err)
	}
	open := New(api, "buckets", Options{Clock: clock, OnError: FailOpen})
	fake.Fail("GetItem", throttled())
	if r, err := open.Acquire(ctx, "b", 2); err != nil || r.Granted != 2 || r.Degraded == nil {
		t.Fatalf("fail open: %+v, %v; want 2 granted, degraded", r, err)
	}
	if _, err := closed.Acquire(ctx, "nobody", 1); !errors.Is(err, ErrNoBucket) {
		t.Fatalf("a missing bucket: %v, want ErrNoBucket", err)
	}
}

// TestReshardKeepsTokens: growing from 1 to 4 shards and shrinking to 2
// keeps the bucket's tokens (up to the burst), spreads them evenly, and
// never lets the shards' rates sum above the larger of old and new.
func TestReshardKeepsTokens(t *testing.T) {
	fake, api := fakeTable(t)
	ctx := context.Background()
	at := t0
	l := New(api, "buckets", Options{Clock: func() time.Time { return at }})
	if err := l.Configure(ctx, "b", Limits{Rate: 100, Burst: 100, Shards: 1}); err != nil {
		t.Fatal(err)
	}
	if r, err := l.Acquire(ctx, "b", 60); err != nil || r.Granted != 60 {
		t.Fatalf("take 60: %+v %v", r, err)
	}
	var peak float64
	watchRates := func() {
		var sum float64
		for _, it := range fake.DynamoDB.Items("buckets") {
			var s State
			s, err := decodeFake(it)
			if err != nil {
				t.Fatal(err)
			}
			sum += s.Rate
		}
		peak = math.Max(peak, sum)
	}
	for _, c := range []struct {
		to     Limits
		tokens float64
	}{
		{Limits{Rate: 100, Burst: 100, Shards: 4}, 40},
		{Limits{Rate: 100, Burst: 100, Shards: 2}, 40},
		{Limits{Rate: 50, Burst: 20, Shards: 2}, 20}, // above the new burst: dropped, as a refill would
	} {
		if err := l.Configure(ctx, "b", c.to); err != nil {
			t.Fatal(err)
		}
		watchRates()
		lim, states, err := l.Describe(ctx, "b")
		if err != nil {
			t.Fatal(err)
		}
		var tokens float64
		for _, s := range states {
			tokens += s.Tokens
			if s.Shards != c.to.Shards {
				t.Errorf("a shard says %d shards, want %d", s.Shards, c.to.Shards)
			}
		}
		if lim != c.to || math.Abs(tokens-c.tokens) > 1e-9 {
			t.Fatalf("after configuring %+v: limits %+v, %v tokens, want %v", c.to, lim, tokens, c.tokens)
		}
		if len(states) > 1 && states[0].Tokens != states[1].Tokens {
			t.Errorf("tokens not spread evenly: %v vs %v", states[0].Tokens, states[1].Tokens)
		}
	}
	if peak > 100 {
		t.Fatalf("the shards' rates summed to %v, above the bucket's 100", peak)
	}
	// A caller that believed in 4 shards learns of 2 from a retired shard
	// and falls back to a live one.
	stale := New(api, "buckets", Options{Clock: func() time.Time { return at }, Rand: func(int) int { return 3 }})
	stale.n["b"] = 4
	if r, err := stale.Acquire(ctx, "b", 5); err != nil || r.Granted != 5 || r.Shard >= 2 {
		t.Fatalf("acquire with a stale shard count: %+v %v", r, err)
	}
}

// decodeFake reads an item of the fake through the same decoder.
func decodeFake(it awsfake.Item) (State, error) {
	return decode(toAttrs(it))
}

func toAttrs(it awsfake.Item) map[string]types.AttributeValue {
	out := map[string]types.AttributeValue{}
	for k, v := range it {
		if s, ok := v["S"]; ok {
			out[k] = &types.AttributeValueMemberS{Value: s}
		} else {
			out[k] = &types.AttributeValueMemberN{Value: v["N"]}
		}
	}
	return out
}

// FuzzDecode: an item read from the table is outside input (anyone with
// write access may have put it there); decode refuses what would break the
// arithmetic and never panics.
func FuzzDecode(f *testing.F) {
	f.Add("5", "1796400000000", "10", "20", "1", "3")
	f.Add("-1", "0", "10", "20", "1", "3")
	f.Add("NaN", "0", "1e400", "20", "0", "x")
	f.Fuzz(func(t *testing.T, tokens, last, rate, burst, shards, v string) {
		it := awsfake.Item{"pk": {"S": "b#0"}, "tokens": {"N": tokens}, "last_ms": {"N": last}, "rate": {"N": rate}, "burst": {"N": burst}, "shards": {"N": shards}, "v": {"N": v}}
		s, err := decode(toAttrs(it))
		if err != nil {
			return
		}
		if s.Tokens < 0 || s.Rate < 0 || s.Burst < 0 || s.Shards < 1 || s.Shards > MaxShards || math.IsNaN(s.Tokens) || math.IsInf(s.Rate, 0) {
			t.Fatalf("decoded %+v from %v", s, it)
		}
	})
}
