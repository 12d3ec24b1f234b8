package policy

import (
	"encoding/json"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// hourly drives the autotuner through hours of a load of 7 busy with a
// burst of 70 in the first minute of each hour listed, and returns the
// decisions by minute.
func hourly(t *testing.T, hours int, burst func(h int) bool, restartAt int) []Decision {
	t.Helper()
	e := tuner(1, 0, Guards{Resolution: 1})
	cur, mem := 10.0, NewMemory()
	var out []Decision
	for m := range hours * 60 {
		now := t0.Add(time.Duration(m) * time.Minute)
		at := now.Add(-readingDelay)
		busy := 7.0 // the steady load needs 10 at 70%
		if k := int(at.Sub(t0) / time.Minute); k >= 0 && k%60 == 0 && burst(k/60) {
			busy = 70 // the burst needs 100
		}
		if m == restartAt {
			// A restart: the memory goes through the state store.
			b, err := json.Marshal(mem)
			if err != nil {
				t.Fatal(err)
			}
			mem = Memory{}
			if err := json.Unmarshal(b, &mem); err != nil {
				t.Fatal(err)
			}
		}
		d, next := e.Decide(Input{Now: now, Current: cur, Min: 1, Max: 1000,
			Signals: Signals{"busy": Reading(busy, at), "throttles": Reading(0, at)}}, mem)
		out = append(out, d)
		cur, mem = d.Final, next
	}
	return out
}

// A burst that recurs every hour is learned from three hours and raised
// ahead of by the lead time (the datapoint's age, 3 minutes, plus 3
// minutes to act), across a restart; once it stops it is forgotten.
func TestForecastPreScalesAnHourlyBurst(t *testing.T) {
	const stop = 5 // bursts in hours 0–4
	ds := hourly(t, 10, func(h int) bool { return h < stop }, 150)
	at := func(h, m int) *Decision { return &ds[h*60+m] }
	// Two hours seen are not a pattern: no forecast at 1:54.
	if d := at(1, 54); d.Action != Hold || d.Terms.Forecast != 0 {
		t.Fatalf("1:54: %s (forecast %v), want hold without a forecast\n%s", d.Action, d.Terms.Forecast, d.Explain())
	}
	// Three hours are: at 2:54 the burst at 3:00 is within the lead.
	for h := 2; h < stop; h++ {
		if d := at(h, 53); d.Action != Hold {
			t.Fatalf("%d:53: %s, want hold: the burst is beyond the lead time\n%s", h, d.Action, d.Explain())
		}
		d := at(h, 54)
		if d.Action != Up || d.Reason.Code != ReasonForecast || d.Final != 100 {
			t.Fatalf("%d:54: %s to %v (%s), want up to 100 by forecast\n%s", h, d.Action, d.Final, d.Reason.Code, d.Explain())
		}
		// It is held, not decreased, until the burst has come.
		for m := 55; m < 60; m++ {
			if d := at(h, m); d.Action == Down {
				t.Fatalf("%d:%d: a decrease before the forecast burst\n%s", h, m, d.Explain())
			}
		}
	}
	// Missing from more than half of the six hours remembered (from 9:00
	// on: hours 5–8 without it), it is forgotten.
	if d := at(9, 54); d.Terms.Forecast > 20 || d.Action == Up {
		t.Fatalf("9:54: forecast %v, %s: a stopped burst is still expected\n%s", d.Terms.Forecast, d.Action, d.Explain())
	}
}

// A forecast never lowers a limit: with any learned profile, the same
// input and memory never end lower with the forecast than without it.
func TestPropertyForecastNeverLowers(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		p := DefaultAutotuner()
		p.Setpoints = []Setpoint{{Signal: "busy", Target: 0.7, PerLimit: true}}
		p.Throttles = &ThrottleSpec{Signal: "throttles", Boost: 0.5}
		g := lambdaGuards()
		with := &Engine{Rec: &Autotuner{P: p}, Guards: g}
		q := p
		q.Forecast = false
		without := &Engine{Rec: &Autotuner{P: q}, Guards: g}
		mem, cur := NewMemory(), 50.0
		n := rapid.IntRange(1, 240).Draw(rt, "minutes")
		for m := range n {
			now := t0.Add(time.Duration(m) * time.Minute)
			at := now.Add(-readingDelay)
			sigs := Signals{"throttles": Reading(0, at)}
			if rapid.IntRange(0, 9).Draw(rt, "present") > 0 {
				sigs["busy"] = Reading(rapid.Float64Range(0, 2).Draw(rt, "load")*cur, at)
			}
			if rapid.IntRange(0, 19).Draw(rt, "throttled") == 0 {
				sigs["throttles"] = Reading(rapid.Float64Range(1, 100).Draw(rt, "thr"), at)
			}
			in := Input{Now: now, Current: cur, Min: 1, Max: 1000, Signals: sigs}
			dw, next := with.Decide(in, mem.Clone())
			dn, _ := without.Decide(in, mem.Clone())
			if dw.Final < dn.Final {
				rt.Fatalf("minute %d: %v with the forecast, %v without\n%s\n%s", m, dw.Final, dn.Final, dw.Explain(), dn.Explain())
			}
			if dw.Action == Down && dw.Reason.Code == ReasonForecast {
				rt.Fatalf("minute %d: a decrease by forecast\n%s", m, dw.Explain())
			}
			cur, mem = dw.Final, next
		}
	})
}

