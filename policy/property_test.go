package policy

import (
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"
)

// world is one random target: a policy, its guards and bounds, and the
// signals it reads.
type world struct {
	e        *Engine
	min, max float64
	res      float64
	signals  []string
	needed   []string // missing any of these must never lead to a decrease
	quota    bool     // DynamoDB's decrease quota applies
	ceiling  float64
}

func drawWorld(t *rapid.T) *world {
	w := &world{signals: []string{"busy", "throttles", "age", "pain", "served", "arrivals", "depth"}}
	w.res = rapid.SampledFrom([]float64{0, 1, 0.01}).Draw(t, "resolution")
	q := w.res
	if q == 0 {
		q = 0.5
	}
	allowZero := rapid.Bool().Draw(t, "allow_zero")
	lowest := 1
	if allowZero {
		lowest = 0
	}
	w.min = float64(rapid.IntRange(lowest, 50).Draw(t, "min")) * q
	w.max = w.min + float64(rapid.IntRange(0, 5000).Draw(t, "span"))*q
	if w.res == 0.01 {
		w.min, w.max = quantize(w.min, 0.01, true), quantize(w.max, 0.01, false)
	}
	step := func(name string) Step {
		return Step{
			Pct:   rapid.SampledFrom([]float64{0, 0.05, 0.2, 0.5, 1, 3}).Draw(t, name+"_pct"),
			Units: rapid.SampledFrom([]float64{0, 1, 7, 100}).Draw(t, name+"_units"),
		}
	}
	dur := func(name string) time.Duration {
		return time.Duration(rapid.IntRange(0, 30).Draw(t, name)) * time.Minute
	}
	g := Guards{
		StepUp: step("up"), StepDown: step("down"),
		CooldownUp: dur("cooldown_up"), CooldownDown: dur("cooldown_down"),
		Stabilization: dur("stabilization"),
		DeadBand:      Step{Pct: rapid.SampledFrom([]float64{0, 0.02, 0.1}).Draw(t, "dead_band")},
		MinDecrease:   rapid.SampledFrom([]float64{0, 0.05, 0.1, 0.3}).Draw(t, "min_decrease"),
		Resolution:    w.res, AllowZero: allowZero,
		AlarmBypassesCooldown: rapid.Bool().Draw(t, "alarm_bypass"),
	}
	g.StabilizationMax = g.Stabilization * time.Duration(rapid.SampledFrom([]int{0, 1, 2, 6}).Draw(t, "stabilization_max_factor"))
	for i := range rapid.IntRange(0, 2).Draw(t, "guards") {
		warn := rapid.Float64Range(0, 10).Draw(t, "warn")
		g.BackPressure = append(g.BackPressure, BackPressure{
			Signal: rapid.SampledFrom([]string{"pain", "age"}).Draw(t, "guard_signal"), Warn: warn,
			Critical: warn + rapid.Float64Range(0, 50).Draw(t, "critical"),
			Cut:      rapid.Float64Range(0.05, 0.9).Draw(t, "cut"),
		})
		_ = i
	}
	w.quota = rapid.Bool().Draw(t, "dynamodb")
	if w.quota {
		g.DecreaseReserve = rapid.IntRange(0, 4).Draw(t, "reserve")
		g.MinSaving = rapid.SampledFrom([]float64{0, 0.05, 0.1, 0.3}).Draw(t, "min_saving")
	}
	if rapid.Bool().Draw(t, "has_ceiling") {
		w.ceiling = w.min + float64(rapid.IntRange(0, 5000).Draw(t, "ceiling"))*q
	}
	w.e = &Engine{Guards: g}
	switch kind := rapid.SampledFrom([]string{"autotuner", "autotuner", "autotuner", "target-tracking", "hpa", "step-scaling", "threshold", "aimd", "static"}).Draw(t, "policy"); kind {
	case "autotuner":
		p := DefaultAutotuner()
		p.Band = rapid.SampledFrom([]float64{0, 0.05, 0.1, 0.3}).Draw(t, "band")
		p.PID = PID{
			Kp: rapid.Float64Range(0, 3).Draw(t, "kp"), Ki: rapid.Float64Range(0, 1).Draw(t, "ki"),
			Kd: rapid.Float64Range(0, 1).Draw(t, "kd"), DFilter: rapid.Float64Range(0, 1).Draw(t, "d_filter"),
			IntegralLimit: rapid.SampledFrom([]float64{0, 0.5, 5}).Draw(t, "integral_limit"),
		}
		p.UpAfter = rapid.IntRange(1, 3).Draw(t, "up_after")
		p.DownAfter = rapid.IntRange(1, 8).Draw(t, "down_after")
		if rapid.Bool().Draw(t, "utilization") {
			p.Setpoints = append(p.Setpoints, Setpoint{Signal: "busy", Target: rapid.Float64Range(0.05, 1).Draw(t, "util"), PerLimit: true})
			w.needed = append(w.needed, "busy")
		}
		if rapid.Bool().Draw(t, "backlog") {
			up := rapid.Bool().Draw(t, "backlog_up_only")
			p.Setpoints = append(p.Setpoints, Setpoint{Signal: "age", Target: rapid.Float64Range(1, 600).Draw(t, "age_target"), UpOnly: up})
			if !up {
				w.needed = append(w.needed, "age")
			}
		}
		if rapid.Bool().Draw(t, "feedforward") {
			ff := Setpoint{Signal: "arrivals", Target: 0.7, PerLimit: true, UpOnly: true, Factor: rapid.Float64Range(0.1, 5).Draw(t, "per_request")}
			if rapid.Bool().Draw(t, "drain") {
				ff.Backlog, ff.Drain = "depth", rapid.Float64Range(1, 3600).Draw(t, "drain_s")
			}
			p.Setpoints = append(p.Setpoints, ff)
		}
		if len(p.Setpoints) == 0 || rapid.Bool().Draw(t, "throttle") {
			p.Throttles = &ThrottleSpec{Signal: "throttles", Boost: rapid.Float64Range(0, 2).Draw(t, "boost")}
			if rapid.Bool().Draw(t, "requests") {
				p.Throttles.Requests = "served"
			}
			w.needed = append(w.needed, "throttles")
		}
		w.e.Rec = &Autotuner{P: p}
	case "target-tracking":
		p := DefaultTargetTracking()
		p.Signal, p.InMargin = "busy", rapid.Float64Range(0, 0.5).Draw(t, "in_margin")
		p.OutAfter, p.InAfter = rapid.IntRange(1, 3).Draw(t, "out_after"), rapid.IntRange(1, 15).Draw(t, "in_after")
		w.e.Rec, w.needed = &TargetTracking{P: p}, []string{"busy"}
	case "hpa":
		p := DefaultHPA()
		p.Signal = "busy"
		w.e.Rec, w.needed = &HPA{P: p}, []string{"busy"}
	case "step-scaling":
		p := DefaultStepScaling()
		p.Signal = "busy"
		w.e.Rec, w.needed = &StepScaling{P: p}, []string{"busy"}
	case "threshold":
		p := DefaultThreshold()
		p.Signal, p.Throttles = "busy", "throttles"
		p.ChecksBeforeDown = rapid.IntRange(1, 10).Draw(t, "checks")
		w.e.Rec, w.needed = &Threshold{P: p}, []string{"busy"}
	case "aimd":
		p := DefaultAIMD()
		p.Signal, p.Throttles, p.Congestion, p.CongestionAt = "busy", "throttles", "pain", 20
		w.e.Rec, w.needed = &AIMD{P: p}, []string{"busy"}
	case "static":
		w.e.Rec = &Static{}
	}
	return w
}

