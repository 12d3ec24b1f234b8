package config

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/autotuner/autotuner/policy"
)

func TestLoadExample(t *testing.T) {
	f, err := Load("../policies.example.yaml")
	if err != nil {
		t.Fatalf("example does not load:\n%v", err)
	}
	if len(f.Targets) != 9 {
		t.Fatalf("targets = %d, want 9", len(f.Targets))
	}
	for _, tg := range f.Targets {
		if tg.Engine == nil || tg.Engine.Rec == nil {
			t.Errorf("%s: no engine", tg.Name)
		}
	}
	if f.Defaults.Interval != time.Minute || f.Defaults.MetricDelay != 2*time.Minute || f.Defaults.Region != "us-east-1" || f.Defaults.DryRun {
		t.Errorf("defaults = %+v", f.Defaults)
	}

	// The engines built are what the file says.
	c := f.Target("orders-consumer")
	at, ok := c.Engine.Rec.(*policy.Autotuner)
	if !ok {
		t.Fatalf("orders-consumer: policy %T, want *policy.Autotuner", c.Engine.Rec)
	}
	wantP := policy.AutotunerParams{
		Setpoints: []policy.Setpoint{
			{Signal: "busy", Target: 0.7, PerLimit: true},
			{Signal: "backlog", Target: 60, UpOnly: true},
			{Signal: "arrivals", Target: 0.7, PerLimit: true, UpOnly: true, Factor: 1, FactorSignal: "duration", FactorScale: 0.001, Count: 60},
		},
		Throttles: &policy.ThrottleSpec{Signal: "throttles", Requests: "invocations", Boost: 0.5},
		Band:      0.1,
		PID:       policy.PID{Kp: 0.9, Ki: 0.05, Kd: 0, DFilter: 0.5, IntegralLimit: 0.5},
		UpAfter:   1, DownAfter: 5,
		Forecast: true,
	}
	if diff := cmp.Diff(wantP, at.P); diff != "" {
		t.Errorf("orders-consumer params (-want +got):\n%s", diff)
	}
	wantG := policy.Guards{
		StepUp: policy.Step{Pct: 1}, StepDown: policy.Step{Pct: 0.2},
		CooldownUp: time.Minute, CooldownDown: 5 * time.Minute, Stabilization: 10 * time.Minute, StabilizationMax: time.Hour, MinDecrease: 0.1,
		Resolution: 1, AlarmBypassesCooldown: true,
		BackPressure: []policy.BackPressure{{Signal: "payments_latency", Warn: 250, Critical: 600, Cut: 0.3, Memory: 30 * time.Minute}},
	}
	if diff := cmp.Diff(wantG, c.Engine.Guards); diff != "" {
		t.Errorf("orders-consumer guards (-want +got):\n%s", diff)
	}
	if c.Kind != LambdaReservedConcurrency || c.Function != "orders-consumer" || c.Min != 5 || c.Max != 400 || !cmp.Equal(c.Alarms, []string{"orders-consumer-throttling"}) {
		t.Errorf("orders-consumer = %+v", c)
	}
	if s := c.Signals["throttles"]; s.Missing != MissingZero || s.Stat != "Sum" || s.Period != time.Minute || s.Delay != 2*time.Minute || s.Dimensions["FunctionName"] != "orders-consumer" {
		t.Errorf("throttles signal = %+v", s)
	}
	if s := c.Signals["busy"]; s.Missing != MissingHold {
		t.Errorf("busy missing = %q, want hold", s.Missing)
	}

	w := f.Target("orders-table-writes")
	if w.Engine.Guards.DecreaseReserve != 1 || w.Engine.Guards.MinSaving != 0.1 || w.Resolution() != 1 || !w.Signals["consumed"].PerSecond {
		t.Errorf("orders-table-writes guards = %+v", w.Engine.Guards)
	}
	if wa := w.Engine.Rec.(*policy.Autotuner); wa.P.Throttles == nil || wa.P.Throttles.Signal != "throttled" || wa.P.Throttles.Requests != "" {
		t.Errorf("orders-table-writes throttles = %+v", wa.P.Throttles)
	} else if want := (policy.Setpoint{Signal: "arrivals", Target: 0.7, PerLimit: true, UpOnly: true, Factor: 1, Backlog: "depth", Drain: 60, Count: 60}); !cmp.Equal(wa.P.Setpoints[len(wa.P.Setpoints)-1], want) {
		t.Errorf("orders-table-writes feed-forward = %+v, want %+v", wa.P.Setpoints[len(wa.P.Setpoints)-1], want)
	}

	p := f.Target("public-api-plan")
	if !p.DryRun || p.Resolution() != 0.01 || p.BurstRatio != 2 || p.Limit != "rate" {
		t.Errorf("public-api-plan = dry %v res %v burst %v limit %q", p.DryRun, p.Resolution(), p.BurstRatio, p.Limit)
	}
	if g := p.Engine.Guards; g.StepUp.Pct != 0.5 || g.StepDown.Pct != 0.1 || g.Stabilization != 15*time.Minute || g.CooldownDown != 5*time.Minute {
		t.Errorf("public-api-plan guards = %+v", g)
	}
	if pa := p.Engine.Rec.(*policy.Autotuner); pa.P.DownAfter != 10 || pa.P.UpAfter != 1 {
		t.Errorf("public-api-plan after = %d/%d", pa.P.UpAfter, pa.P.DownAfter)
	}

	r := f.Target("orders-table-reads")
	tt, ok := r.Engine.Rec.(*policy.TargetTracking)
	if !ok {
		t.Fatalf("orders-table-reads: policy %T", r.Engine.Rec)
	}
	if diff := cmp.Diff(policy.TargetTrackingParams{Signal: "consumed", Target: 0.7, OutAfter: 2, InAfter: 15}, tt.P); diff != "" {
		t.Errorf("target tracking (-want +got):\n%s", diff)
	}
	// A baseline spends the decrease budget as it was designed to.
	if g := r.Engine.Guards; g.DecreaseReserve != 0 || g.MinSaving != 0 || g.StepUp != (policy.Step{}) || g.Stabilization != 0 {
		t.Errorf("orders-table-reads guards = %+v", g)
	}
}

