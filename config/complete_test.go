package config

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/autotuner/autotuner/policy"
)

// A filled zero of a sparse counter stands only when the period it
// describes has been published, as a companion in the same namespace
// shows; a counter without companions keeps the zero it asked for.
func TestCompleteFilledZeros(t *testing.T) {
	src := `version: 1
targets:
  - name: fn
    kind: lambda-reserved-concurrency
    function: fn
    min: 1
    max: 100
    signals:
      busy:      {namespace: AWS/Lambda, metric: ConcurrentExecutions, stat: Maximum}
      throttles: {namespace: AWS/Lambda, metric: Throttles, stat: Sum, missing: zero}
      pain:      {namespace: AWS/DynamoDB, metric: WriteThrottleEvents, stat: Sum, missing: zero}
    policy:
      autotuner:
        utilization: {signal: busy, target: 70%}
        throttles: throttles
`
	f, err := Parse("p.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	tg := f.Targets[0]
	p := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	filled := func(at time.Time) policy.Signal {
		return tg.Signals["throttles"].Apply(policy.Signal{}, at)
	}
	painZero := tg.Signals["pain"].Apply(policy.Signal{}, p)
	for _, tc := range []struct {
		name string
		in   policy.Signals
		want policy.Signals
	}{{
		name: "companion published the period: the zero stands",
		in:   policy.Signals{"busy": policy.Reading(40, p), "throttles": filled(p), "pain": painZero},
		want: policy.Signals{"busy": policy.Reading(40, p), "throttles": filled(p), "pain": painZero},
	}, {
		name: "companion only has an older period: the counter is late, not quiet",
		in:   policy.Signals{"busy": policy.Reading(40, p.Add(-time.Minute)), "throttles": filled(p), "pain": painZero},
		want: policy.Signals{"busy": policy.Reading(40, p.Add(-time.Minute)), "throttles": {At: p}, "pain": painZero},
	}, {
		name: "companion missing: missing",
		in:   policy.Signals{"busy": {}, "throttles": filled(p), "pain": painZero},
		want: policy.Signals{"busy": {}, "throttles": {At: p}, "pain": painZero},
	}, {
		name: "a real zero is never touched",
		in:   policy.Signals{"busy": {}, "throttles": policy.Reading(0, p), "pain": policy.Reading(0, p)},
		want: policy.Signals{"busy": {}, "throttles": policy.Reading(0, p), "pain": policy.Reading(0, p)},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			tg.Complete(tc.in)
			if d := cmp.Diff(tc.want, tc.in); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}