// drawReading is a signal as a broken or sparse metric may deliver it.
func drawReading(t *rapid.T, name string, now time.Time) (Signal, bool) {
	switch rapid.IntRange(0, 9).Draw(t, name+"_kind") {
	case 0:
		return Signal{}, false // a gap
	case 1:
		return Signal{Value: rapid.SampledFrom([]float64{math.NaN(), math.Inf(1), math.Inf(-1)}).Draw(t, name+"_odd"), At: now, Valid: true}, true
	case 2:
		return Reading(-rapid.Float64Range(0, 1e6).Draw(t, name+"_neg"), now), true
	case 3:
		return Reading(rapid.SampledFrom([]float64{0, 1e300, 5e-324}).Draw(t, name+"_edge"), now), true
	case 4:
		return Reading(rapid.Float64Range(0, 100).Draw(t, name+"_v"), time.Time{}), true // no period start
	default:
		return Reading(rapid.Float64Range(0, 2000).Draw(t, name+"_v"), now), true
	}
}

func finiteMemory(m *Memory) bool {
	for _, v := range []float64{m.Integral, m.LastRequired, m.DFiltered, m.Actuation.LastSet, m.Actuation.Original} {
		if !finite(v) {
			return false
		}
	}
	for _, r := range m.Window {
		if !finite(r.Value) {
			return false
		}
	}
	return true
}

