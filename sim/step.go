package sim

import "math"

// second is one simulated second as it flows through the plant's stages.
type second struct {
	t, ts int64 // the plant's second, and the scenario's (the warm-up holds 0)

	arr, clientErr float64 // arrivals, and those the client's own errors end
	entered        float64 // attempts reaching the API, retries included
	in             float64 // attempts past the API
	api429         float64

	extra              float64 // the downstream's latency added to every invocation
	attempts, admitted float64 // invocations tried and started
	lthr, conc         float64

	tab                    tableStep
	calls, failedD, capNow float64
	served, failed, age    float64
	perInvocation          float64 // messages per invocation
}

// step simulates second t: the request path stage by stage, then what
// CloudWatch is told, the score and the timeline.
func (p *plant) step(t int64) {
	p.applyDue(t)
	s := second{t: t, ts: max(t-p.warm, 0), perInvocation: 1}
	p.entry(&s)
	p.function(&s)
	p.backend(&s)
	p.settle(&s)
	p.publish(&s)
	p.score(&s)
	p.record(&s)
}

// entry is the traffic at the front: arrivals, the clients' retries due,
// and API Gateway's throttles.
func (p *plant) entry(s *second) {
	s.arr = p.arr.draw(p.curve.rate(s.ts))
	if p.api != nil && p.api.clientErr > 0 {
		// The client's own errors (4xx other than 429) are neither
		// offered to the system nor retried.
		s.clientErr = s.arr * p.api.clientErr
	}
	p.k.offered += s.arr - s.clientErr
	s.in = s.arr - s.clientErr
	if p.clients != nil {
		s.in = p.clients.attempts(s.t, s.in)
	}
	s.entered = s.in
	if p.api != nil {
		s.in, s.api429 = p.api.admit(s.in)
	}
}

// function starts what the function may take: from the queue through
// the poller, from the asynchronous event queue, or straight from the
// caller.
func (p *plant) function(s *second) {
	fn, k, t := &p.fn, &p.k, s.t
	if p.down != nil {
		s.extra = math.Round(p.latency*1000) / 1000 // to the millisecond, so the split durations are reused
	}
	e0 := fn.e0(s.extra)
	carried := fn.carry(t)
	if q := p.q; q != nil {
		dlq0, expired0 := q.dlq, q.expired
		q.tick(t)
		k.lose(lostDeadLetter, q.dlq-dlq0)
		k.lose(lostExpired, q.expired-expired0)
		q.send(t, s.in)
		pollCap := fn.pollers
		if fn.esmMax > 0 {
			pollCap = min(pollCap, fn.esmMax)
		}
		s.attempts = q.want(t, fn.room(pollCap, carried, e0))
		q.receive(s.attempts)
	} else {
		s.attempts = s.in
		if p.async != nil {
			s.attempts = p.async.attempts(t, s.in)
		}
	}
	s.admitted = min(s.attempts, fn.room(fn.limit(), carried, e0))
	s.lthr = s.attempts - s.admitted
	s.conc = fn.grow(t, fn.start(t, s.admitted, s.extra))
	if q := p.q; q != nil {
		switch {
		case s.lthr > 0:
			// Throttled: the poller backs off to what the function takes.
			fn.pollers = max(pollerStart, s.conc+pollerStep)
		case q.visible >= 1:
			fn.pollers = min(fn.pollers+pollerStep, pollerMax)
		default:
			fn.pollers = max(pollerStart, min(fn.pollers, s.conc+pollerStep))
		}
	}
}

// backend is what the invocations call: the table, then the downstream.
func (p *plant) backend(s *second) {
	t := s.t
	if tb := p.table; tb != nil {
		s.tab = tb.serve(s.admitted)
		st := &s.tab
		p.cw.put(mTReadThrottle, t, st.fr)
		p.cw.put(mTWriteThrottle, t, st.fw)
		p.cw.put(mTThrottledRequests, t, st.fr+st.fw)
		p.cw.put(mTConsumedRead, t, st.sr)
		p.cw.put(mTConsumedWrite, t, st.sw)
		p.cw.put(mTRequests, t, s.admitted)
		p.cw.put(mTProvRead, t, tb.read.prov)
		p.cw.put(mTProvWrite, t, tb.write.prov)
		if tb.read.onDemand {
			p.k.cost += st.sr*PriceReadUnitOD + st.sw*PriceWriteUnitOD
		} else {
			p.k.cost += (tb.read.prov*PriceRCUHour + tb.write.prov*PriceWCUHour) / 3600
		}
		if (t+1)%60 == 0 {
			tb.read.endMinute(t / 60)
			tb.write.endMinute(t / 60)
		}
	}
	s.calls = s.admitted - s.tab.failed
	if d := p.down; d != nil {
		s.capNow = d.capacity * p.curve.capacityFactor(s.ts)
		s.failedD, p.latency = d.serve(s.calls, p.curve.capacityFactor(s.ts))
		p.cw.put(mDLatency, t, p.latency*1000)
		p.cw.put(mDErrors, t, s.failedD)
		p.cw.put(mDRequests, t, s.calls)
	}
	s.served = s.calls - s.failedD
	s.failed = s.tab.failed + s.failedD
}

