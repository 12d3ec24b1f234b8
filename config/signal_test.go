package config

import (
	"testing"
	"time"

	"github.com/autotuner/autotuner/policy"
)

func TestSignalApplyMissingRule(t *testing.T) {
	period := time.Date(2026, 3, 10, 11, 57, 0, 0, time.UTC)
	zero := &Signal{Name: "throttles", Missing: MissingZero}
	hold := &Signal{Name: "busy", Missing: MissingHold}
	for _, tc := range []struct {
		name string
		s    *Signal
		in   policy.Signal
		want policy.Signal
	}{
		{"zero: absent reads 0 at the period asked for", zero, policy.Signal{}, policy.Reading(0, period)},
		{"zero: NaN reads 0", zero, policy.Signal{Value: nan(), Valid: true}, policy.Reading(0, period)},
		{"zero: a reading stays", zero, policy.Reading(4, period), policy.Reading(4, period)},
		{"hold: absent stays absent", hold, policy.Signal{}, policy.Signal{}},
		{"hold: a reading stays", hold, policy.Reading(35, period), policy.Reading(35, period)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.s.Apply(tc.in, period)
			if got.Present() != tc.want.Present() || got.Present() && (got.Value != tc.want.Value || !got.At.Equal(tc.want.At)) {
				t.Fatalf("Apply = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// The missing-data rule decides whether a quiet target may come down: a
// sparse throttle counter with `missing: zero` lets it, one with the
// default `hold` does not.
func TestMissingZeroLetsAQuietTargetComeDown(t *testing.T) {
	for _, tc := range []struct {
		missing string
		down    bool
	}{{"zero", true}, {"hold", false}} {
		t.Run(tc.missing, func(t *testing.T) {
			src := `version: 1
targets:
  - name: a
    kind: lambda-reserved-concurrency
    function: f
    min: 1
    max: 1000
    signals:
      busy: {namespace: AWS/Lambda, metric: ConcurrentExecutions, stat: Maximum}
      throttles: {namespace: AWS/Lambda, metric: Throttles, stat: Sum, missing: ` + tc.missing + `}
    policy:
      autotuner:
        utilization: {signal: busy, target: 70%}
        throttles: throttles
        down: {after: 1, stabilization: 0s}
`
			f, err := Parse("p.yaml", []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			tg := f.Targets[0]
			now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
			start, _ := tg.Signals["busy"].Window(now)
			// The sensor found busy, and no datapoint at all for throttles.
			sig := policy.Signals{
				"busy":      tg.Signals["busy"].Apply(policy.Reading(10, start), start),
				"throttles": tg.Signals["throttles"].Apply(policy.Signal{}, start),
			}
			d, _ := tg.Engine.Decide(policy.Input{Now: now, Current: 100, Min: tg.Min, Max: tg.Max, Signals: sig}, policy.NewMemory())
			if got := d.Action == policy.Down; got != tc.down {
				t.Fatalf("down = %v, want %v: %s", got, tc.down, d.Explain())
			}
		})
	}
}

func TestSignalWindow(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 4, 30, 0, time.UTC)
	for _, tc := range []struct {
		s          Signal
		start, end string
	}{
		// Ends at now − delay, aligned down to the period.
		{Signal{Period: time.Minute, Delay: 2 * time.Minute}, "12:01:00", "12:02:00"},
		{Signal{Period: 5 * time.Minute, Delay: 2 * time.Minute}, "11:55:00", "12:00:00"},
		{Signal{Period: time.Minute}, "12:03:00", "12:04:00"},
		// No period means one minute.
		{Signal{Delay: 30 * time.Second}, "12:03:00", "12:04:00"},
	} {
		start, end := tc.s.Window(now)
		if got, want := start.Format(time.TimeOnly)+"-"+end.Format(time.TimeOnly), tc.start+"-"+tc.end; got != want {
			t.Errorf("%+v: window %s, want %s", tc.s, got, want)
		}
	}
}

func nan() float64 { var z float64; return z / z }
