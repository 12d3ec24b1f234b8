package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/autotuner/autotuner/config"
)

// TestIAMPolicyStepFunctions: each mode and backend gets exactly its
// calls, on its resources; dry-run targets get the reads only.
func TestIAMPolicyStepFunctions(t *testing.T) {
	const sm = "arn:aws:states:us-east-1:123456789012:stateMachine:orders"
	doc := `version: 1
defaults: {region: us-east-1}
targets:
  - {name: a, kind: stepfunctions-map, state_machine: "` + sm + `", map_state: M, publish: true, alias: live, min: 1, max: 40, signals: {s: {namespace: N, metric: M, stat: Sum}}, policy: {static: {}}}
  - {name: b, kind: stepfunctions-map, state_machine: "` + sm + `", map_state: D, mode: parameter, ssm_parameter: /orders/limit, min: 1, max: 400, signals: {s: {namespace: N, metric: M, stat: Sum}}, policy: {static: {}}}
  - {name: c, kind: parameter, table: limits, key: {pk: x}, attribute: v, min: 1, max: 9, dry_run: true, signals: {s: {namespace: N, metric: M, stat: Sum}}, policy: {static: {}}}
`
	f, err := config.Parse("p.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, s := range buildIAMPolicy(f, "us-east-1", "123456789012").Statement {
		got[s.Sid] = append(append(got[s.Sid], s.Action...), s.Resource...)
	}
	want := map[string][]string{
		"ReadMetrics":                          {"cloudwatch:GetMetricData", "*"},
		"StepFunctionsMapConcurrencyPublished": {"states:DescribeStateMachine", "states:UpdateStateMachine", "states:PublishStateMachineVersion", sm},
		"StepFunctionsReadVersions":            {"states:DescribeStateMachine", sm + ":*"},
		"StepFunctionsAlias":                   {"states:DescribeStateMachineAlias", "states:UpdateStateMachineAlias", sm + ":live"},
		"StepFunctionsReadDefinition":          {"states:DescribeStateMachine", sm},
		"PublishParameter":                     {"ssm:GetParameter", "ssm:PutParameter", "arn:aws:ssm:us-east-1:123456789012:parameter/orders/limit"},
		"PublishItemReadOnly":                  {"dynamodb:GetItem", "arn:aws:dynamodb:us-east-1:123456789012:table/limits"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("policy (-want +got):\n%s", d)
	}
}
