package sim

// SQS and the Lambda poller, as documented:
//
//   - The poller "starts processing five batches at a time with five
//     concurrent invocations", adds "up to 300 more instances per minute",
//     and "the maximum number of batches that an event source mapping can
//     process simultaneously is 1,000"
//     (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html).
//   - A received message is invisible for the visibility timeout (30 s by
//     default), and returns with its receive count raised if it is not
//     deleted; past the redrive policy's maxReceiveCount it moves to the
//     dead-letter queue; after the retention period (4 days by default) it
//     is deleted (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-visibility-timeout.html,
//     https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html).
//     A throttled batch was received too, so it counts towards
//     maxReceiveCount (Lambda advises a maxReceiveCount of at least 5 for
//     that reason: https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html).
//   - Batch size (10 by default) and batching window (0 s by default for a
//     standard queue); without ReportBatchItemFailures one failed message
//     returns its whole batch (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html).
//   - ApproximateAgeOfOldestMessage leaves out a message received 3 or
//     more times and not deleted: SQS moves it to the back of the queue
//     and the metric reflects the next message
//     (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html).
//   - A queue inactive for 6 hours stops publishing metrics, and can take
//     up to 15 minutes to publish again when it wakes
//     (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/monitoring-using-cloudwatch.html).
//
// What becomes of a message: deleted after a successful invocation
// (served); returned after a failure or a throttle and retried later
// (delayed, if it then succeeds); moved to the dead-letter queue or
// expired (lost).
const (
	pollerStart       = 5    // concurrent batches when messages appear
	pollerStep        = 5    // up to 300 more a minute
	pollerMax         = 1000 // batches an event source mapping processes at once
	ageExcludedAfter  = 3    // receives after which a message leaves the age metric
	sqsIdleSeconds    = 6 * 3600
	sqsWakeLateSecond = 15 * 60
)

// sqsQueue is a standard queue with its redrive policy: visible messages
// in pools by how many times they have been received, the messages in
// flight, and what the poller took this second.
type sqsQueue struct {
	pools    []*queue   // pools[k]: visible messages received k times
	inflight ring[held] // received, invisible until .at, by .at
	taken    []held     // what this second's poll took, settled after the invocations
	visible  float64
	flying   float64

	vt, retention, window int64
	maxReceive            int // 0: no redrive policy
	batch                 float64
	partial               bool // ReportBatchItemFailures

	// Idle tracking for the metrics: when the queue last went quiet, and
	// when it last woke from a quiet of 6 hours or more.
	quietSince, wokeAt int64

	// Counters for the KPIs: in all, and since the plant last took them.
	dlq, expired, redelivered float64
}

// held is n messages sent in second t, received k times, visible again
// (or moved to the dead-letter queue) at second at.
type held struct {
	at, t int64
	k     int
	n     float64
}

func newSQS(q *Queue) *sqsQueue {
	s := &sqsQueue{
		vt: q.VisibilityTimeout.Seconds(), retention: q.Retention.Seconds(), window: q.BatchWindow.Seconds(),
		maxReceive: q.MaxReceiveCount, batch: q.BatchSize, partial: q.ReportBatchItemFailures,
		quietSince: 0, wokeAt: -1 << 40,
	}
	s.pools = []*queue{newQueue()}
	s.inflight = newRing[held](64)
	return s
}

func (s *sqsQueue) pool(k int) *queue {
	for len(s.pools) <= k {
		s.pools = append(s.pools, newQueueSized(64))
	}
	return s.pools[k]
}

// depth is every message not yet deleted.
func (s *sqsQueue) depth() float64 { return s.visible + s.flying }

// send adds n messages sent in second t.
func (s *sqsQueue) send(t int64, n float64) {
	s.pools[0].push(t, n)
	s.visible += n
}

