package controller_test

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/policy"
)

// BenchmarkAuditEncode encodes the audit records of a real tick of 1,000
// Lambda targets as JSON lines: the daemon writes one per target per tick,
// so its cost scales with the fleet. Compare runs with benchstat when the
// Record or Decision encoding changes.
func BenchmarkAuditEncode(b *testing.B) {
	const n = 1000
	var targets []string
	values := map[string]float64{}
	for i := range n {
		name := fmt.Sprintf("fn-%04d", i)
		targets = append(targets, lambdaTarget(name, ""))
		values[name] = 100
	}
	r := newRig(b, policies(b, targets...), values, func(now time.Time, target string) policy.Signals {
		return busy(now, float64(40+len(target)%60))
	})
	res, err := r.c.Tick(context.Background(), t0.Add(time.Minute), controller.TickOptions{})
	if err != nil {
		b.Fatal(err)
	}
	sink := controller.NewJSONLines(io.Discard)
	b.ReportAllocs()
	for b.Loop() {
		for _, rec := range res.Records {
			if err := sink.Write(rec); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/n, "µs/record")
}
