package sim

import (
	"math"
	"testing"
	"time"
)

func testSQS(k QueueKnobs) *sqsQueue {
	q := &Queue{Name: "q", QueueKnobs: k}
	q.QueueKnobs.defaults()
	return newSQS(q)
}

// A received message that is not deleted is invisible for the visibility
// timeout, then returns with its receive count raised; past
// maxReceiveCount it goes to the dead-letter queue
// (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-visibility-timeout.html,
// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html).
func TestSQSVisibilityTimeoutAndRedrive(t *testing.T) {
	q := testSQS(QueueKnobs{VisibilityTimeout: Duration(20 * time.Second), MaxReceiveCount: 2, BatchSize: 1})
	q.send(0, 100)
	q.tick(0)
	q.receive(q.want(0, 1e9))
	q.settle(0, 1) // every message fails
	for sec := int64(1); sec < 20; sec++ {
		q.tick(sec)
		if q.visible != 0 {
			t.Fatalf("second %d: %v visible inside the 20 s visibility timeout", sec, q.visible)
		}
	}
	q.tick(20)
	if q.visible != 100 || q.pools[1].depth != 100 {
		t.Fatalf("after the timeout: %v visible (%v received once), want 100", q.visible, q.pools[1].depth)
	}
	q.receive(q.want(20, 1e9))
	q.settle(20, 1) // the second receive fails too: maxReceiveCount reached
	q.tick(40)
	if q.dlq != 100 || q.depth() != 0 {
		t.Errorf("after 2 failed receives with maxReceiveCount 2: dead-letter %v, depth %v; want 100 and 0", q.dlq, q.depth())
	}
}

// Without a redrive policy a failing message stays until the retention
// period ends, then SQS deletes it (4 days by default:
// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-basic-architecture.html).
func TestSQSRetentionExpires(t *testing.T) {
	q := testSQS(QueueKnobs{Retention: Duration(10 * time.Minute)})
	q.send(0, 7)
	q.tick(599)
	if q.expired != 0 {
		t.Fatalf("expired %v before the retention period", q.expired)
	}
	q.tick(600)
	if q.expired != 7 || q.depth() != 0 {
		t.Errorf("expired %v, depth %v at 10 minutes; want 7 and 0", q.expired, q.depth())
	}
	if d := testSQS(QueueKnobs{}); d.retention != 4*86400 || d.vt != 30 || d.batch != 10 {
		t.Errorf("defaults: retention %d s, visibility %d s, batch %v; want 4 days, 30 s, 10", d.retention, d.vt, d.batch)
	}
}

// "If a message is received three or more times and not deleted, SQS
// moves it to the back of the queue" and ApproximateAgeOfOldestMessage
// reflects the next message
// (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html).
func TestSQSAgeMetricLeavesOutPoisonMessages(t *testing.T) {
	q := testSQS(QueueKnobs{VisibilityTimeout: Duration(time.Second), BatchSize: 1})
	q.send(0, 1) // the poison message
	sec := int64(0)
	for range 3 { // received and failed three times
		q.tick(sec)
		q.receive(q.want(sec, 1e9))
		q.settle(sec, 1)
		sec++
	}
	q.send(2, 1) // a fresh message, sent before the poison one moves to the back
	q.tick(sec)
	if got := q.metricAge(160); got != 158 {
		t.Errorf("metric age %v, want the fresh message's 158 s, not the poison message's", got)
	}
	if got := q.trueAge(160); got != 160 {
		t.Errorf("true age %v, want the poison message's 160 s", got)
	}
	// Messages moved to the back are received last.
	q.receive(1)
	if q.taken[0].k != 0 {
		t.Errorf("received a message from pool %d first, want the fresh one (pool 0)", q.taken[0].k)
	}
}

// Without ReportBatchItemFailures one failed message returns its whole
// batch; with it, only the failed ones return
// (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html).
func TestSQSBatchFailureReturnsTheBatch(t *testing.T) {
	for _, tc := range []struct {
		partial bool
		want    float64
	}{{false, 1000 * (1 - math.Pow(0.9, 10))}, {true, 100}} {
		q := testSQS(QueueKnobs{BatchSize: 10, ReportBatchItemFailures: tc.partial})
		q.send(0, 1000)
		q.receive(q.want(0, 1e9))
		deleted, _ := q.settle(0, q.returned(1000, 0, 100)) // 10% of the invoked messages failed
		if back := 1000 - deleted; math.Abs(back-tc.want) > 1e-6 {
			t.Errorf("partial %v: %v messages returned, want %v", tc.partial, back, tc.want)
		}
	}
}

