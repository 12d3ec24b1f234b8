package policy

import "time"

// DynamoDB's decrease quota, per table and per GSI: up to 4 decreases at any
// point in a UTC day, then one more only when an hour has passed since the
// last decrease. At most 27 a day.
const (
	FreeDecreasesPerDay = 4
	MaxDecreasesPerDay  = 27
	DecreaseSpacing     = time.Hour
)

// DecreaseQuota is what DescribeTable reports about a table's or index's
// decreases: NumberOfDecreasesToday and LastDecreaseDateTime. Enforced is
// false for services without such a quota.
type DecreaseQuota struct {
	Enforced bool      `json:"enforced"`
	Today    int       `json:"today"`
	Last     time.Time `json:"last,omitzero"`
}

// dayStart is midnight UTC of t's day.
func dayStart(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// used is the number of decreases spent in now's UTC day. A count reported
// for an earlier day no longer applies. A count without a time is taken at
// its word: assuming it stale could overspend the quota.
func (q DecreaseQuota) used(now time.Time) int {
	if !q.Last.IsZero() && q.Last.Before(dayStart(now)) {
		return 0
	}
	return max(q.Today, 0)
}

// Allowed reports whether a decrease may be made at now, and if not, the
// earliest time one will be.
func (q DecreaseQuota) Allowed(now time.Time) (bool, time.Time) {
	if !q.Enforced {
		return true, time.Time{}
	}
	used := q.used(now)
	if used < FreeDecreasesPerDay {
		return true, time.Time{}
	}
	tomorrow := dayStart(now).Add(24 * time.Hour)
	if used >= MaxDecreasesPerDay {
		return false, tomorrow
	}
	next := q.Last.Add(DecreaseSpacing)
	if !now.Before(next) {
		return true, time.Time{}
	}
	if !next.Before(tomorrow) {
		return false, tomorrow // the new day resets the count before the hour is up
	}
	return false, next
}

// FreeLeft is how many decreases may still be made back to back today,
// without waiting an hour between them.
func (q DecreaseQuota) FreeLeft(now time.Time) int {
	if !q.Enforced {
		return FreeDecreasesPerDay
	}
	return max(0, FreeDecreasesPerDay-q.used(now))
}

// Remaining is the most decreases still possible in now's UTC day.
func (q DecreaseQuota) Remaining(now time.Time) int {
	if !q.Enforced {
		return MaxDecreasesPerDay
	}
	used := q.used(now)
	free := max(0, FreeDecreasesPerDay-used)
	end := dayStart(now).Add(24 * time.Hour)
	// After the free ones, one per hour until midnight: the first at the
	// later of now and an hour after the last decrease, or, when free
	// slots remain, an hour after they are spent (now).
	start := now
	switch {
	case free > 0:
		start = now.Add(DecreaseSpacing)
	case !q.Last.IsZero() && q.Last.Add(DecreaseSpacing).After(now):
		start = q.Last.Add(DecreaseSpacing)
	}
	hourly := 0
	if start.Before(end) {
		hourly = int((end.Sub(start) + DecreaseSpacing - 1) / DecreaseSpacing)
	}
	return max(0, min(MaxDecreasesPerDay-used, free+hourly))
}

// Spend returns the quota after a decrease at now.
func (q DecreaseQuota) Spend(now time.Time) DecreaseQuota {
	if !q.Enforced {
		return q
	}
	return DecreaseQuota{Enforced: true, Today: q.used(now) + 1, Last: now}
}
