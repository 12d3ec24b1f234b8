package policy

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// t0 is the start of every script: noon UTC, so a script of a few hours
// never crosses a UTC day unless it means to.
var t0 = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

// readingDelay is how far behind now the newest complete 1-minute period
// starts, as a sensor with a 2-minute metric delay reads it.
const readingDelay = 3 * time.Minute

// step is one moment of a script: at t0+at these readings arrive, and the
// engine must end at want, for the reason and through the guards named.
type step struct {
	at  time.Duration      // since t0
	sig map[string]float64 // present readings; any other signal is missing
	// stamp, when set, is the period start of every reading, since t0; by
	// default it is the newest complete minute (now − 3m, truncated).
	stamp *time.Duration
	// stamps overrides the period start of single signals, since t0.
	stamps map[string]time.Duration
	// live names readings with no period at all (zero At), such as
	// another target's limit in force.
	live  []string
	con   Constraints
	alarm bool
	// propose is the value the fixed recommender proposes (guard tests).
	propose float64
	// current, when set, replaces the value in force before deciding: a
	// hand change, or a service that did not apply the last decision.
	current float64

	want   float64
	action Action // checked when set
	why    string // reason code of the proposal, checked when set
	guards string // space-separated guards that must have acted, in order; "-" for none
	check  func(t *testing.T, d *Decision, m *Memory)
}

func at(d time.Duration) *time.Duration { return &d }

// script drives one engine through steps, applying every decision as a
// service would, so the next step starts from the value just set.
type script struct {
	e        *Engine
	min, max float64
	cur      float64
	mem      Memory
	fix      *fixed // the recommender, when the script tests guards alone
}

func newScript(e *Engine, min, max, cur float64) *script {
	s := &script{e: e, min: min, max: max, cur: cur, mem: NewMemory()}
	if f, ok := e.Rec.(*fixed); ok {
		s.fix = f
	}
	return s
}

func (s *script) run(t *testing.T, steps []step) {
	t.Helper()
	for i, st := range steps {
		now := t0.Add(st.at)
		stamp := now.Add(-readingDelay).Truncate(time.Minute)
		if st.stamp != nil {
			stamp = t0.Add(*st.stamp)
		}
		sigs := Signals{}
		for name, v := range st.sig {
			a := stamp
			if o, ok := st.stamps[name]; ok {
				a = t0.Add(o)
			}
			sigs[name] = Reading(v, a)
			if slices.Contains(st.live, name) {
				sigs[name] = Signal{Value: v, Valid: true}
			}
		}
		if st.current != 0 {
			s.cur = st.current
		}
		if s.fix != nil {
			s.fix.v = st.propose
		}
		in := Input{Now: now, Current: s.cur, Min: s.min, Max: s.max, Signals: sigs, Constraints: st.con, Alarm: st.alarm}
		d, m := s.e.Decide(in, s.mem)
		where := "step " + strconv.Itoa(i) + " (t+" + st.at.String() + ")"
		if math.Abs(d.Final-st.want) > 1e-9 {
			t.Fatalf("%s: final = %v, want %v\n%s", where, d.Final, st.want, d.Explain())
		}
		if st.action != "" && d.Action != st.action {
			t.Fatalf("%s: action = %s, want %s\n%s", where, d.Action, st.action, d.Explain())
		}
		if st.why != "" && d.Reason.Code != st.why {
			t.Fatalf("%s: reason = %s, want %s\n%s", where, d.Reason.Code, st.why, d.Explain())
		}
		if st.guards != "" {
			var got []string
			for _, g := range d.Steps() {
				got = append(got, g.Guard)
			}
			want := strings.Fields(st.guards)
			if st.guards == "-" {
				want = nil
			}
			if !slices.Equal(got, want) {
				t.Fatalf("%s: guards = %v, want %v\n%s", where, got, want, d.Explain())
			}
		}
		if st.check != nil {
			st.check(t, &d, &m)
		}
		s.cur, s.mem = d.Final, m
	}
}

// fixed proposes whatever the script says: it lets a test exercise the
// guards alone.
type fixed struct{ v float64 }

func (f *fixed) Name() string { return "fixed" }

func (f *fixed) Recommend(in *Input, mem *Memory) Proposal {
	mem.LastEval = in.Now
	return Proposal{Value: f.v, Reason: Reason{Code: "fixed"}}
}

// guarded is an engine with a fixed recommender and the given guards.
func guarded(g Guards) *Engine { return &Engine{Rec: &fixed{}, Guards: g} }

// tuner is the autotuner on a Lambda-like knob: busy/limit at 70%, a
// throttle counter, and the given gains. With kp 1 and ki 0 it proposes
// exactly busy / 0.7, which keeps the numbers in the scripts readable.
func tuner(kp, ki float64, g Guards) *Engine {
	p := DefaultAutotuner()
	p.PID.Kp, p.PID.Ki = kp, ki
	p.Setpoints = []Setpoint{{Signal: "busy", Target: 0.7, PerLimit: true}}
	p.Throttles = &ThrottleSpec{Signal: "throttles", Boost: 0.5}
	if g.Resolution == 0 {
		g.Resolution = 1
	}
	return &Engine{Rec: &Autotuner{P: p}, Guards: g}
}

// lambdaGuards are the config defaults of the autotuner policy.
func lambdaGuards() Guards {
	return Guards{
		StepUp: Step{Pct: 1}, StepDown: Step{Pct: 0.2},
		CooldownUp: time.Minute, CooldownDown: 5 * time.Minute,
		Stabilization: 10 * time.Minute, Resolution: 1,
	}
}

func sig(kv ...any) map[string]float64 {
	m := map[string]float64{}
	for i := 0; i+1 < len(kv); i += 2 {
		switch v := kv[i+1].(type) {
		case int:
			m[kv[i].(string)] = float64(v)
		case float64:
			m[kv[i].(string)] = v
		}
	}
	return m
}

func nan() float64      { return math.NaN() }
func inf(s int) float64 { return math.Inf(s) }
