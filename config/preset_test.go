package config

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"pgregory.net/rapid"
)

// presetTarget is a four-line target of kind k, with what its preset needs.
var presetTargets = map[Kind]string{
	LambdaReservedConcurrency: "function: orders-consumer",
	LambdaSQSMaxConcurrency:   "event_source_mapping: 6d2b7f4e-0000-4000-8000-000000000001\n    function: orders-consumer\n    queue: orders",
	APIGatewayUsagePlan:       "usage_plan: a1b2c3\n    api_name: public\n    stage: prod",
	APIGatewayStage:           "rest_api: abc123\n    stage: prod\n    api_name: public",
	APIGatewayV2Stage:         "api_id: a1b2c3d4\n    stage: prod\n    route: GET /items",
	DynamoDBProvisioned:       "table: orders\n    capacity: write",
	DynamoDBOnDemandMax:       "table: orders\n    capacity: read",
	StepFunctionsMap:          "state_machine: arn:aws:states:us-east-1:123456789012:stateMachine:orders\n    map_state: Process items\n    function: process-item",
	RateLimitBucket:           "table: autotuner-buckets\n    bucket: partner-api",
}

func parseOne(t *testing.T, body string) *Target {
	t.Helper()
	f, err := Parse("p.yaml", []byte("version: 1\ntargets:\n  - name: x\n    "+body+"\n"))
	if err != nil {
		t.Fatalf("does not load:\n%v", err)
	}
	return f.Targets[0]
}

func TestEveryPresetValidates(t *testing.T) {
	for k := range presetTargets {
		t.Run(string(k), func(t *testing.T) {
			if presetOf(k) == nil {
				t.Fatalf("kind %s has no preset", k)
			}
			tg := parseOne(t, "kind: "+string(k)+"\n    "+presetTargets[k]+"\n    min: 10\n    max: 100")
			if tg.Engine == nil || tg.PolicyName != "autotuner" || len(tg.SignalList) == 0 {
				t.Fatalf("no engine or signals: %+v", tg)
			}
			out, err := tg.Explain()
			if err != nil {
				t.Fatal(err)
			}
			// The expansion reads back as the same target: explain
			// prints something a user can paste.
			doc := "version: 1\ntargets:\n  - " + strings.ReplaceAll(strings.TrimSpace(string(out)), "\n", "\n    ") + "\n"
			f, err := Parse("explained.yaml", []byte(doc))
			if err != nil {
				t.Fatalf("explain output does not load:\n%v\n%s", err, doc)
			}
			again := f.Targets[0]
			if diff := cmp.Diff(tg.Signals, again.Signals, cmpopts.IgnoreFields(Signal{}, "Line", "Col")); diff != "" {
				t.Errorf("explain does not round-trip (-want +got):\n%s", diff)
			}
		})
	}
}

// The presets expand to the signals the hand-written example spells out.
func TestPresetsMatchHandWrittenExample(t *testing.T) {
	ex, err := Load("../policies.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		example string
		kind    Kind
		keys    string
	}{
		{"orders-consumer", LambdaReservedConcurrency, "function: orders-consumer"},
		{"public-api-handler", LambdaReservedConcurrency, "function: public-api-handler"},
		{"orders-table-writes", DynamoDBProvisioned, "table: orders\n    capacity: write"},
		{"orders-table-reads", DynamoDBProvisioned, "table: orders\n    capacity: read"},
		{"public-api-plan", APIGatewayUsagePlan, "usage_plan: a1b2c3\n    api_name: public\n    stage: prod"},
		{"partner-api-bucket", RateLimitBucket, "table: autotuner-buckets\n    bucket: partner-api"},
	} {
		t.Run(c.example, func(t *testing.T) {
			hand := ex.Target(c.example)
			got := parseOne(t, "kind: "+string(c.kind)+"\n    "+c.keys+"\n    min: 10\n    max: 100")
			for _, s := range got.SignalList {
				want, ok := hand.Signals[s.Name]
				if !ok {
					// Either the example calls it otherwise or lacks it;
					// a signal of the same metric must then exist.
					want = findMetric(hand, s.Metric)
				}
				if want == nil {
					if s.Name == "throttled" || s.Name == "invocations" || s.Name == "throttles" {
						continue // the example's baseline target reads only consumption
					}
					t.Fatalf("preset signal %s (%s) has no match in the example", s.Name, s.Metric)
				}
				if diff := cmp.Diff(want, s, cmpopts.IgnoreFields(Signal{}, "Line", "Col", "Name")); diff != "" {
					t.Errorf("signal %s (-example +preset):\n%s", s.Name, diff)
				}
			}
		})
	}
}

func findMetric(t *Target, metric string) *Signal {
	for _, s := range t.SignalList {
		if s.Metric == metric {
			return s
		}
	}
	return nil
}

// A preset target runs the same engine as the hand-written target it
// stands for.
func TestPresetEngineEqualsHandWritten(t *testing.T) {
	preset := parseOne(t, "kind: lambda-reserved-concurrency\n    function: fn\n    min: 5\n    max: 400")
	hand := parseOne(t, `kind: lambda-reserved-concurrency
    function: fn
    min: 5
    max: 400
    signals:
      busy:        {namespace: AWS/Lambda, metric: ConcurrentExecutions, dimensions: {FunctionName: fn}, stat: Maximum}
      throttles:   {namespace: AWS/Lambda, metric: Throttles, dimensions: {FunctionName: fn}, stat: Sum, missing: zero}
      invocations: {namespace: AWS/Lambda, metric: Invocations, dimensions: {FunctionName: fn}, stat: Sum, missing: zero}
    policy:
      autotuner:
        utilization: {signal: busy, target: 70%}
        throttles: {signal: throttles, requests: invocations}`)
	ignore := cmpopts.IgnoreFields(Signal{}, "Line", "Col")
	if diff := cmp.Diff(hand, preset, ignore, cmpopts.IgnoreFields(Target{}, "Line", "Col"), cmpopts.IgnoreUnexported(Target{})); diff != "" {
		t.Errorf("(-hand +preset):\n%s", diff)
	}
}