// The profile's seasons keep their shape: a datapoint lands in its slot,
// cycles shift as time passes, and a datapoint older than the profile
// remembers is dropped.
func TestSeasonRecordAndShift(t *testing.T) {
	var p Profile
	base := t0.Truncate(time.Hour)
	p.learn(base.Add(5*time.Minute), 42)
	if got := p.Hour.Peaks[0][5]; got != 42 || !p.Hour.Seen[0] {
		t.Fatalf("slot 5 = %v (seen %v), want 42", got, p.Hour.Seen[0])
	}
	p.learn(base.Add(2*time.Hour+time.Minute), 7)
	if p.Hour.Peaks[2][5] != 42 || p.Hour.Peaks[0][1] != 7 || p.Hour.Seen[1] {
		t.Fatalf("after two hours: %v %v seen %v, want the first hour two rows back", p.Hour.Peaks[2][5], p.Hour.Peaks[0][1], p.Hour.Seen)
	}
	p.learn(base.Add(-10*time.Hour), 99) // older than six hours
	for c := range HourCycles {
		for _, v := range p.Hour.Peaks[c] {
			if v == 99 {
				t.Fatal("a datapoint older than the profile was recorded")
			}
		}
	}
	if q := p.Day.Peaks[0][int(base.Add(5*time.Minute).Sub(base.Truncate(24*time.Hour))/(15*time.Minute))]; q != 42 {
		t.Fatalf("day slot = %v, want 42", q)
	}
}

// An incident inflates the level of the hour it happens in (a backlog
// drained after a brownout needs many times the usual capacity for half
// an hour), but it is not the level the load is at once it ends: the
// learned burst is added to the need of the newest datapoint, not to the
// incident's median. Before the next hourly burst the limit is raised to
// what the burst needs, not to the incident's level plus the burst.
func TestForecastAddsTheBurstToThePresentLevel(t *testing.T) {
	e := tuner(1, 0, Guards{Resolution: 1})
	cur, mem := 10.0, NewMemory()
	var ds []Decision
	for m := range 4*60 + 60 {
		now := t0.Add(time.Duration(m) * time.Minute)
		at := now.Add(-readingDelay)
		k := int(at.Sub(t0) / time.Minute)
		busy := 7.0 // needs 10 at 70%
		switch {
		case k >= 0 && k%60 == 0:
			busy = 70 // the hourly burst needs 100
		case k >= 3*60+10 && k < 3*60+45:
			busy = 105 // the incident needs 150, once
		}
		d, next := e.Decide(Input{Now: now, Current: cur, Min: 1, Max: 1000,
			Signals: Signals{"busy": Reading(busy, at), "throttles": Reading(0, at)}}, mem)
		ds = append(ds, d)
		cur, mem = d.Final, next
	}
	if l := mem.Profile.Hour.Level[1]; l < 100 { // hour 3, one back
		t.Fatalf("the incident's hour has level %v: the test does not inflate it", l)
	}
	var most float64
	for m := 3*60 + 50; m < 4*60; m++ {
		d := ds[m]
		most = max(most, d.Final)
		if d.Terms.Forecast > 110 {
			t.Fatalf("3:%02d: forecast %v, want about the burst's 100: the incident's level was added\n%s", m-180, d.Terms.Forecast, d.Explain())
		}
	}
	if most < 100 {
		t.Fatalf("the limit reached only %v before the 4:00 burst, want 100: the burst is still learned", most)
	}
}

// A burst whose datapoint lands a minute early or late from one hour to
// the next (CloudWatch publishes each metric with a delay that varies, so
// the newest datapoint a tick sees jumps) is the same burst: it is
// forecast, though no one-minute slot holds it in half the hours.
func TestForecastToleratesAMinuteOfJitter(t *testing.T) {
	offset := []int{0, 1, 2, 0, 2, 1} // the burst's minute, hour by hour
	e := tuner(1, 0, Guards{Resolution: 1})
	cur, mem := 10.0, NewMemory()
	var ds []Decision
	for m := range len(offset) * 60 {
		now := t0.Add(time.Duration(m) * time.Minute)
		at := now.Add(-readingDelay)
		k := int(at.Sub(t0) / time.Minute)
		busy := 7.0 // needs 10 at 70%
		if k >= 0 && k%60 == offset[k/60] {
			busy = 70 // the burst needs 100
		}
		d, next := e.Decide(Input{Now: now, Current: cur, Min: 1, Max: 1000,
			Signals: Signals{"busy": Reading(busy, at), "throttles": Reading(0, at)}}, mem)
		ds = append(ds, d)
		cur, mem = d.Final, next
	}
	for m := 4*60 + 50; m < 5*60; m++ {
		if d := ds[m]; d.Reason.Code == ReasonForecast && d.Final >= 100 {
			return
		}
	}
	t.Fatalf("no forecast raised the limit to the burst's 100 before 5:00; at 4:55:\n%s", ds[4*60+55].Explain())
}
