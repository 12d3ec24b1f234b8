package sim

// Asynchronous invocation as documented
// (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html):
// Lambda queues the event; a throttled event (429) "returns to the queue"
// and is retried for up to the maximum event age (6 hours by default),
// "the retry interval increases exponentially from 1 second after the
// first attempt to a maximum of 5 minutes"; a function error is retried
// twice by default, "with a one-minute wait between the first two
// attempts, and two minutes between the second and third". Each throttled
// attempt counts in Throttles.
//
// What becomes of an event: served on some attempt (delayed if not the
// first); lost when its age passes the maximum (expired) or its last
// retry fails (failed). The model does not slow the retries when the
// queue is long, which AWS also does.

// asyncWheelSize covers the longest wait between attempts, 5 minutes.
const asyncWheelSize = 512

// maxThrottleWait is the longest wait between throttled attempts.
const maxThrottleWait = 300

// asyncQueue holds events waiting for an attempt, by the second of the
// attempt and their state: e function errors so far, j throttles since.
type asyncQueue struct {
	maxAge  int64
	retries int // function-error retries allowed
	nj      int // throttle states: attempts while the age stays below maxAge
	wheel   [asyncWheelSize][]float64
	cur     []float64 // this second's attempts by state
	tAge    []int64   // age after j throttles
	total   float64   // events in this second's attempts

	newExpired, newFailed, newDelayed float64
}

func newAsync(a *Async) *asyncQueue {
	q := &asyncQueue{maxAge: a.MaxEventAge.Seconds(), retries: *a.RetryAttempts}
	age := int64(0)
	for j := 0; ; j++ {
		q.tAge = append(q.tAge, age)
		if age >= q.maxAge {
			break
		}
		age += throttleWait(j)
	}
	q.nj = len(q.tAge)
	n := (q.retries + 1) * q.nj
	for i := range q.wheel {
		q.wheel[i] = make([]float64, n)
	}
	q.cur = make([]float64, n)
	return q
}

// throttleWait is the wait after the j-th throttle: 1 s, doubling, at
// most 5 minutes.
func throttleWait(j int) int64 {
	if j >= 9 {
		return maxThrottleWait
	}
	return min(int64(1)<<j, maxThrottleWait)
}

// errorAge is an event's age after e function errors: 1 and 2 minutes.
func errorAge(e int) int64 { return int64(60 * e * (e + 1) / 2) }

// attempts gathers second t's attempts: the retries due and the fresh
// events. It returns how many.
func (q *asyncQueue) attempts(t int64, fresh float64) float64 {
	slot := q.wheel[t&(asyncWheelSize-1)]
	q.total = fresh
	for i, v := range slot {
		q.cur[i] = v
		q.total += v
		slot[i] = 0
	}
	q.cur[0] += fresh
	return q.total
}

// settle ends second t: a share of the attempts was throttled, and of
// those admitted a share failed. Throttled events wait and retry until
// they are too old; failed ones are retried as configured.
func (q *asyncQueue) settle(t int64, throttledShare, failedShare float64) {
	if q.total <= 0 {
		return
	}
	for i, c := range q.cur {
		if c <= 0 {
			continue
		}
		q.cur[i] = 0
		e, j := i/q.nj, i%q.nj
		thr := c * throttledShare
		adm := c - thr
		if thr > 0 {
			q.retryThrottled(t, e, j, thr)
		}
		failed := adm * failedShare
		if i > 0 {
			q.newDelayed += adm - failed
		}
		if failed > 0 {
			q.retryFailed(t, e, failed)
		}
	}
}

func (q *asyncQueue) retryThrottled(t int64, e, j int, n float64) {
	if j+1 >= q.nj || errorAge(e)+q.tAge[j+1] >= q.maxAge {
		q.newExpired += n
		return
	}
	at := t + throttleWait(j)
	q.wheel[at&(asyncWheelSize-1)][e*q.nj+j+1] += n
}

func (q *asyncQueue) retryFailed(t int64, e int, n float64) {
	if e >= q.retries || errorAge(e+1) >= q.maxAge {
		q.newFailed += n
		return
	}
	at := t + int64(60*(e+1))
	q.wheel[at&(asyncWheelSize-1)][(e+1)*q.nj] += n
}
