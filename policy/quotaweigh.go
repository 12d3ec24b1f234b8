package policy

import (
	"math"
	"time"
)

// ReasonQuotaWeighed: a table raised for throttles by less than the
// throttle boost asked for, because the rest would be held until the
// decrease quota lets it down while the throttles measured none of it.
// Value is the throttled requests of the datapoint, Param the capacity
// units not bought, Until when the quota next allows a decrease.
const ReasonQuotaWeighed = "quota_weighed"

// weighQuota weighs a DynamoDB table's decrease quota before an increase
// that only a throttle boost (a guess, not a measurement) sizes.
//
// DynamoDB lets a table or index decrease its capacity 4 times at any time
// in a UTC day, then once an hour (ServiceQuotas, "Decreasing provisioned
// throughput": https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html).
// Capacity raised for a short burst is therefore paid for until the
// quota next lets it down, often an hour, where a function's concurrency
// comes down the next minute. So the raise is weighed:
//   - what it avoids: T throttled requests in the datapoint. A raise of T
//     units would have served every one of them however they fell within
//     the period (a unit serves one more request each second), and one
//     noise band on top covers the next peak that counting noise explains;
//   - what it costs: every unit beyond that is held until the quota lets
//     it down, and avoids no throttle the data shows.
//
// The partial raise (T + one band, and never below what the other
// setpoints ask for) is taken when it is the smaller. Where the burst is
// not short, the evidence says so: a throttle datapoint taken under the
// partial raise, within the time it is held, gets the full raise, and a
// measured throttle share (Evidence) or an alarm is never weighed. The
// burst bank, when DynamoDB has one to spend, absorbs short bursts first:
// a throttle seen at all means it was empty.
func (a *Autotuner) weighQuota(in *Input, mem *Memory, est *estimate, st *stage, prop *Proposal) {
	q := in.Constraints.Decreases
	cur := in.Current
	if !q.Enforced || prop.Reason.Code != ReasonThrottled || est.evidence || in.Alarm || prop.Value <= cur || cur <= 0 {
		return
	}
	if !mem.Weighed.IsZero() && mem.Weighed.Equal(mem.LastUp) && !mem.LastDown.After(mem.Weighed) {
		return // throttled again under the partial raise, still in force: the burst is not short
	}
	base := math.Max(cur, 1e-9)
	partial := cur + est.throttled + st.band*cur
	partial = math.Max(partial, est.sized*base)
	partial = math.Max(partial, est.predicted*base)
	if partial >= prop.Value {
		return
	}
	prop.Reason = Reason{Code: ReasonQuotaWeighed, Signal: prop.Reason.Signal, Value: est.throttled, Param: prop.Value - partial, Until: quotaHold(in)}
	prop.Value = partial
	mem.Weighed = in.Now
}

// quotaHold is when the decrease quota next lets the table down after a
// raise now: at once while the day's free decreases last, else an hour
// after the last decrease (or midnight UTC when the day's quota is spent).
func quotaHold(in *Input) time.Time {
	if ok, next := in.Constraints.Decreases.Allowed(in.Now); !ok {
		return next
	}
	return in.Now
}
