package sim

import (
	"math"
	"testing"

	"pgregory.net/rapid"
)

// Nothing is created or destroyed in the queue: every message sent is
// visible, in flight, deleted, in the dead-letter queue or expired, under
// any redrive policy, batch size and failure pattern.
func TestSQSConservesMessages(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		q := testSQS(QueueKnobs{
			BatchSize:               float64(rapid.IntRange(1, 10).Draw(rt, "batch")),
			ReportBatchItemFailures: rapid.Bool().Draw(rt, "partial"),
			VisibilityTimeout:       Duration(int64(rapid.IntRange(1, 60).Draw(rt, "vt")) * 1e9),
			MaxReceiveCount:         rapid.IntRange(0, 6).Draw(rt, "maxReceive"),
			Retention:               Duration(int64(rapid.IntRange(60, 600).Draw(rt, "retention")) * 1e9),
		})
		sent, deleted := 0.0, 0.0
		for sec := int64(0); sec < 900; sec++ {
			q.tick(sec)
			n := float64(rapid.IntRange(0, 50).Draw(rt, "n"))
			q.send(sec, n)
			sent += n
			take := q.want(sec, float64(rapid.IntRange(0, 60).Draw(rt, "room")))
			q.receive(take)
			thr := take * rapid.Float64Range(0, 1).Draw(rt, "throttled")
			failed := (take - thr) * rapid.Float64Range(0, 1).Draw(rt, "failed")
			d, again := q.settle(sec, q.returned(take, thr, failed))
			if again > d+1e-9 {
				rt.Fatalf("second %d: %v delayed of %v deleted", sec, again, d)
			}
			deleted += d
			if sum := q.visible + q.flying + deleted + q.dlq + q.expired; math.Abs(sum-sent) > 1e-6*max(1, sent) {
				rt.Fatalf("second %d: visible %v + in flight %v + deleted %v + dead-letter %v + expired %v = %v, sent %v",
					sec, q.visible, q.flying, deleted, q.dlq, q.expired, sum, sent)
			}
		}
	})
}

// Asynchronous events and retrying clients are conserved too: every
// request is served, lost, or still waiting for an attempt.
func TestRetriesConserveRequests(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		a := newAsync(&Async{MaxEventAge: Duration(int64(rapid.IntRange(60, 3600).Draw(rt, "age")) * 1e9), RetryAttempts: ptr(rapid.IntRange(0, 2).Draw(rt, "retries"))})
		c := newClients(&Clients{Retries: rapid.IntRange(1, 5).Draw(rt, "clientRetries"), Backoff: Duration(5e8), MaxBackoff: Duration(30e9), Jitter: rapid.SampledFrom([]string{"full", "equal", "none"}).Draw(rt, "jitter")})
		offered, servedA, servedC := 0.0, 0.0, 0.0
		for sec := int64(0); sec < 1200; sec++ {
			fresh := float64(rapid.IntRange(0, 20).Draw(rt, "fresh"))
			offered += fresh
			thr := rapid.Float64Range(0, 1).Draw(rt, "thr")
			fail := rapid.Float64Range(0, 1).Draw(rt, "fail")
			n := a.attempts(sec, fresh)
			a.settle(sec, thr, fail)
			servedA += n * (1 - thr) * (1 - fail)
			m := c.attempts(sec, fresh)
			c.settle(sec, fail)
			servedC += m * (1 - fail)
		}
		waitingA, waitingC := 0.0, 0.0
		for i := range a.wheel {
			for _, v := range a.wheel[i] {
				waitingA += v
			}
		}
		for i := range c.wheel {
			for _, v := range c.wheel[i] {
				waitingC += v
			}
		}
		if sum := servedA + a.newExpired + a.newFailed + waitingA; math.Abs(sum-offered) > 1e-6*max(1, offered) {
			rt.Fatalf("async: served %v + expired %v + failed %v + waiting %v = %v, offered %v", servedA, a.newExpired, a.newFailed, waitingA, sum, offered)
		}
		if sum := servedC + c.newLost + waitingC; math.Abs(sum-offered) > 1e-6*max(1, offered) {
			rt.Fatalf("clients: served %v + lost %v + waiting %v = %v, offered %v", servedC, c.newLost, waitingC, sum, offered)
		}
	})
}
