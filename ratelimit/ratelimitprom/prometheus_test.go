package ratelimitprom_test

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/autotuner/autotuner/ratelimit"
	"github.com/autotuner/autotuner/ratelimit/ratelimitprom"
)

// Each event lands in the counter or histogram of its bucket.
func TestRecorderCounts(t *testing.T) {
	reg := prometheus.NewRegistry()
	r := ratelimitprom.New(reg)
	r.Record("a", ratelimit.Event{Acquired: 3})
	r.Record("a", ratelimit.Event{Acquired: 2, Denied: 4, Wait: 250 * time.Millisecond})
	r.Record("b", ratelimit.Event{Degraded: true})
	for name, want := range map[string]float64{
		"autotuner_ratelimit_acquired_tokens_total": 5,
		"autotuner_ratelimit_denied_tokens_total":   4,
		"autotuner_ratelimit_degraded_total":        1,
		"autotuner_ratelimit_wait_seconds":          1, // one observation
	} {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		got := -1.0 // not collected
		for _, mf := range mfs {
			if mf.GetName() != name {
				continue
			}
			got = 0
			for _, m := range mf.GetMetric() {
				if h := m.GetHistogram(); h != nil {
					got += float64(h.GetSampleCount())
				} else {
					got += m.GetCounter().GetValue()
				}
			}
		}
		if got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
}
