package sensors

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/policy"
)

// series is one query's datapoints gathered over every page of a call.
type series struct {
	ts     []time.Time
	vals   []float64
	status types.StatusCode
}

// merge adds one page's results to acc, keyed by query ID. Datapoints of
// an ID may be split across pages; the last page's status wins, since
// PartialData on an earlier page only means "more follows".
func merge(acc map[string]*series, results []types.MetricDataResult) {
	for _, r := range results {
		if r.Id == nil {
			continue
		}
		s := acc[*r.Id]
		if s == nil {
			s = &series{}
			acc[*r.Id] = s
		}
		n := min(len(r.Timestamps), len(r.Values))
		s.ts = append(s.ts, r.Timestamps[:n]...)
		s.vals = append(s.vals, r.Values[:n]...)
		s.status = r.StatusCode
	}
}

// newest is the newest datapoint inside [start, end−period] — a whole
// period that ended by end — and whether one exists.
func (s *series) newest(start, end time.Time, period time.Duration) (time.Time, float64, bool) {
	var at time.Time
	var v float64
	ok := false
	last := end.Add(-period)
	for i, t := range s.ts {
		if t.Before(start) || t.After(last) {
			continue
		}
		if !ok || t.After(at) {
			at, v, ok = t, s.vals[i], true
		}
	}
	return at, v, ok
}

// fanOut turns one batch's gathered results into readings of the target
// signals it serves, into out[target][signal].
//
// The rules, in order:
//   - a query AWS did not answer, or answered InternalError or Forbidden,
//     is missing: its absence says nothing, so no zero-rule applies;
//   - PartialData after the last page is missing too: the newest period
//     may be among what was left out;
//   - a sparse counter (missing: zero) reads only the newest complete
//     period; with no datapoint there, its rule makes it 0;
//   - any other signal reads the newest datapoint in the window, so a gauge
//     reported a period late is still seen, stamped with its own period;
//   - per_second divides by the period.
func (b *batch) fanOut(acc map[string]*series, out map[string]policy.Signals) {
	p := b.class.period
	latest := b.end.Add(-p)
	for id, refs := range b.fan {
		s := acc[id]
		usable := s != nil && (s.status == types.StatusCodeComplete || s.status == "")
		var at time.Time
		var v float64
		var have, haveLatest bool
		if usable {
			at, v, have = s.newest(b.start, b.end, p)
			haveLatest = have && at.Equal(latest)
		}
		for _, r := range refs {
			var sig policy.Signal
			switch {
			case !usable:
				// missing, and unknown: no rule may fill it in
				sig.Why, sig.Failed = "CloudWatch did not answer this query", "transient"
				if s != nil {
					sig.Why = "CloudWatch query status " + string(s.status)
					if s.status == types.StatusCodeForbidden {
						sig.Failed = "permission"
					}
				}
			case r.sig.Missing == config.MissingZero:
				if haveLatest {
					sig = policy.Reading(v, at)
				}
				sig = r.sig.Apply(sig, latest)
			case have:
				sig = policy.Reading(v, at)
			default:
				sig = r.sig.Apply(sig, latest)
			}
			if sig.Valid && r.sig.PerSecond {
				sig.Value /= p.Seconds()
			}
			m := out[r.target]
			if m == nil {
				m = policy.Signals{}
				out[r.target] = m
			}
			m[r.sig.Name] = sig
		}
	}
}