func TestErrorsArePositioned(t *testing.T) {
	src := `version: 1
targets:
  - name: a
    kind: lambda-reserved-concurrency
    function: f
    min: 1
    max: 10
    signals:
      busy: {namespace: AWS/Lambda, metric: ConcurrentExecutions, stat: Maximum}
    policy:
      autotuner:
        utilization: {signal: busy, target: 70%}
        pid: {kp: -0.3}
        bogus: 1
`
	_, err := Parse("p.yaml", []byte(src))
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("err = %v", err)
	}
	got := err.Error()
	for _, want := range []string{
		"p.yaml:13:19: targets[0].policy.autotuner.pid.kp: must be >= 0, got -0.3",
		"p.yaml:14:9: targets[0].policy.autotuner.bogus: unknown key",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
}

// Files that are well-formed but unsafe to run are refused: reading AWS
// metrics before they are complete, two targets fighting over one knob,
// and bounds below the smallest value the knob can take.
func TestUnsafeFilesAreRefused(t *testing.T) {
	_, err := Load("testdata/unsafe.yaml")
	if err == nil {
		t.Fatal("unsafe.yaml loaded")
	}
	for _, want := range []string{
		"testdata/unsafe.yaml:10:13: targets[0].signals.busy.delay: must be at least 1m for AWS service metrics",
		"testdata/unsafe.yaml:12:5: targets[1]: target b controls the same resource (function f) as target a of targets[0] at testdata/unsafe.yaml:4:5",
		"testdata/unsafe.yaml:24:10: targets[2].max: must be at least 0.01",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in\n%v", want, err)
		}
	}
	if n := len(err.(Errors)); n != 3 {
		t.Errorf("%d errors, want 3:\n%v", n, err)
	}
}

// A utilization that reads a missing datapoint as 0 would lower the limit
// on missing data: missing: zero is for sparse counters only.
func TestMissingZeroOnATwoSidedSetpointIsRefused(t *testing.T) {
	src := `version: 1
targets:
  - name: api
    kind: apigateway-usage-plan
    usage_plan: p
    min: 10
    max: 100
    signals:
      requests: {namespace: AWS/ApiGateway, metric: Count, stat: Sum, per_second: true, missing: zero}
    policy:
      autotuner:
        utilization: {signal: requests, target: 70%}
`
	_, err := Parse("p.yaml", []byte(src))
	if err == nil || !strings.Contains(err.Error(), `p.yaml:12:9: targets[0].policy.autotuner: signal "requests" has missing: zero`) {
		t.Fatalf("err = %v", err)
	}
}
