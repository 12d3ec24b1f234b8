package policy

import (
	"testing"
	"time"
)

func clock(day, hh, mm int) time.Time { return time.Date(2026, 3, day, hh, mm, 0, 0, time.UTC) }

func TestDecreaseQuotaAllowed(t *testing.T) {
	for _, tc := range []struct {
		name   string
		q      DecreaseQuota
		now    time.Time
		ok     bool
		next   time.Time
		remain int
	}{{
		name: "fresh day", q: DecreaseQuota{Enforced: true}, now: clock(10, 0, 0), ok: true, remain: 27,
	}, {
		name: "three spent, one free left", q: DecreaseQuota{Enforced: true, Today: 3, Last: clock(10, 9, 0)}, now: clock(10, 9, 5), ok: true,
		// 1 free now, then hourly from 10:05 to 23:05: 14.
		remain: 15,
	}, {
		name: "four spent, within the hour", q: DecreaseQuota{Enforced: true, Today: 4, Last: clock(10, 9, 0)}, now: clock(10, 9, 30),
		next: clock(10, 10, 0), remain: 14, // 10:00, 11:00 … 23:00
	}, {
		name: "four spent, an hour later", q: DecreaseQuota{Enforced: true, Today: 4, Last: clock(10, 9, 0)}, now: clock(10, 10, 0), ok: true, remain: 14,
	}, {
		// The hour after the last decrease runs past midnight: the new
		// day's free decreases come first, but not one more today.
		name: "four spent, late evening", q: DecreaseQuota{Enforced: true, Today: 4, Last: clock(10, 23, 30)}, now: clock(10, 23, 45),
		next: clock(11, 0, 0), remain: 0,
	}, {
		name: "all 27 spent", q: DecreaseQuota{Enforced: true, Today: 27, Last: clock(10, 22, 0)}, now: clock(10, 23, 30),
		next: clock(11, 0, 0), remain: 0,
	}, {
		name: "yesterday's count no longer applies", q: DecreaseQuota{Enforced: true, Today: 27, Last: clock(10, 23, 59)}, now: clock(11, 0, 0), ok: true, remain: 27,
	}, {
		// A count without a time is taken at its word.
		name: "count without a time", q: DecreaseQuota{Enforced: true, Today: 27}, now: clock(10, 12, 0), next: clock(11, 0, 0),
	}, {
		name: "not enforced", q: DecreaseQuota{Today: 99, Last: clock(10, 12, 0)}, now: clock(10, 12, 1), ok: true, remain: 27,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			ok, next := tc.q.Allowed(tc.now)
			if ok != tc.ok || !next.Equal(tc.next) {
				t.Errorf("Allowed = %v, %v; want %v, %v", ok, next, tc.ok, tc.next)
			}
			if got := tc.q.Remaining(tc.now); got != tc.remain {
				t.Errorf("Remaining = %d, want %d", got, tc.remain)
			}
		})
	}
}

// A whole day of decreases at the service's pace: 4 free, then one per
// hour, never more than 27.
func TestDecreaseQuotaSpendAllDay(t *testing.T) {
	q := DecreaseQuota{Enforced: true}
	n := 0
	for now := clock(10, 0, 0); now.Before(clock(11, 0, 0)); now = now.Add(time.Minute) {
		if ok, _ := q.Allowed(now); ok {
			q = q.Spend(now)
			n++
		}
	}
	if n != MaxDecreasesPerDay {
		t.Fatalf("decreases in a day = %d, want %d", n, MaxDecreasesPerDay)
	}
}

