package policy

import (
	"encoding/json"
	"math"
	"testing"
	"time"
)

// FuzzDecide drives every policy with arbitrary numbers, as a broken
// metric or a hand-edited state might deliver them: Decide must never
// panic, never put out a number that is not one, and keep the limit
// within its bounds whenever it starts within them.
func FuzzDecide(f *testing.F) {
	f.Add(uint8(0), uint8(1), 100.0, 5.0, 395.0, 70.0, 0.0, 0.0, 30.0, uint8(10), uint16(60))
	f.Add(uint8(0), uint8(1), 100.0, 5.0, 395.0, 20.0, 5.0, 60.0, 120.0, uint8(20), uint16(60))
	f.Add(uint8(0), uint8(2), 10.0, 0.01, 100.0, math.NaN(), math.Inf(1), -1.0, 1e300, uint8(5), uint16(10))
	f.Add(uint8(1), uint8(1), 50.0, 1.0, 4000.0, 35.0, 0.0, 0.0, 0.0, uint8(30), uint16(60))
	f.Add(uint8(2), uint8(1), 10.0, 1.0, 100.0, 21.0, 0.0, 0.0, 0.0, uint8(8), uint16(15))
	f.Add(uint8(3), uint8(1), 100.0, 1.0, 1000.0, 85.0, 0.0, 0.0, 0.0, uint8(8), uint16(60))
	f.Add(uint8(4), uint8(1), 100.0, 1.0, 1000.0, 95.0, 3.0, 0.0, 0.0, uint8(12), uint16(60))
	f.Add(uint8(5), uint8(1), 10.0, 1.0, 1000.0, 9.5, 2.0, 30.0, 0.0, uint8(12), uint16(60))
	f.Add(uint8(6), uint8(0), 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, uint8(1), uint16(0))
	f.Fuzz(func(t *testing.T, kind, resKind uint8, cur, minv, span, busy, throttles, pain, age float64, ticks uint8, dt uint16) {
		res := []float64{0, 1, 0.01}[int(resKind)%3]
		if !finite(minv) || minv < 0 || minv > 1e9 {
			minv = 1
		}
		if !finite(span) || span < 0 || span > 1e9 {
			span = 100
		}
		minv, maxv := minv, minv+span
		if res > 0 {
			minv, maxv = quantize(minv, res, true), quantize(maxv, res, false)
			if maxv < minv {
				maxv = minv
			}
		}
		e := defaultEngine()
		e.Guards.Resolution = res
		switch kind % 7 {
		case 1:
			e.Rec = &TargetTracking{P: TargetTrackingParams{Signal: "busy", Target: 0.7, OutAfter: 2, InAfter: 15}}
		case 2:
			p := DefaultHPA()
			p.Signal = "busy"
			e.Rec = &HPA{P: p}
		case 3:
			p := DefaultStepScaling()
			p.Signal = "busy"
			e.Rec = &StepScaling{P: p}
		case 4:
			p := DefaultThreshold()
			p.Signal, p.Throttles = "busy", "throttles"
			e.Rec = &Threshold{P: p}
		case 5:
			p := DefaultAIMD()
			p.Signal, p.Throttles, p.Congestion, p.CongestionAt = "busy", "throttles", "table_pain", 20
			e.Rec = &AIMD{P: p}
		case 6:
			e.Rec = &Static{Value: cur}
		}
		mem := NewMemory()
		now := t0
		for i := range int(ticks%40) + 1 {
			now = now.Add(time.Duration(dt) * time.Second)
			at := now.Add(-readingDelay).Truncate(time.Minute)
			sigs := Signals{
				"busy":        Reading(busy*float64(i%3+1), at),
				"throttles":   Reading(throttles, at),
				"invocations": Reading(busy*10, at),
				"backlog":     Reading(age, at),
				"table_pain":  Reading(pain, at),
			}
			if i%4 == 3 {
				delete(sigs, "busy")
			}
			inBounds := cur >= minv && cur <= maxv && (cur > 0 || e.Guards.AllowZero)
			d, next := e.Decide(Input{Now: now, Current: cur, Min: minv, Max: maxv, Signals: sigs,
				Constraints: Constraints{Decreases: DecreaseQuota{Enforced: i%2 == 0}}}, mem)
			if !finite(d.Final) || !finite(d.Proposed) || !finiteMemory(&next) {
				t.Fatalf("not a number out: %s", d.Explain())
			}
			if inBounds && (d.Final < minv || d.Final > maxv) {
				t.Fatalf("final %v outside [%v, %v]: %s", d.Final, minv, maxv, d.Explain())
			}
			if _, err := json.Marshal(d); err != nil {
				t.Fatalf("decision does not serialize: %v", err)
			}
			if _, err := json.Marshal(next); err != nil {
				t.Fatalf("memory does not serialize: %v", err)
			}
			cur, mem = d.Final, next
		}
	})
}
