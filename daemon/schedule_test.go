package daemon

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/autotuner/autotuner/config"
)

func mustParse(t *testing.T, yaml string) *config.File {
	t.Helper()
	f, err := config.Parse("p.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

const twoSchedules = `version: 1
defaults: {schedule: "@every 1m"}
targets:
  - {name: a, kind: lambda-reserved-concurrency, function: a, min: 1, max: 10, signals: {s: {namespace: N, metric: M, stat: Sum}}, policy: {static: {}}}
  - {name: b, kind: lambda-reserved-concurrency, function: b, min: 1, max: 10, schedule: "0 */5 * * * *", signals: {s: {namespace: N, metric: M, stat: Sum}}, policy: {static: {}}}
  - {name: c, kind: lambda-reserved-concurrency, function: c, min: 1, max: 10, signals: {s: {namespace: N, metric: M, stat: Sum}}, policy: {static: {}}}
`

func TestPlanGroupsAndCoalesces(t *testing.T) {
	p, err := newPlan(mustParse(t, twoSchedules))
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 25, 12, 0, 30, 0, time.UTC)
	p.start(t0)
	type step struct {
		at   time.Time
		want []string
	}
	// @every 1m fires at t0+1m, t0+2m, …; "0 */5 * * * *" at 12:05:00.
	steps := []step{
		{t0.Add(time.Minute), []string{"a", "c"}},
		{t0.Add(2 * time.Minute), []string{"a", "c"}},
		{time.Date(2026, 11, 25, 12, 5, 0, 0, time.UTC), []string{"b"}},
		{t0.Add(5 * time.Minute), []string{"a", "c"}},
	}
	for i, s := range steps {
		t.Run("", func(t *testing.T) {
			// Fire the few minutes in between so the global group stays
			// in step, as the daemon's loop would.
			for p.nextFiring().Before(s.at) {
				p.due(p.nextFiring())
			}
			if got := p.nextFiring(); !got.Equal(s.at) {
				t.Fatalf("step %d: next firing %v, want %v", i, got, s.at)
			}
			if diff := cmp.Diff(s.want, p.due(s.at)); diff != "" {
				t.Errorf("step %d: due (-want +got):\n%s", i, diff)
			}
		})
	}
}

func TestPlanSameSpecCoalescesIntoOneGroup(t *testing.T) {
	f := mustParse(t, strings.Replace(twoSchedules, `schedule: "0 */5 * * * *"`, `schedule: "@every 1m"`, 1))
	p, err := newPlan(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.groups) != 1 {
		t.Fatalf("got %d groups, want 1", len(p.groups))
	}
	p.start(time.Unix(0, 0))
	if diff := cmp.Diff([]string{"b", "a", "c"}, p.due(p.nextFiring())); diff != "" {
		t.Error(diff)
	}
}

func TestPlanReportsEveryBadSpec(t *testing.T) {
	// config refuses these first; the daemon checks again, so a File
	// built any other way cannot start a bad schedule.
	f := mustParse(t, twoSchedules)
	f.Defaults.Schedule = "every minute"
	f.Targets[1].Schedule = "61 * * * *"
	_, err := newPlan(f)
	if err == nil {
		t.Fatal("no error for two bad specs")
	}
	got := Problems(err)
	if len(got) != 2 || !strings.Contains(got[0], "defaults.schedule") || !strings.Contains(got[1], "targets[1].schedule") || !strings.Contains(got[1], "p.yaml:5:") {
		t.Errorf("problems = %q; want both specs named with their positions", got)
	}
}

func TestPeriod(t *testing.T) {
	p, err := newPlan(mustParse(t, twoSchedules))
	if err != nil {
		t.Fatal(err)
	}
	if got := p.period(time.Unix(0, 0).UTC()); got != 5*time.Minute {
		t.Errorf("period = %v, want the longest, 5m", got)
	}
}

func FuzzParseSchedule(f *testing.F) {
	for _, s := range []string{"@every 1m", "*/5 * * * *", "0 */5 * * * *", "CRON_TZ=UTC 0 3 * * *", "@hourly", "", "@every -1s", "0 0 30 2 *", "* * * * * * *"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		s, err := ParseSchedule(spec)
		if err != nil {
			return
		}
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		if n := s.Next(now); !n.IsZero() && !n.After(now) {
			t.Errorf("%q: next %v is not after %v", spec, n, now)
		}
	})
}

