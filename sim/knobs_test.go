package sim

import (
	"os"
	"strings"
	"testing"
)

// The scenario in docs/simulator.md sets every knob; it parses, and each
// knob reaches the scenario.
func TestDocumentedScenarioSetsEveryKnob(t *testing.T) {
	doc, err := os.ReadFile("../docs/simulator.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	start := strings.Index(text, "```yaml\nname: my-scenario")
	if start < 0 {
		t.Fatal("no scenario example in docs/simulator.md")
	}
	body := text[start+len("```yaml\n"):]
	body = body[:strings.Index(body, "```")]
	sc, err := ParseScenario("docs/simulator.md", []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	tp := &sc.Topology
	checks := []struct {
		what string
		ok   bool
	}{
		{"api keys", len(tp.API.Keys) == 2},
		{"api methods", len(tp.API.Methods) == 1},
		{"queue batch", tp.Queue.BatchSize == 10},
		{"queue retention", tp.Queue.Retention.Seconds() == 4*86400},
		{"lambda scaling", tp.Lambda.ScalingPer10s == 1000},
		{"table burst", *tp.Table.BurstSeconds == 300 && *tp.Table.BurstStart == 1},
		{"table warm", tp.Table.WarmWrite == 4000},
		{"cloudwatch faults", len(sc.CloudWatch.Outages) == 1 && sc.CloudWatch.Late != nil},
		{"clients", sc.Clients != nil && sc.Clients.Retries == 3},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s: not as documented", c.what)
		}
	}
}

// Bad knobs are errors that name the key and the allowed range.
func TestKnobValidation(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{`topology: {kind: api-lambda-dynamodb, api: {rate: 1}, table: {burst_seconds: 301}}`, "topology.table.burst_seconds: must be between 0 and 300"},
		{`topology: {kind: api-lambda-dynamodb, api: {rate: 1}, table: {burst_start: 2}}`, "topology.table.burst_start"},
		{`topology: {kind: api-lambda-dynamodb, api: {rate: 1}, table: {hot_key_share: -1}}`, "topology.table.hot_key_share"},
		{`topology: {kind: sqs-lambda-dynamodb-downstream, queue: {batch_size: 100}}`, "a batch_size above 10 needs a batching window"},
		{`topology: {kind: sqs-lambda-dynamodb-downstream, queue: {max_receive_count: 1001}}`, "topology.queue.max_receive_count"},
		{`topology: {kind: sqs-lambda-dynamodb-downstream, queue: {retention: 15d}}`, "topology.queue.retention"},
		{`topology: {kind: api-lambda-dynamodb, api: {rate: 1, keys: [{name: a, share: 0}]}}`, "topology.api.keys[0].share"},
		{`topology: {kind: api-lambda-dynamodb, api: {rate: 1, client_error_rate: 1}}`, "topology.api.client_error_rate"},
		{`topology: {kind: api-lambda-dynamodb, api: {rate: 1}, lambda: {account_concurrency: 500, other_reserved: 450}}`, "topology.lambda.other_reserved"},
		{`topology: {kind: api-lambda-dynamodb, api: {rate: 1}, lambda: {async: {retry_attempts: 3}}}`, "topology.lambda.async.retry_attempts"},
		{`topology: {kind: api-lambda-dynamodb, api: {rate: 1}}
cloudwatch: {drop: 2}`, "cloudwatch.drop"},
		{`topology: {kind: api-lambda-dynamodb, api: {rate: 1}}
cloudwatch: {late: {share: 0.1}}`, "cloudwatch.late.by"},
		{`topology: {kind: api-lambda-dynamodb, api: {rate: 1}}
clients: {retries: 11}`, "clients.retries"},
		{`topology: {kind: api-lambda-dynamodb, api: {rate: 1}}
clients: {retries: 1, jitter: some}`, "clients.jitter"},
	} {
		_, err := ParseScenario("s.yaml", []byte("duration: 1h\ntraffic: {rate: 1}\n"+tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s\n  error %v, want one saying %q", tc.yaml, err, tc.want)
		}
	}
}