// tick returns the messages whose visibility timeout ended to their pool,
// or to the dead-letter queue, and drops those past the retention period.
func (s *sqsQueue) tick(t int64) {
	for s.inflight.len() > 0 && s.inflight.front().at <= t {
		h := s.inflight.pop()
		s.flying -= h.n
		if s.maxReceive > 0 && h.k >= s.maxReceive {
			s.dlq += h.n
			continue
		}
		q := s.pool(h.k)
		if h.k >= ageExcludedAfter {
			q.pushBack(h.t, t, h.n) // SQS moved it to the back of the queue
		} else {
			q.push(h.t, h.n)
		}
		s.visible += h.n
	}
	if s.retention > 0 {
		for _, q := range s.pools {
			for q.size > 0 && t-q.buf[q.head].t >= s.retention {
				n := q.buf[q.head].n
				q.pop(n)
				s.visible -= n
				s.expired += n
			}
		}
	}
	s.flying = max(s.flying, 0)
	s.visible = max(s.visible, 0)
}

// want is how many visible messages the poller takes when it could take
// room: whole batches only while the batching window is still open.
func (s *sqsQueue) want(t int64, room float64) float64 {
	n := min(s.visible, room)
	if s.window > 0 && s.batch > 1 && s.headAge(t, 1<<30) < s.window {
		n = min(n, float64(int64(s.visible/s.batch))*s.batch)
	}
	return float64(int64(n + 1e-9))
}

// receive takes n visible messages, oldest first; a message received 3
// times or more was moved to the back of the queue when it returned, and
// is ordered by that moment.
func (s *sqsQueue) receive(n float64) {
	s.taken = s.taken[:0]
	for n > 1e-12 {
		k := s.oldestPool()
		if k < 0 {
			break
		}
		q := s.pools[k]
		h := &q.buf[q.head]
		take := min(n, h.n)
		s.taken = append(s.taken, held{t: h.t, k: k, n: take})
		q.pop(take)
		s.visible -= take
		n -= take
	}
	s.visible = max(s.visible, 0)
}

// oldestPool is the pool whose head is taken next, or −1.
func (s *sqsQueue) oldestPool() int {
	best, bestT := -1, int64(1<<62)
	for k, q := range s.pools {
		if q.size == 0 || q.depth < 1e-12 {
			continue
		}
		if t := q.buf[q.head].back; t < bestT {
			best, bestT = k, t
		}
	}
	return best
}

// returned is the share of the messages taken that go back to the queue
// when throttled of them were throttled and failed of the invoked ones
// failed. A throttle turns away whole batches already; a failed message
// returns its whole batch without ReportBatchItemFailures.
func (s *sqsQueue) returned(taken, throttled, failed float64) float64 {
	if taken <= 0 {
		return 0
	}
	invoked := taken - throttled
	g := 0.0
	if invoked > 0 {
		g = min(max(failed/invoked, 0), 1)
	}
	if !s.partial && s.batch > 1 && g > 0 {
		g = 1 - pow(1-g, s.batch)
	}
	return min(max((throttled+invoked*g)/taken, 0), 1)
}

// settle ends this second's receive: of the messages taken, a share
// returns (see returned) and the rest is deleted. It returns the messages
// deleted, and how many of those had been received before (delayed: they
// succeeded on a retry).
func (s *sqsQueue) settle(t int64, returnedShare float64) (deleted, again float64) {
	f := min(max(returnedShare, 0), 1)
	for _, h := range s.taken {
		back := h.n * f
		deleted += h.n - back
		if h.k > 0 {
			again += h.n - back
		}
		if back > 0 {
			s.inflight.push(held{at: t + s.vt, t: h.t, k: h.k + 1, n: back})
			s.flying += back
			s.redelivered += back
		}
	}
	s.taken = s.taken[:0]
	return deleted, again
}

// headAge is the age of the oldest message received fewer than limit
// times, visible or in flight (approximately: the head of each).
func (s *sqsQueue) headAge(t int64, limit int) int64 {
	oldest := int64(1 << 62)
	for k, q := range s.pools {
		if k >= limit {
			break
		}
		if q.size > 0 && q.depth >= 0.5 {
			oldest = min(oldest, q.buf[q.head].t)
		}
	}
	if s.inflight.len() > 0 {
		if h := s.inflight.front(); h.k < limit && s.flying >= 0.5 {
			oldest = min(oldest, h.t)
		}
	}
	if oldest == 1<<62 {
		return 0
	}
	return t - oldest
}

