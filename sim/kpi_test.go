package sim

import (
	"context"
	"testing"
)

// Lost and delayed follow the topology: a synchronous caller that does not
// retry loses every throttle and failure, so what was offered is served or
// lost; behind a queue the API's 429s, dead-lettered and expired messages
// are lost, and every other failure is redelivered, so a message deleted
// after one counts as delayed.
func TestLostAndDelayedFollowTheTopology(t *testing.T) {
	for _, name := range []string{"flash-crowd", "brownout"} {
		sc, err := LoadScenario(name)
		if err != nil {
			t.Fatal(err)
		}
		pn, pd, err := PoliciesFor(sc)
		if err != nil {
			t.Fatal(err)
		}
		s, err := Prepare(sc, pn, pd, "")
		if err != nil {
			t.Fatal(err)
		}
		res, err := s.Compare(context.Background(), []string{PolicyAutotuner, "target-tracking", PolicyStatic}, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			k, l, lo := r.KPIs, r.Layers, r.Losses
			if k.Lost != lo.Throttled+lo.Failed+lo.DeadLetter+lo.Expired {
				t.Errorf("%s/%s: lost %d is not the sum of %+v", name, r.Policy, k.Lost, lo)
			}
			if sum := sumOf(r.Timeline.Lost); sum < float64(k.Lost)-2 || sum > float64(k.Lost)+2 {
				t.Errorf("%s/%s: the timeline loses %v, the KPIs %d", name, r.Policy, sum, k.Lost)
			}
			if sync := sc.Topology.Queue == nil; sync {
				if d := k.Offered - k.Served - k.Lost; d < -2 || d > 2 {
					t.Errorf("%s/%s: offered %d ≠ served %d + lost %d", name, r.Policy, k.Offered, k.Served, k.Lost)
				}
				if lo.Throttled != l.APIGateway+l.Lambda || lo.Failed != l.DynamoDB+l.Downstream || k.Delayed != 0 {
					t.Errorf("%s/%s: synchronous losses %+v from layers %+v, delayed %d", name, r.Policy, lo, l, k.Delayed)
				}
				continue
			}
			if lo.Throttled != l.APIGateway || lo.Failed != 0 || k.Served+k.Lost > k.Offered+2 || k.Delayed > k.Served {
				t.Errorf("%s/%s: behind a queue lost %+v (API 429s %d), delayed %d, served %d of %d", name, r.Policy, lo, l.APIGateway, k.Delayed, k.Served, k.Offered)
			}
			if failures := l.Lambda + l.DynamoDB + l.Downstream; failures > 0 && k.Delayed == 0 {
				t.Errorf("%s/%s: %d failures behind the queue, none delayed", name, r.Policy, failures)
			}
		}
	}
}

func sumOf(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s
}