func TestPresetOverrides(t *testing.T) {
	base := "kind: dynamodb-provisioned\n    table: orders\n    capacity: write\n    min: 5\n    max: 400"
	t.Run("signal by name", func(t *testing.T) {
		tg := parseOne(t, base+"\n    preset: true\n    signals:\n      consumed: {namespace: Custom/Orders, metric: Writes, stat: Sum, per_second: true}\n      extra: {namespace: Custom/Orders, metric: Queue, stat: Maximum}")
		if got := tg.Signals["consumed"].Namespace; got != "Custom/Orders" {
			t.Errorf("consumed from %s, want the override", got)
		}
		if tg.Signals["throttled"] == nil || tg.Signals["extra"] == nil {
			t.Errorf("signals = %v, want the preset's throttled and the extra one", names(tg))
		}
	})
	t.Run("policy key by key", func(t *testing.T) {
		tg := parseOne(t, base+"\n    policy:\n      autotuner: {band: 5%, throttles: null}")
		if tg.Autotuner.Band != 0.05 || tg.Autotuner.Throttles != nil || len(tg.Autotuner.Setpoints) != 1 {
			t.Errorf("params = %+v; want band 5%%, no throttles, the preset's utilization", tg.Autotuner)
		}
	})
	t.Run("another policy replaces", func(t *testing.T) {
		tg := parseOne(t, base+"\n    policy:\n      target-tracking: {signal: consumed, target: 50%}")
		if tg.PolicyName != "target-tracking" {
			t.Errorf("policy %s", tg.PolicyName)
		}
	})
	t.Run("own signals and no preset", func(t *testing.T) {
		tg := parseOne(t, base+"\n    signals:\n      c: {namespace: Custom/O, metric: W, stat: Sum}\n    policy:\n      autotuner: {utilization: {signal: c, target: 60%}}")
		if len(tg.SignalList) != 1 {
			t.Errorf("signals = %v; a target with its own signals gets no preset unless it asks", names(tg))
		}
	})
}

func TestPresetErrors(t *testing.T) {
	for _, c := range []struct{ name, body, want string }{
		{"missing key", "kind: lambda-sqs-max-concurrency\n    event_source_mapping: u\n    min: 2\n    max: 10", "fills in its signals from function and queue"},
		{"preset off", "kind: lambda-reserved-concurrency\n    function: f\n    preset: false\n    min: 2\n    max: 10", "signals: is required"},
		{"burst", "kind: apigateway-stage\n    rest_api: a\n    stage: s\n    api_name: n\n    limit: burst\n    min: 2\n    max: 10", "no preset for limit burst"},
		{"bad override", "kind: lambda-reserved-concurrency\n    function: f\n    min: 2\n    max: 10\n    policy:\n      autotuner: {utilization: {signal: nope, target: 70%}}", `names signal "nope"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("p.yaml", []byte("version: 1\ntargets:\n  - name: x\n    "+c.body+"\n"))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
			for _, e := range err.(Errors) {
				if e.Line == 0 {
					t.Errorf("no position: %v", e)
				}
			}
		})
	}
}

func names(t *Target) []string {
	var out []string
	for _, s := range t.SignalList {
		out = append(out, s.Name)
	}
	return out
}

// Whatever signals a target declares over its preset, it ends up with the
// preset's signals it did not name, its own in their place, and its new
// ones; a null drops one. The policy merges the same way.
func TestPresetMergeProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		base := []string{"busy", "throttles", "invocations"}
		var src strings.Builder
		src.WriteString("kind: lambda-reserved-concurrency\n    function: f\n    min: 1\n    max: 10\n    preset: true\n    signals:\n")
		want := map[string]string{"busy": "AWS/Lambda", "throttles": "AWS/Lambda", "invocations": "AWS/Lambda"}
		for _, name := range append(base, "extra_a", "extra_b") {
			switch rapid.IntRange(0, 2).Draw(t, name) {
			case 1: // override, or add
				fmt.Fprintf(&src, "      %s: {namespace: Custom/X, metric: M, stat: Sum, missing: zero}\n", name)
				want[name] = "Custom/X"
			case 2: // drop (or a no-op for a new name)
				fmt.Fprintf(&src, "      %s: null\n", name)
				delete(want, name)
			}
		}
		// busy must stay for the preset's utilization; keep it declared.
		if _, ok := want["busy"]; !ok || want["busy"] != "AWS/Lambda" {
			src.WriteString("      busy: {namespace: AWS/Lambda, metric: ConcurrentExecutions, dimensions: {FunctionName: f}, stat: Maximum}\n")
			want["busy"] = "AWS/Lambda"
		}
		if _, ok := want["throttles"]; !ok {
			src.WriteString("    policy:\n      autotuner: {throttles: null}\n")
		} else if _, ok := want["invocations"]; !ok {
			src.WriteString("    policy:\n      autotuner: {throttles: throttles}\n")
		}
		f, err := Parse("p.yaml", []byte("version: 1\ntargets:\n  - name: x\n    "+src.String()))
		if err != nil {
			t.Fatalf("%v\n%s", err, src.String())
		}
		got := map[string]string{}
		for _, s := range f.Targets[0].SignalList {
			got[s.Name] = s.Namespace
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("signals (-want +got):\n%s\n%s", diff, src.String())
		}
	})
}
