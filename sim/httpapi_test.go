package sim

import (
	"testing"
)

// An HTTP API stage target (apigatewayv2-stage) runs in the simulator on
// its preset: the stage's throttle stands for the HTTP API's, Count and
// 4xx are read as an HTTP API publishes them, and a front door far too
// small for the traffic is opened.
func TestHTTPAPIStageSimulates(t *testing.T) {
	s := setup(t, `
duration: 30m
warmup: 0s
topology:
  kind: api-lambda-dynamodb
  api: {rate: 50, burst: 100}
  lambda: {name: fn, reserved: 500}
traffic: {rate: 200}
`, `version: 1
targets:
  - name: front
    kind: apigatewayv2-stage
    api_id: a1b2c3d4
    stage: prod
    min: 10
    max: 2000
`)
	res, recs := run(t, s, PolicyAutotuner)
	var raised, saw429 bool
	for _, r := range recs {
		if r.Target == "front" && r.Applied && r.Final > r.Current {
			raised = true
		}
		if e := r.Signals["errors_4xx"]; e.Valid && !e.Filled && e.Value > 0 {
			saw429 = true // the 429s, read from the HTTP API's 4xx
		}
	}
	if !saw429 {
		t.Error("the preset's 4xx signal never read the throttled requests")
	}
	if !raised {
		t.Fatalf("the HTTP API stage was never raised; notes %v", res.Notes)
	}
	if res.Layers.APIGateway == 0 {
		t.Error("no 429s at a 50/s stage under 200/s: the stage throttle is not the knob")
	}
}
