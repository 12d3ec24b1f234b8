package config

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// MinInterval is the shortest time between two ticks. A tick reads
// 1-minute CloudWatch metrics and pays for each one; faster ticks only
// spend control-plane quota and money on data that has not changed.
const MinInterval = 10 * time.Second

// cronParser accepts standard five-field specs, an optional leading
// seconds field, descriptors such as @hourly and "@every 1m", and a
// CRON_TZ= prefix. The daemon parses with this same parser, so validate
// refuses exactly what run would.
var cronParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// scheduleEpoch is where firings are checked from: any fixed instant works,
// since every cron pattern repeats within a few years.
var scheduleEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// ParseSchedule parses a daemon schedule and checks that it fires, and
// never faster than MinInterval.
func ParseSchedule(spec string) (s cron.Schedule, err error) {
	// robfig/cron panics on some malformed input (such as "TZ="); a bad
	// spec in a policies file must be an error, never a crash.
	defer func() {
		if p := recover(); p != nil {
			s, err = nil, fmt.Errorf("malformed cron spec: %v", p)
		}
	}()
	s, err = cronParser.Parse(spec)
	if err != nil {
		return nil, err
	}
	// robfig/cron silently raises "@every" below 1s to 1s, and gives up (a
	// zero time) on specs that never fire, such as February 30th; the
	// first would tick every second, the second spin the loop.
	if every, ok := s.(cron.ConstantDelaySchedule); ok {
		return s, checkEvery(spec, every.Delay)
	}
	if s.Next(scheduleEpoch).IsZero() {
		return nil, errors.New("the schedule never fires")
	}
	if gap := shortestGap(s); gap < MinInterval {
		return nil, fmt.Errorf("fires %s apart; the shortest interval is %s", gap, MinInterval)
	}
	return s, nil
}

func checkEvery(spec string, robfig time.Duration) error {
	d := robfig
	if after, ok := strings.CutPrefix(spec, "@every "); ok {
		if parsed, err := time.ParseDuration(after); err == nil {
			d = parsed // what the user wrote, before robfig's rounding
		}
	}
	if d < MinInterval {
		return fmt.Errorf("every %s is too often; the shortest interval is %s", d, MinInterval)
	}
	return nil
}

// shortestGap is the shortest wait between the first firings of s. Cron
// patterns repeat each minute, hour or day, so a few hundred firings show
// the tightest spacing of all but exotic date-bound specs, and the limit
// keeps validation bounded.
func shortestGap(s cron.Schedule) time.Duration {
	const firings = 400
	shortest := time.Duration(1<<63 - 1)
	t := s.Next(scheduleEpoch)
	for range firings {
		n := s.Next(t)
		if n.IsZero() {
			break
		}
		shortest = min(shortest, n.Sub(t))
		t = n
	}
	return shortest
}

// schedule checks a schedule key as the daemon will read it.
func (o *obj) schedule(key string, dst *string) {
	if !o.str(key, dst) {
		return
	}
	if _, err := ParseSchedule(*dst); err != nil {
		o.check(false, key, "invalid schedule %q: %v", *dst, err)
	}
}
