package config

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/autotuner/autotuner/policy"
)

// A table behind an API reads its arrivals as at most what the API admits
// (the cap), but is not held at the API's limit: no floor setpoint.
func TestAdmittedOnATableCapsWithoutFloor(t *testing.T) {
	src := `version: 1
targets:
  - name: api
    kind: apigateway-usage-plan
    usage_plan: p1
    min: 10
    max: 1000
    signals:
      requests: {namespace: AWS/ApiGateway, metric: Count, dimensions: {ApiName: a, Stage: prod}, stat: Sum, per_second: true}
    policy:
      autotuner:
        utilization: {signal: requests}
  - name: table
    kind: dynamodb-provisioned
    table: orders
    capacity: write
    min: 5
    max: 4000
    signals:
      consumed:  {namespace: AWS/DynamoDB, metric: ConsumedWriteCapacityUnits, dimensions: {TableName: orders}, stat: Sum, per_second: true}
      arrivals:  {namespace: AWS/ApiGateway, metric: Count, dimensions: {ApiName: a, Stage: prod}, stat: Sum, per_second: true}
      api_limit: {source: target, target: api}
    policy:
      autotuner:
        utilization: {signal: consumed, target: 70%}
        feedforward: {signal: arrivals, per_request: 1, admitted: api_limit}
`
	f, err := Parse("p.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	a := f.Target("table").Engine.Rec.(*policy.Autotuner)
	want := []policy.Setpoint{
		{Signal: "consumed", Target: 0.7, PerLimit: true, Count: 60},
		{Signal: "arrivals", Target: 0.7, PerLimit: true, UpOnly: true, Factor: 1, Cap: "api_limit", Count: 60},
	}
	if diff := cmp.Diff(want, a.P.Setpoints); diff != "" {
		t.Errorf("setpoints (-want +got):\n%s", diff)
	}
}
