package policy

import (
	"testing"
	"time"
)

// defaultEngine is the example file's Lambda consumer: utilization,
// throttles with requests, a backlog setpoint, the default guards and a
// back-pressure guard. It is what BenchmarkDecide measures.
func defaultEngine() *Engine {
	p := DefaultAutotuner()
	p.Setpoints = []Setpoint{{Signal: "busy", Target: 0.7, PerLimit: true}, {Signal: "backlog", Target: 60, UpOnly: true}}
	p.Throttles = &ThrottleSpec{Signal: "throttles", Requests: "invocations", Boost: 0.5}
	g := lambdaGuards()
	g.BackPressure = []BackPressure{{Signal: "table_pain", Warn: 1, Critical: 50, Cut: 0.3}}
	g.AlarmBypassesCooldown = true
	return &Engine{Rec: &Autotuner{P: p}, Guards: g}
}

// BenchmarkDecide runs the default policy as the controller does: one
// decision a minute, each from the memory the previous one returned, on
// traffic that swings through increases, holds and decreases.
func BenchmarkDecide(b *testing.B) {
	e := defaultEngine()
	mem := NewMemory()
	cur := 100.0
	sigs := Signals{}
	now := t0
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		now = now.Add(time.Minute)
		at := now.Add(-readingDelay)
		busy := 40 + float64(i%60) // a slow sawtooth of demand
		thr := 0.0
		if i%60 > 50 {
			thr = 3
		}
		sigs["busy"] = Reading(busy, at)
		sigs["throttles"] = Reading(thr, at)
		sigs["invocations"] = Reading(busy*10, at)
		sigs["backlog"] = Reading(float64(i%7), at)
		sigs["table_pain"] = Reading(0, at)
		d, m := e.Decide(Input{Now: now, Current: cur, Min: 5, Max: 400, Signals: sigs}, mem)
		cur, mem = d.Final, m
	}
}