// settle ends the queue's receive: deleted, or back for a retry.
func (p *plant) settle(s *second) {
	q := p.q
	if q == nil {
		return
	}
	t := s.t
	var again float64
	s.served, again = q.settle(t, q.returned(s.attempts, s.lthr, s.failed))
	p.k.delay(again)
	q.observe(t, s.in > 0 || s.attempts > 0 || q.depth() >= 0.5)
	s.age = q.trueAge(t)
	p.cw.put(mQAge, t, q.metricAge(t))
	p.cw.put(mQVisible, t, q.visible)
	p.cw.put(mQSent, t, s.in)
	p.cw.put(mQDeleted, t, s.served)
	p.cw.put(mQQuiet, t, float64(t+1-q.quietSince))
	p.cw.put(mQWoke, t, float64(t-q.wokeAt))
	s.perInvocation = q.batch
}

// publish writes the API's and the function's metrics for the second.
func (p *plant) publish(s *second) {
	t := s.t
	if p.api != nil {
		p.cw.put(mAPICount, t, s.entered+s.clientErr) // every attempt, retries included
		p.cw.put(mAPI4xx, t, s.api429+s.clientErr)
		fivexx := 0.0
		if p.q == nil && p.async == nil {
			fivexx = s.lthr + s.failed
		}
		p.cw.put(mAPI5xx, t, fivexx)
	}
	p.cw.put(mLInvocations, t, s.admitted/s.perInvocation)
	p.cw.put(mLThrottles, t, s.lthr/s.perInvocation)
	p.cw.put(mLConcurrent, t, s.conc)
	p.cw.put(mLErrors, t, s.failed)
	p.cw.put(mLDuration, t, (p.fn.mean+s.extra)*1000)
}

// score counts the second into the KPIs. What is lost and what is only
// delayed depends on who retries: a retrying client, Lambda's
// asynchronous queue, the SQS queue, or nobody.
func (p *plant) score(s *second) {
	k := &p.k
	// What a retrying client gets back is counted in clientsSettle: a
	// 429, and for a synchronous backend every throttle and failure.
	lost429 := s.api429
	if p.clients != nil {
		p.clientsSettle(s.t, s.entered, s.api429, s.lthr, s.failed)
		lost429 = 0
	}
	switch {
	case p.async != nil:
		// Lambda retries an asynchronous event itself: it is lost only
		// when too old or out of retries, and delayed if served late.
		a := p.async
		a.settle(s.t, safeDiv(s.lthr, s.attempts), safeDiv(s.failed, s.admitted))
		k.lose(lostThrottled, lost429)
		k.lose(lostExpired, a.newExpired)
		k.lose(lostFailed, a.newFailed)
		k.delay(a.newDelayed)
		a.newExpired, a.newFailed, a.newDelayed = 0, 0, 0
	case p.q == nil && p.clients == nil:
		// A synchronous caller that does not retry loses what was
		// turned away or failed.
		k.lose(lostThrottled, s.api429+s.lthr)
		k.lose(lostFailed, s.failed)
	case p.q == nil:
	default:
		// The client of the queue's API does not retry a 429; behind
		// the queue every failure is redelivered (delayed, see settle).
		k.lose(lostThrottled, lost429)
	}
	k.served += s.served
	k.apiThrottled += s.api429
	k.lambdaThrottled += s.lthr
	k.tableThrottled += s.tab.failed
	k.downstreamErrors += s.failedD
	if s.tab.failed > 0 || (p.down != nil && s.calls > s.capNow) {
		k.overloadS++
	}
	k.observeAge(s.age)
}

// record adds the second to the minute's timeline.
func (p *plant) record(s *second) {
	a := &p.acc
	a.offered += s.arr
	a.served += s.served
	a.apiThr += s.api429
	a.lThr += s.lthr
	a.tThr += s.tab.failed
	a.dErr += s.failedD
	a.need += s.attempts * (p.fn.mean + s.extra)
	a.conc = max(a.conc, s.conc)
	a.depth = max(a.depth, p.depthNow())
	a.age = max(a.age, s.age)
	a.dLoad += s.calls
	a.dCap += s.capNow
	a.lat += p.latency
	a.tNeed += max(s.tab.dr, s.tab.dw)
	a.tUsed += max(s.tab.sr, s.tab.sw)
	if (s.t+1)%60 == 0 {
		p.flushMinute()
	}
}