// Property: however targets are spread over schedules, each firing names
// every due target once, the next firing is always in the future, and
// every target is evaluated at least once per its own period.
func TestPlanProperty(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		n := rapid.IntRange(1, 12).Draw(rt, "targets")
		global := rapid.IntRange(10, 600).Draw(rt, "global_s")
		var b strings.Builder
		fmt.Fprintf(&b, "version: 1\ndefaults: {schedule: \"@every %ds\"}\ntargets:\n", global)
		period := map[string]time.Duration{}
		for i := range n {
			name := fmt.Sprintf("t%d", i)
			sched, p := "", time.Duration(global)*time.Second
			if rapid.Bool().Draw(rt, "own") {
				s := rapid.IntRange(10, 600).Draw(rt, "own_s")
				sched, p = fmt.Sprintf(", schedule: \"@every %ds\"", s), time.Duration(s)*time.Second
			}
			period[name] = p
			fmt.Fprintf(&b, "  - {name: %s, kind: lambda-reserved-concurrency, function: %s, min: 1, max: 10%s, signals: {s: {namespace: N, metric: M, stat: Sum}}, policy: {static: {}}}\n", name, name, sched)
		}
		f, err := config.Parse("p.yaml", []byte(b.String()))
		if err != nil {
			rt.Fatal(err)
		}
		p, err := newPlan(f)
		if err != nil {
			rt.Fatal(err)
		}
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		p.start(now)
		last := map[string]time.Time{}
		for name := range period {
			last[name] = now
		}
		for range rapid.IntRange(1, 50).Draw(rt, "firings") {
			now = p.nextFiring()
			due := p.due(now)
			seen := map[string]bool{}
			for _, name := range due {
				if seen[name] {
					rt.Fatalf("%s named twice in one firing", name)
				}
				seen[name] = true
				last[name] = now
			}
			if !p.nextFiring().After(now) {
				rt.Fatalf("next firing %v is not after %v", p.nextFiring(), now)
			}
			for name, at := range last {
				if now.Sub(at) > period[name] {
					rt.Fatalf("%s not evaluated for %v, its period is %v", name, now.Sub(at), period[name])
				}
			}
		}
	})
}

// LongestGap is the longest wait between ticks of all the schedules
// together, which a lease renewed once per tick must outlast.
func TestLongestGap(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 30, 0, time.UTC)
	for _, tc := range []struct {
		global, own string
		want        time.Duration
	}{
		{"@every 1m", "", time.Minute},
		{"0 0 9,17 * * *", "", 16 * time.Hour},
		// A target of its own every 5 minutes fills the global gaps.
		{"0 0 9,17 * * *", "0 */5 * * * *", 5 * time.Minute},
		// Past the week, at least one gap is measured.
		{"@yearly", "", 365 * 24 * time.Hour},
	} {
		own := ""
		if tc.own != "" {
			own = `, schedule: "` + tc.own + `"`
		}
		f := mustParse(t, `version: 1
defaults: {schedule: "`+tc.global+`"}
targets:
  - {name: a, kind: lambda-reserved-concurrency, function: a, min: 1, max: 10, signals: {s: {namespace: N, metric: M, stat: Sum}}, policy: {static: {}}}
  - {name: b, kind: lambda-reserved-concurrency, function: b, min: 1, max: 10`+own+`, signals: {s: {namespace: N, metric: M, stat: Sum}}, policy: {static: {}}}
`)
		got, err := LongestGap(f, now)
		if err != nil || got != tc.want {
			t.Errorf("%q + %q: %v %v, want %v", tc.global, tc.own, got, err, tc.want)
		}
	}
}
