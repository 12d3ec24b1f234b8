package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/autotuner/autotuner/internal/awsfake"
)

func testEnv(stdout, stderr *bytes.Buffer) *env {
	return &env{stdout: stdout, stderr: stderr, stdin: strings.NewReader(""), getenv: os.Getenv, logger: slog.New(slog.NewTextHandler(stderr, nil))}
}

// exampleFake serves the resources policies.example.yaml names, with
// metrics that make the Lambda target want more concurrency.
func exampleFake(t *testing.T) *awsfake.Server {
	fake := awsfake.Start(t)
	fifty := 50
	fake.Lambda.AddFunction("checkout", &fifty)
	fake.Lambda.AddFunction("orders-consumer", &fifty)
	fake.Lambda.AddFunction("public-api-handler", &fifty)
	fake.DynamoDB.AddTable("orders", awsfake.Table{Provisioned: awsfake.Capacity{Read: 100, Write: 200}})
	fake.APIGateway.AddUsagePlan("a1b2c3", awsfake.UsagePlan{Throttle: &awsfake.Throttle{Rate: 100, Burst: 200}})
	// The table's depth signal reads this queue: without it the table
	// would be reading blind, a sensing failure.
	fake.SQS.SetAttribute("https://sqs.us-east-1.amazonaws.com/123456789012/orders", "ApproximateNumberOfMessages", "0")
	// The shared rate-limiter buckets (one fake serves both regions).
	fake.DynamoDB.AddTable("autotuner-buckets", awsfake.Table{Billing: "PAY_PER_REQUEST"})
	for _, b := range []string{"partner-api", "partner-api-global"} {
		fake.DynamoDB.PutItem("autotuner-buckets", awsfake.Item{"pk": {"S": b + "#0"}, "tokens": {"N": "250"}, "last_ms": {"N": "0"},
			"rate": {"N": "250"}, "burst": {"N": "250"}, "shards": {"N": "1"}, "v": {"N": "1"}})
	}
	fake.CloudWatch.Value = func(q awsfake.MetricDataQuery, ts time.Time) (float64, bool) {
		switch m := q.Metric(); m.Name {
		case "ConcurrentExecutions":
			if f := m.Dimensions["FunctionName"]; f == "public-api-handler" || f == "checkout" {
				return 35, true // 70% of 50: on target
			}
			return 50, true // every reserved slot busy: needs more
		case "ConsumedWriteCapacityUnits":
			return 140 * 60, true // 140/s of 200: on target
		case "ConsumedReadCapacityUnits":
			return 70 * 60, true
		case "Count":
			return 70 * 60, true
		case "Invocations":
			return 1000, true
		case "Latency":
			return 100, true // the payments API behind the consumer is healthy
		}
		return 0, false // sparse counters: nothing happened
	}
	return fake
}

