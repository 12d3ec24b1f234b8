package sensors

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/autotuner/autotuner/policy"
)

// BenchmarkPlanAndParse10k builds the GetMetricData requests of 10,000
// targets (30,000 queries, 60 calls) and parses a full answer for them.
func BenchmarkPlanAndParse10k(b *testing.B) {
	// Two files: one would pass the loader's 4 MB limit.
	targets := append(parse(b, fleetFrom(0, 5000)).Targets, parse(b, fleetFrom(5000, 5000)).Targets...)
	p := NewPlan(targets, now, DefaultLookback)
	// One answer per call: each query's newest period.
	answers := make([][]types.MetricDataResult, len(p.Batches))
	for i, bt := range p.Batches {
		ts := []time.Time{bt.end.Add(-time.Minute)}
		for _, q := range bt.queries {
			answers[i] = append(answers[i], types.MetricDataResult{Id: q.Id, StatusCode: types.StatusCodeComplete, Timestamps: ts, Values: []float64{1}})
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		p := NewPlan(targets, now, DefaultLookback)
		out := make(map[string]policy.Signals, len(targets))
		for i, bt := range p.Batches {
			acc := make(map[string]*series, len(bt.queries))
			merge(acc, answers[i])
			bt.fanOut(acc, out)
		}
		if len(out) != len(targets) {
			b.Fatalf("%d targets read", len(out))
		}
	}
	b.ReportMetric(float64(len(p.Batches)), "calls/op")
}