// pace runs the engine every 5 minutes with a proposal 15% below the
// limit, keeping the decrease quota as DynamoDB would, and returns the
// times of the decreases.
func pace(t *testing.T, g Guards, from, to time.Time, critical func(time.Time) bool) []time.Time {
	t.Helper()
	e := guarded(g)
	q := DecreaseQuota{Enforced: true}
	cur, mem := 1e8, NewMemory()
	var got []time.Time
	perDay := map[time.Time]int{}
	for now := from; now.Before(to); now = now.Add(5 * time.Minute) {
		e.Rec.(*fixed).v = cur * 0.85
		sigs := Signals{}
		if critical != nil && critical(now) {
			sigs["pain"] = Reading(100, now)
		}
		d, m := e.Decide(Input{Now: now, Current: cur, Min: 1, Max: 1e9, Signals: sigs, Constraints: Constraints{Decreases: q}}, mem)
		if d.Action == Down {
			if ok, _ := q.Allowed(now); !ok {
				t.Fatalf("%s: a decrease the service would refuse\n%s", now.Format(time.TimeOnly), d.Explain())
			}
			q = q.Spend(now)
			got = append(got, now)
			perDay[dayStart(now)]++
		}
		cur, mem = d.Final, m
	}
	for day, n := range perDay {
		if n > MaxDecreasesPerDay {
			t.Fatalf("%s: %d decreases", day.Format(time.DateOnly), n)
		}
	}
	return got
}

func TestDecreaseBudgetPacing(t *testing.T) {
	g := Guards{Resolution: 1, DecreaseReserve: 1, MinSaving: 0.1}
	got := pace(t, g, clock(10, 22, 0), clock(11, 3, 0), nil)
	want := []time.Time{
		// Three free decreases back to back; the fourth free one is kept
		// in reserve while the last decrease is less than an hour old.
		clock(10, 22, 0), clock(10, 22, 5), clock(10, 22, 10),
		// An hour on, a decrease needs no reserve: it is the fourth.
		clock(10, 23, 10),
		// The quota is spent for today: the next waits for midnight UTC,
		// not for 00:10, and the new day starts its own count.
		clock(11, 0, 0), clock(11, 0, 5), clock(11, 0, 10),
		clock(11, 1, 10),
		// Then one an hour.
		clock(11, 2, 10),
	}
	if !equalTimes(got, want) {
		t.Fatalf("decreases at\n%v\nwant\n%v", fmtTimes(got), fmtTimes(want))
	}
	// Over a whole day the pace never passes the quota.
	if all := pace(t, g, clock(12, 0, 0), clock(13, 0, 0), nil); len(all) != 26 {
		t.Fatalf("decreases in a day = %d, want 26 (3 free + 23 hourly)", len(all))
	}
}

func TestDecreaseBudgetReserveIsForCuts(t *testing.T) {
	g := Guards{Resolution: 1, DecreaseReserve: 1, MinSaving: 0.1, BackPressure: []BackPressure{{Signal: "pain", Warn: 1, Critical: 50, Cut: 0.3}}}
	// Downstream turns critical at 22:15, when the reserve is all that is left.
	got := pace(t, g, clock(10, 22, 0), clock(10, 22, 20), func(now time.Time) bool { return now.Equal(clock(10, 22, 15)) })
	want := []time.Time{clock(10, 22, 0), clock(10, 22, 5), clock(10, 22, 10), clock(10, 22, 15)}
	if !equalTimes(got, want) {
		t.Fatalf("decreases at %v, want %v", fmtTimes(got), fmtTimes(want))
	}
}

func TestDecreaseBudgetMinSaving(t *testing.T) {
	q := Constraints{Decreases: DecreaseQuota{Enforced: true}}
	s := newScript(guarded(Guards{Resolution: 1, MinSaving: 0.1}), 1, 100, 100)
	s.run(t, []step{
		// Saving 5% is not worth one of 27 slots.
		{at: 0, propose: 95, con: q, want: 100, action: Hold, guards: "service"},
		{at: time.Minute, propose: 90, con: q, want: 90, action: Down, guards: "-"},
		// Back under a lowered max is not a saving to weigh: it is the rule.
		{at: 2 * time.Minute, propose: 104, current: 105, con: q, want: 100, action: Down, guards: "bounds"},
	})
}

func equalTimes(a, b []time.Time) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].Equal(b[i]) {
			return false
		}
	}
	return true
}

func fmtTimes(ts []time.Time) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Format("02 15:04")
	}
	return out
}