func TestPlanAndOnceSpeakAWSProtocols(t *testing.T) {
	fake := exampleFake(t)
	dir := t.TempDir()
	statePath := filepath.Join(dir, "state.json")
	cfg := filepath.Join("..", "..", "policies.example.yaml")

	var out, errb bytes.Buffer
	code := run(context.Background(), testEnv(&out, &errb), []string{"plan", "-c", cfg, "--state", statePath})
	if code != exitOK {
		t.Fatalf("plan exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	t.Logf("plan:\n%s", out.String())
	for _, want := range []string{"orders-consumer", "orders-table-writes", "public-api-plan", "orders-table-reads"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("plan output lacks %s:\n%s", want, out.String())
		}
	}
	if n := len(fake.Calls("PutFunctionConcurrency")) + len(fake.Calls("UpdateTable")) + len(fake.Calls("UpdateUsagePlan")); n != 0 {
		t.Fatalf("plan made %d changes, want none", n)
	}
	for _, op := range []string{"GetMetricData", "GetFunction", "GetAccountSettings", "DescribeTable", "GetUsagePlan", "DescribeScalableTargets"} {
		if len(fake.Calls(op)) == 0 {
			t.Errorf("plan never called %s (calls: %v)", op, fake.Ops())
		}
	}
	if _, err := os.Stat(statePath); err == nil {
		t.Error("plan wrote the state file")
	}

	// --json prints the audit records.
	out.Reset()
	if code := run(context.Background(), testEnv(&out, &errb), []string{"plan", "-c", cfg, "--state", statePath, "--json"}); code != exitOK {
		t.Fatalf("plan --json exit %d: %s", code, errb.String())
	}
	var rec struct {
		Target  string
		Current float64
		Final   float64
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 9 {
		t.Fatalf("plan --json printed %d lines, want 9:\n%s", len(lines), out.String())
	}
	if err := json.Unmarshal([]byte(lines[1]), &rec); err != nil || rec.Target != "orders-consumer" || rec.Current != 50 || rec.Final <= 50 {
		t.Errorf("second record = %+v (%v), want orders-consumer from 50 upwards", rec, err)
	}

	fake.Reset()
	out.Reset()
	errb.Reset()
	code = run(context.Background(), testEnv(&out, &errb), []string{"once", "-c", cfg, "--state", statePath})
	if code != exitOK {
		t.Fatalf("once exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	puts := fake.Calls("PutFunctionConcurrency")
	if len(puts) != 1 || puts[0].Path != "/2017-10-31/functions/orders-consumer/concurrency" {
		t.Fatalf("once PutFunctionConcurrency calls = %+v, want one for orders-consumer", puts)
	}
	var body struct{ ReservedConcurrentExecutions int }
	if err := json.Unmarshal(puts[0].Body, &body); err != nil || body.ReservedConcurrentExecutions <= 50 {
		t.Errorf("PutFunctionConcurrency body %s, want a reservation above 50", puts[0].Body)
	}
	if r := fake.Lambda.Reserved("orders-consumer"); r == nil || *r != body.ReservedConcurrentExecutions {
		t.Errorf("the fake's reservation = %v, want %d", r, body.ReservedConcurrentExecutions)
	}
	if n := len(fake.Calls("UpdateUsagePlan")); n != 0 {
		t.Errorf("the dry-run usage plan was updated %d times", n)
	}
	if _, err := os.Stat(statePath); err != nil {
		t.Errorf("once wrote no state: %v", err)
	}
}

// TestOnceRecordsTheErrorClass: a refused change is audited with its
// class, the target holds, and once exits 1. (The retry on the next tick
// is tested with a scripted clock in package actuators.)
func TestOnceRecordsTheErrorClass(t *testing.T) {
	fake := exampleFake(t)
	dir := t.TempDir()
	statePath, auditPath := filepath.Join(dir, "state.json"), filepath.Join(dir, "audit.jsonl")
	cfg := filepath.Join("..", "..", "policies.example.yaml")
	conflict := awsfake.APIError{Status: 409, Code: "ResourceConflictException", Message: "The operation cannot be performed at this time. An update is in progress for resource"}
	fake.Fail("PutFunctionConcurrency", conflict)

	var out, errb bytes.Buffer
	args := []string{"once", "-c", cfg, "--state", statePath, "--audit", auditPath, "--targets", "orders-consumer"}
	if code := run(context.Background(), testEnv(&out, &errb), args); code != exitFailure {
		t.Fatalf("once exit %d, want %d for a failed change\n%s%s", code, exitFailure, out.String(), errb.String())
	}
	b, err := os.ReadFile(auditPath)
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		Target     string
		Applied    bool
		Final      float64
		Stage      string
		ErrorClass string `json:"error_class"`
	}
	// The intent line, then the outcome.
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	if len(lines) != 2 || !bytes.Contains(lines[0], []byte(`"intent":true`)) {
		t.Fatalf("audit = %s; want an intent line and an outcome line", b)
	}
	if err := json.Unmarshal(lines[1], &rec); err != nil {
		t.Fatal(err)
	}
	if rec.Applied || rec.Final != 50 || rec.Stage != "apply" || rec.ErrorClass != "conflict" {
		t.Errorf("audit = %+v, want a held target with a conflict at apply", rec)
	}
	if r := fake.Lambda.Reserved("orders-consumer"); r == nil || *r != 50 {
		t.Errorf("reservation = %v, want 50 untouched", r)
	}

}

func TestCloudWatchProtocolFromEnvironment(t *testing.T) {
	fake := exampleFake(t)
	t.Setenv("AUTOTUNER_CLOUDWATCH_PROTOCOL", "json")
	var out, errb bytes.Buffer
	cfg := filepath.Join("..", "..", "policies.example.yaml")
	if code := run(context.Background(), testEnv(&out, &errb), []string{"plan", "-c", cfg, "--state", filepath.Join(t.TempDir(), "s.json")}); code != exitOK {
		t.Fatalf("plan exit %d: %s", code, errb.String())
	}
	// One call per region and query window: the example's regional
	// buckets read each other's demand in eu-west-1, and its partner API
	// bucket reads its custom metrics with a 1-minute delay.
	calls := fake.Calls("GetMetricData")
	if len(calls) != 3 {
		t.Errorf("GetMetricData calls = %d, want one per region and window (3)", len(calls))
	}
	for _, c := range calls {
		if c.Header.Get("X-Amz-Target") != "GraniteServiceVersion20100801.GetMetricData" {
			t.Errorf("a GetMetricData call not in AWS JSON 1.0: %v", c.Header)
		}
	}
	t.Setenv("AUTOTUNER_CLOUDWATCH_PROTOCOL", "yaml")
	if code := run(context.Background(), testEnv(&out, &errb), []string{"plan", "-c", cfg}); code != exitFailure || !strings.Contains(errb.String(), "must be cbor, json or query") {
		t.Errorf("an unknown protocol: exit %d, stderr %q", code, errb.String())
	}
}