func cutIn(d *Decision) bool {
	for _, s := range d.Steps() {
		if s.Guard == GuardBackPressure && strings.HasPrefix(s.Rule, "multiplicative cut") {
			return true
		}
	}
	return false
}

func TestPropertyDecide(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		w := drawWorld(t)
		cur := w.min + rapid.Float64Range(0, 1).Draw(t, "start")*(w.max-w.min)
		if w.res > 0 {
			cur = math.Min(quantize(cur, w.res, true), w.max)
		}
		if !w.e.Guards.AllowZero && cur <= 0 {
			cur = w.max
		}
		hi := w.max
		if w.ceiling > 0 && w.ceiling < hi {
			hi = w.ceiling
		}
		mem := NewMemory()
		q := DecreaseQuota{Enforced: w.quota}
		now := time.Date(2026, 3, 10, 20, 0, 0, 0, time.UTC) // crosses midnight UTC within the run
		perDay := map[time.Time]int{}
		for i := range rapid.IntRange(1, 80).Draw(t, "ticks") {
			now = now.Add(rapid.SampledFrom([]time.Duration{10 * time.Second, time.Minute, time.Minute, 5 * time.Minute, time.Hour}).Draw(t, "dt"))
			stamp := now.Add(-readingDelay).Truncate(time.Minute)
			if rapid.IntRange(0, 4).Draw(t, "stale") == 0 {
				stamp = stamp.Add(-time.Duration(rapid.IntRange(1, 10).Draw(t, "lag")) * time.Minute)
			}
			sigs := Signals{}
			for _, name := range w.signals {
				if s, ok := drawReading(t, name, stamp); ok {
					sigs[name] = s
				}
			}
			con := Constraints{Ceiling: w.ceiling, Decreases: q}
			if rapid.IntRange(0, 9).Draw(t, "blocked") == 0 {
				con.Blocked = "UPDATING"
			}
			in := Input{Now: now, Current: cur, Min: w.min, Max: w.max, Signals: sigs, Constraints: con, Alarm: rapid.IntRange(0, 9).Draw(t, "alarm") == 0}
			before := mem.Clone()
			d, next := w.e.Decide(in, mem)
			where := func() string { return "tick " + now.Format(time.DateTime) + ": " + d.Explain() }

			if diff := cmp.Diff(before, mem); diff != "" {
				t.Fatalf("%s\nDecide changed its input memory:\n%s", where(), diff)
			}
			if !finite(d.Final) || !finite(d.Proposed) || !finiteMemory(&next) {
				t.Fatalf("%s\nnot a number out: final %v proposed %v memory %+v", where(), d.Final, d.Proposed, next)
			}
			if _, err := json.Marshal(next); err != nil {
				t.Fatalf("%s\nmemory does not serialize: %v", where(), err)
			}
			if _, err := json.Marshal(d); err != nil {
				t.Fatalf("%s\ndecision does not serialize: %v", where(), err)
			}
			inBounds := cur >= w.min && cur <= hi
			if inBounds && (d.Final < w.min-1e-9 || d.Final > hi+1e-9) {
				t.Fatalf("%s\nfinal %v outside [%v, %v]", where(), d.Final, w.min, hi)
			}
			if !w.e.Guards.AllowZero && d.Final <= 0 && inBounds {
				t.Fatalf("%s\nfinal %v: zero is not allowed", where(), d.Final)
			}
			cut := cutIn(&d)
			q1 := math.Max(w.res, 0)
			if inBounds && d.Final > cur {
				lim := capOf(w.e.Guards.StepUp, cur, q1)
				if ev := d.Terms.Evidence; ev > cur {
					lim = math.Max(lim, ev-cur+q1) // evidence is not held by a cap meant for noise (then rounded up)
				}
				if d.Final-cur > lim+1e-9*cur {
					t.Fatalf("%s\nstep up %v exceeds the cap %v", where(), d.Final-cur, lim)
				}
			}
			if inBounds && d.Final < cur && !cut {
				if lim := capOf(w.e.Guards.StepDown, cur, q1); cur-d.Final > lim+1e-9*cur {
					t.Fatalf("%s\nstep down %v exceeds the cap %v", where(), cur-d.Final, lim)
				}
				last := before.LastDown
				if before.LastUp.After(last) {
					last = before.LastUp
				}
				if cd := w.e.Guards.CooldownDown; cd > 0 && !last.IsZero() && now.Before(last.Add(cd)) {
					t.Fatalf("%s\ndecrease during the down cooldown (last change %v)", where(), last)
				}
				for _, name := range w.needed {
					if !sigs[name].Present() {
						t.Fatalf("%s\ndecrease while %s is missing", where(), name)
					}
				}
				if con.Blocked != "" {
					t.Fatalf("%s\nchange while blocked", where())
				}
				stabilized := slices.ContainsFunc(d.Steps(), func(g GuardStep) bool { return g.Guard == GuardStabilization && g.To > g.From }) &&
					!slices.ContainsFunc(d.Steps(), func(g GuardStep) bool { return g.Guard == GuardStepDown })
				if md := w.e.Guards.MinDecrease; md > 0 && stabilized && cur-d.Final < md*cur-1e-9 && d.Final > w.min {
					t.Fatalf("%s\nthe window left a decrease of %v, inside the %v band", where(), cur-d.Final, md)
				}
			}
			if g := w.e.Guards; g.StabilizationMax > g.Stabilization {
				if win := g.window(&next); win > g.StabilizationMax || win < g.Stabilization {
					t.Fatalf("%s\nwindow %v outside [%v, %v]", where(), win, g.Stabilization, g.StabilizationMax)
				}
			}
			if d.Final < cur && w.quota {
				if ok, _ := q.Allowed(now); !ok {
					t.Fatalf("%s\ndecrease beyond the DynamoDB quota %+v", where(), q)
				}
				q = q.Spend(now)
				perDay[dayStart(now)]++
				if perDay[dayStart(now)] > MaxDecreasesPerDay {
					t.Fatalf("%s\nmore than %d decreases in a day", where(), MaxDecreasesPerDay)
				}
			}
			cur, mem = d.Final, next
			// Now and then someone changes the limit by hand, within bounds.
			if rapid.IntRange(0, 19).Draw(t, "hand") == 0 {
				cur = w.min + rapid.Float64Range(0, 1).Draw(t, "hand_value")*(w.max-w.min)
				if w.res > 0 {
					cur = math.Min(quantize(cur, w.res, true), w.max)
				}
				if !w.e.Guards.AllowZero && cur <= 0 {
					cur = w.max
				}
			}
			_ = i
		}
	})
}

// capOf is the documented step cap: the tighter of the percentage and the
// units, never less than one quantum (and from zero, units only), plus
// less than one quantum of rounding towards more capacity.
func capOf(s Step, cur, quantum float64) float64 {
	l := s.Pct * math.Abs(cur)
	if s.Pct == 0 || cur <= 0 {
		l = math.Inf(1)
	}
	if s.Units > 0 {
		l = math.Min(l, s.Units)
	}
	return math.Max(l, quantum) + quantum
}