// metricAge is ApproximateAgeOfOldestMessage: messages received 3 or more
// times are left out.
func (s *sqsQueue) metricAge(t int64) float64 { return float64(s.headAge(t, ageExcludedAfter)) }

// trueAge is the age of the oldest message of all, what a user waits.
func (s *sqsQueue) trueAge(t int64) float64 { return float64(s.headAge(t, 1<<30)) }

// observe updates the idle tracking for second t.
func (s *sqsQueue) observe(t int64, active bool) {
	if !active {
		return
	}
	if t-s.quietSince >= sqsIdleSeconds {
		s.wokeAt = t
	}
	s.quietSince = t + 1
}

func pow(b, e float64) float64 {
	r := 1.0
	for i := 0; i < int(e); i++ {
		r *= b
	}
	return r
}

// chunk is the messages sent in one second that are still queued.
type chunk struct {
	t    int64 // sent
	back int64 // its place in the queue: when sent, or when moved to the back
	n    float64
}

// queue is an SQS queue: FIFO chunks by send second, so the age of the
// oldest message is exact to the second. The ring's size is a power of
// two; it grows by doubling, which happens only while a backlog reaches a
// new maximum.
type queue struct {
	buf   []chunk
	mask  int
	head  int
	size  int
	depth float64
}

func newQueue() *queue { return &queue{buf: make([]chunk, 4096), mask: 4095} }

func (q *queue) push(t int64, n float64) { q.pushBack(t, t, n) }

// pushBack adds n messages sent at t whose place in the queue is back.
func (q *queue) pushBack(t, back int64, n float64) {
	if n <= 0 {
		return
	}
	q.depth += n
	if q.size > 0 {
		last := &q.buf[(q.head+q.size-1)&q.mask]
		if last.t == t && last.back == back {
			last.n += n
			return
		}
	}
	if q.size == len(q.buf) {
		nb := make([]chunk, 2*len(q.buf))
		for i := 0; i < q.size; i++ {
			nb[i] = q.buf[(q.head+i)&q.mask]
		}
		q.buf, q.head, q.mask = nb, 0, len(nb)-1
	}
	q.buf[(q.head+q.size)&q.mask] = chunk{t: t, back: back, n: n}
	q.size++
}

// pop removes n messages from the head (oldest first).
func (q *queue) pop(n float64) {
	for n > 0 && q.size > 0 {
		h := &q.buf[q.head]
		if h.n > n {
			h.n -= n
			q.depth -= n
			return
		}
		n -= h.n
		q.depth -= h.n
		q.head = (q.head + 1) & q.mask
		q.size--
	}
	if q.size == 0 || q.depth < 1e-9 {
		q.depth = max(q.depth, 0)
	}
}

// age is the age of the oldest message at second t. A fractional message
// left over by the fluid model does not count as a message.
func (q *queue) age(t int64) float64 {
	if q.size == 0 || q.depth < 0.5 {
		return 0
	}
	return float64(t - q.buf[q.head].t)
}

func newQueueSized(n int) *queue { return &queue{buf: make([]chunk, n), mask: n - 1} }

// ring is a FIFO (its size a power of two) that grows by doubling and otherwise reuses its memory.
type ring[T any] struct {
	buf        []T
	head, size int
}

func newRing[T any](n int) ring[T] { return ring[T]{buf: make([]T, n)} }

func (r *ring[T]) len() int  { return r.size }
func (r *ring[T]) front() *T { return &r.buf[r.head] }

func (r *ring[T]) push(v T) {
	if r.size == len(r.buf) {
		nb := make([]T, 2*len(r.buf))
		for i := 0; i < r.size; i++ {
			nb[i] = r.buf[(r.head+i)&(len(r.buf)-1)]
		}
		r.buf, r.head = nb, 0
	}
	r.buf[(r.head+r.size)&(len(r.buf)-1)] = v
	r.size++
}

func (r *ring[T]) pop() T {
	v := r.buf[r.head]
	r.head = (r.head + 1) & (len(r.buf) - 1)
	r.size--
	return v
}
