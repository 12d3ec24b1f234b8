package actuators

import (
	"strings"
	"testing"

	"pgregory.net/rapid"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/internal/awsclient"
	"github.com/autotuner/autotuner/policy"
)

func TestMapCeiling(t *testing.T) {
	for _, c := range []struct {
		name     string
		q        MapQuota
		want     float64
		wantRule string
	}{
		{"the mode's maximum alone", MapQuota{ModeMax: 40, Region: "us-east-1"}, 40, ""},
		{"transitions not given: no rule", MapQuota{ModeMax: 10000, Region: "us-east-1", Executions: 50}, 10000, ""},
		// 1,500/s ÷ (20 × 3/s) = 25 iterations per execution.
		{"state transitions in a large region", MapQuota{ModeMax: 40, Region: "us-east-1", Executions: 20, TransitionsPerSecond: 3}, 25, "state transitions: 1500/s in us-east-1"},
		// 500/s elsewhere: 500 ÷ (20 × 3) = 8.
		{"state transitions elsewhere", MapQuota{ModeMax: 40, Region: "ap-south-1", Executions: 20, TransitionsPerSecond: 3}, 8, "state transitions: 500/s in ap-south-1"},
		{"transitions that leave room", MapQuota{ModeMax: 40, Region: "us-east-1", Executions: 1, TransitionsPerSecond: 2}, 40, ""},
		// Every child runs a Distributed Map: 1,000 open Map Runs ÷ 4.
		{"nested Distributed Maps", MapQuota{ModeMax: 10000, Region: "us-east-1", Executions: 4, NestedDistributed: true}, 250, "open Map Runs: 1000 ÷ 4 executions"},
		{"a Distributed Map holds its own Map Run", MapQuota{ModeMax: 10000, Region: "us-east-1", Executions: 4, NestedDistributed: true, Distributed: true}, 249, "open Map Runs: 1000 ÷ 4 executions"},
		{"the tighter of two rules", MapQuota{ModeMax: 10000, Region: "us-west-2", Executions: 4, TransitionsPerSecond: 10, NestedDistributed: true}, 37, "state transitions"},
		{"never below the knob's floor", MapQuota{ModeMax: 40, Region: "eu-north-1", Executions: 1000, TransitionsPerSecond: 5}, 1, "state transitions"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, rule := MapCeiling(c.q)
			if got != c.want || !strings.HasPrefix(rule, c.wantRule) || (c.wantRule == "") != (rule == "") {
				t.Errorf("MapCeiling = %v (%q), want %v (%q…)", got, rule, c.want, c.wantRule)
			}
		})
	}
}

// Whatever the quota inputs and whatever a policy proposes, the decided
// MaxConcurrency never drives the account past a quota: executions ×
// iterations × transitions stays within the bucket's refill, executions ×
// iterations within the open Map Runs, unless the knob's floor of 1 is
// all that is left.
func TestMapCeilingNeverExceeds(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		q := MapQuota{
			ModeMax:              rapid.SampledFrom([]float64{InlineMapMaxConcurrency, DistributedMapMaxConcurrency}).Draw(t, "mode"),
			Region:               rapid.SampledFrom([]string{"us-east-1", "eu-west-1", "ap-south-1", ""}).Draw(t, "region"),
			Executions:           rapid.IntRange(0, 5000).Draw(t, "executions"),
			TransitionsPerSecond: rapid.Float64Range(0, 100).Draw(t, "tps"),
			NestedDistributed:    rapid.Bool().Draw(t, "nested"),
			Distributed:          rapid.Bool().Draw(t, "distributed"),
		}
		ceiling, rule := MapCeiling(q)
		e := &policy.Engine{Rec: proposeRec{v: rapid.Float64Range(0, 20000).Draw(t, "proposal")}, Guards: policy.Guards{Resolution: 1}}
		in := policy.Input{Current: rapid.Float64Range(1, 10000).Draw(t, "current"), Min: 1, Max: rapid.Float64Range(1, 10000).Draw(t, "max"),
			Constraints: policy.Constraints{Floor: 1, Ceiling: ceiling, CeilingRule: rule}}
		d, _ := e.Decide(in, policy.NewMemory())
		if d.Final != in.Current && d.Final > ceiling {
			t.Fatalf("decided %v above the ceiling %v (%s)", d.Final, ceiling, rule)
		}
		if d.Final == in.Current || d.Final <= 1 {
			return
		}
		n := float64(max(q.Executions, 1))
		if q.TransitionsPerSecond > 0 {
			if used := n * d.Final * q.TransitionsPerSecond; used > StateTransitionRefill(q.Region)+1e-9 {
				t.Fatalf("%v executions × %v iterations × %v/s = %v transitions/s, over %v", n, d.Final, q.TransitionsPerSecond, used, StateTransitionRefill(q.Region))
			}
		}
		own := 0.0
		if q.Distributed {
			own = 1
		}
		if q.NestedDistributed && n*(d.Final+own) > OpenMapRunLimit {
			t.Fatalf("%v executions × (%v iterations + %v own) open %v Map Runs, over %d", n, d.Final, own, n*(d.Final+own), OpenMapRunLimit)
		}
	})
}

type proposeRec struct{ v float64 }

func (p proposeRec) Name() string { return "fixed" }
func (p proposeRec) Recommend(*policy.Input, *policy.Memory) policy.Proposal {
	return policy.Proposal{Value: p.v}
}

// A Distributed Map whose children run a Distributed Map themselves: the
// actuator reads that from the definition and reports the open Map Run
// ceiling, with its rule, to the policy.
func TestStepFunctionsMapQuotaCeiling(t *testing.T) {
	def := `{"StartAt": "Files", "States": {"Files": {"Type": "Map", "MaxConcurrency": 100,
  "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}, "StartAt": "Split",
    "States": {"Split": {"Type": "Parallel", "End": true, "Branches": [{"StartAt": "Rows", "States": {"Rows": {"Type": "Map", "End": true,
      "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"}, "StartAt": "Row", "States": {"Row": {"Type": "Pass", "End": true}}}}}}]}}},
  "End": true}}}`
	fake, conn := connect(t, awsclient.Options{})
	fake.SFN.AddStateMachine(machineARN, def)
	a := NewStepFunctionsMap(conn, NewParameter(conn))
	tg := mapTarget(config.MapModeDefinition, "Files")
	tg.Max, tg.Region, tg.StepFunctions.Executions = 10000, "us-east-1", 8
	st, err := a.Current(ctx, tg, t0)
	if err != nil {
		t.Fatal(err)
	}
	if st.Value != 100 || st.Constraints.Ceiling != 124 || !strings.HasPrefix(st.Constraints.CeilingRule, "open Map Runs: 1000 ÷ 8 executions") {
		t.Errorf("state = %+v, want 100 under a ceiling of 124 for open Map Runs (8 × (124 + 1 own) = 1,000)", st)
	}
	// Without the nested Distributed Map, the mode's 10,000 binds.
	fake.SFN.Edit(machineARN, strings.Replace(def, `"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"`, `"Mode": "INLINE"`, 1))
	st, err = a.Current(ctx, tg, t0.Add(60e9))
	if err != nil {
		t.Fatal(err)
	}
	if st.Constraints.Ceiling != DistributedMapMaxConcurrency || st.Constraints.CeilingRule != "" {
		t.Errorf("constraints = %+v, want the Distributed mode's maximum", st.Constraints)
	}
}