// With a batching window, the poller waits for a full batch until the
// oldest message has waited the window
// (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html).
func TestSQSBatchingWindowWaitsForFullBatches(t *testing.T) {
	q := testSQS(QueueKnobs{BatchSize: 10, BatchWindow: Duration(5 * time.Second)})
	q.send(0, 27)
	if got := q.want(2, 1e9); got != 20 {
		t.Errorf("at 2 s: takes %v of 27, want the 2 full batches", got)
	}
	if got := q.want(5, 1e9); got != 27 {
		t.Errorf("at 5 s: takes %v, want all 27 once the window has passed", got)
	}
}

// The poller starts at 5 concurrent batches, adds up to 300 a minute and
// stops at 1,000 (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html).
func TestSQSPollerScaling(t *testing.T) {
	s := setup(t, `
duration: 1h
topology:
  kind: sqs-lambda-dynamodb-downstream
  queue: {name: q, batch_size: 1}
  lambda: {name: fn, reserved: 5000, account_concurrency: 10000, duration: {median: 10s, p99: 10s}}
traffic: {rate: 2000}
`, tablePolicies)
	p := newPlant(s.Scenario, s.curve, nil, 4096)
	p.fn.reserved = 5000
	p.tl = newTimeline(60)
	p.step(0)
	if p.fn.pollers != pollerStart+pollerStep {
		t.Fatalf("after the first second: %v pollers, want 5 + 5", p.fn.pollers)
	}
	for sec := int64(1); sec < 60; sec++ {
		p.step(sec)
	}
	if got := p.fn.pollers; got != pollerStart+300 {
		t.Errorf("after a minute of backlog: %v pollers, want 5 + 300", got)
	}
	for sec := int64(60); sec < 600; sec++ {
		p.step(sec)
	}
	if got := p.fn.pollers; got != pollerMax {
		t.Errorf("after 10 minutes of backlog: %v pollers, want the 1,000 cap", got)
	}
}

// A queue inactive for 6 hours publishes nothing, and when it wakes its
// metrics can be up to 15 minutes late
// (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/monitoring-using-cloudwatch.html).
func TestSQSMetricsSleepWhenIdle(t *testing.T) {
	s := setup(t, `
duration: 8h
topology:
  kind: sqs-lambda-dynamodb-downstream
  queue: {name: q}
  lambda: {name: fn, reserved: 50}
traffic: {rate: 1}
`, tablePolicies)
	p := newPlant(s.Scenario, s.curve, nil, 1<<16)
	p.tl = newTimeline(8 * 60)
	// 7 idle hours, then traffic.
	p.curve = &curve{}
	for sec := range int64(7 * 3600) {
		p.step(sec)
	}
	sn := &Sensor{p: p, start: s.Scenario.Start, seed: 3, cw: s.Scenario.CloudWatch}
	r := resolvedSignal{ok: true, m: mQVisible, stat: "Maximum"}
	if _, ok := sn.statistic(r, 3*3600, 3*3600+60); !ok {
		t.Error("no datapoint 3 hours into the quiet: want one (the queue is not asleep yet)")
	}
	if _, ok := sn.statistic(r, 6*3600+120, 6*3600+180); ok {
		t.Error("a datapoint after 6 hours of quiet: want none")
	}
	// Wake the queue: its first minutes are published late, but within
	// 15 minutes of the wake.
	wake := int64(7 * 3600)
	p.q.send(wake, 5)
	for sec := wake; sec < wake+120; sec++ {
		p.step(sec)
	}
	d := sn.delay(wake/60, svcQueue)
	if d < 0 || d > sqsWakeLateSecond {
		t.Errorf("the wake minute is published %d s after it ends, want up to 15 minutes", d)
	}
	late := 0
	for seed := range uint64(50) {
		sn.seed = seed
		if sn.delay(wake/60, svcQueue) > 3*60 {
			late++
		}
	}
	if late == 0 {
		t.Error("no seed delays the wake minute beyond the usual 3 minutes")
	}
}
