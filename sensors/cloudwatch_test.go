package sensors

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/internal/awsclient"
	"github.com/autotuner/autotuner/internal/awsfake"
	"github.com/autotuner/autotuner/policy"
)

var now = time.Date(2026, 11, 25, 12, 0, 30, 0, time.UTC)

func parse(t testing.TB, yaml string) *config.File {
	t.Helper()
	f, err := config.Parse("test.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// fleet writes a policies file of n Lambda targets with three signals each,
// all distinct metrics.
func fleet(n int) string { return fleetFrom(0, n) }

// fleetFrom numbers the targets from start.
func fleetFrom(start, n int) string {
	var b strings.Builder
	b.WriteString("version: 1\ndefaults: {region: us-east-1, metric_delay: 2m}\ntargets:\n")
	for i := start; i < start+n; i++ {
		fmt.Fprintf(&b, `  - name: fn%d
    kind: lambda-reserved-concurrency
    function: fn%d
    min: 1
    max: 100
    signals:
      throttles: {namespace: AWS/Lambda, metric: Throttles, dimensions: {FunctionName: fn%d}, stat: Sum, missing: zero}
      invocations: {namespace: AWS/Lambda, metric: Invocations, dimensions: {FunctionName: fn%d}, stat: Sum, missing: zero}
      busy: {namespace: AWS/Lambda, metric: ConcurrentExecutions, dimensions: {FunctionName: fn%d}, stat: Maximum}
    policy:
      autotuner:
        utilization: {signal: busy, target: 70%%}
        throttles: {signal: throttles, requests: invocations}
`, i, i, i, i, i)
	}
	return b.String()
}

func newSensor(t testing.TB, o awsclient.Options) *CloudWatch {
	t.Helper()
	o.NoRateLimits = o.Rates == nil
	o.MaxBackoff = time.Millisecond
	f, err := awsclient.New(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return &CloudWatch{Clients: FromFactory(f)}
}

const twoTargets = `version: 1
defaults: {region: us-east-1, metric_delay: 2m}
targets:
  - name: orders
    kind: lambda-reserved-concurrency
    function: orders
    min: 1
    max: 100
    signals:
      throttles: {namespace: AWS/Lambda, metric: Throttles, dimensions: {FunctionName: orders}, stat: Sum, missing: zero}
      busy: {namespace: AWS/Lambda, metric: ConcurrentExecutions, dimensions: {FunctionName: orders}, stat: Maximum}
      table_pain: {namespace: AWS/DynamoDB, metric: WriteThrottleEvents, dimensions: {TableName: orders}, stat: Sum, missing: zero}
      ratio: {expression: "throttles / busy"}
    policy:
      autotuner:
        utilization: {signal: busy, target: 70%}
        throttles: throttles
  - name: orders-table
    kind: dynamodb-provisioned
    table: orders
    capacity: write
    min: 1
    max: 100
    signals:
      consumed: {namespace: AWS/DynamoDB, metric: ConsumedWriteCapacityUnits, dimensions: {TableName: orders}, stat: Sum, per_second: true}
      throttled: {namespace: AWS/DynamoDB, metric: WriteThrottleEvents, dimensions: {TableName: orders}, stat: Sum, missing: zero}
      depth: {source: sqs, queue_url: "https://sqs.us-east-1.amazonaws.com/123456789012/orders"}
    policy:
      autotuner:
        utilization: {signal: consumed, target: 70%}
        throttles: throttled
`

func TestReadOverCBOR(t *testing.T) {
	fake := awsfake.Start(t)
	f := parse(t, twoTargets)
	// now is 12:00:30, delay 2m: the newest complete period is 11:57.
	latest := time.Date(2026, 11, 25, 11, 57, 0, 0, time.UTC)
	m := func(ns, name, stat string, dims ...string) awsfake.Metric {
		d := map[string]string{}
		for i := 0; i < len(dims); i += 2 {
			d[dims[i]] = dims[i+1]
		}
		return awsfake.Metric{Namespace: ns, Name: name, Stat: stat, Dimensions: d}
	}
	fake.CloudWatch.Put(m("AWS/Lambda", "Throttles", "Sum", "FunctionName", "orders"), latest.Add(-time.Minute), 9) // old: not the newest period
	fake.CloudWatch.Put(m("AWS/Lambda", "ConcurrentExecutions", "Maximum", "FunctionName", "orders"), latest.Add(-time.Minute), 40)
	fake.CloudWatch.Put(m("AWS/Lambda", "ConcurrentExecutions", "Maximum", "FunctionName", "orders"), latest.Add(time.Minute), 99) // still filling: never read
	fake.CloudWatch.Put(m("AWS/DynamoDB", "ConsumedWriteCapacityUnits", "Sum", "TableName", "orders"), latest, 600)
	fake.CloudWatch.Put(m("AWS/DynamoDB", "WriteThrottleEvents", "Sum", "TableName", "orders"), latest, 3)
	fake.CloudWatch.Value = nil
	fake.SQS.SetAttribute("https://sqs.us-east-1.amazonaws.com/123456789012/orders", "ApproximateNumberOfMessages", "17")

	s := newSensor(t, awsclient.Options{})
	got, err := s.Read(context.Background(), f.Targets, now)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]policy.Signals{
		"orders": {
			"throttles":  {Value: 0, At: latest, Valid: true, Filled: true}, // sparse counter, nothing in the newest period: a filled 0
			"busy":       policy.Reading(40, latest.Add(-time.Minute)),
			"table_pain": policy.Reading(3, latest),
			"ratio":      {}, // the fake does not evaluate math: missing, not zero
		},
		"orders-table": {
			"consumed":  policy.Reading(10, latest), // 600 per minute = 10/s
			"throttled": policy.Reading(3, latest),
			"depth":     policy.Reading(17, now.Truncate(time.Minute)), // real time, stamped at the minute
		},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("readings (-want +got):\n%s", d)
	}

	calls := fake.Calls("GetMetricData")
	if len(calls) != 1 {
		t.Fatalf("GetMetricData calls = %d, want 1", len(calls))
	}
	c := calls[0]
	if c.Path != "/service/GraniteServiceVersion20100801/operation/GetMetricData" || c.Header.Get("Content-Type") != "application/cbor" || c.Header.Get("Smithy-Protocol") != "rpc-v2-cbor" {
		t.Errorf("request = %s %s %v, want the rpc-v2-cbor shape", c.Method, c.Path, c.Header)
	}
	in := fake.CloudWatch.Requests()[0]
	if !in.EndTime.Equal(latest.Add(time.Minute)) || !in.StartTime.Equal(latest.Add(-3*time.Minute)) {
		t.Errorf("window = %s..%s, want %s..%s", in.StartTime, in.EndTime, latest.Add(-3*time.Minute), latest.Add(time.Minute))
	}
	// WriteThrottleEvents on the table is asked for once, for both targets.
	if len(in.MetricDataQueries) != 5 {
		t.Errorf("queries = %d, want 5 (4 distinct metrics + 1 expression)", len(in.MetricDataQueries))
	}
	ids := map[string]bool{}
	for _, q := range in.MetricDataQueries {
		ids[q.Id] = true
	}
	for _, q := range in.MetricDataQueries {
		if q.Expression == "" {
			continue
		}
		var a, b string
		if _, err := fmt.Sscanf(q.Expression, "%s / %s", &a, &b); err != nil || !ids[a] || !ids[b] {
			t.Errorf("expression %q does not name the queries of throttles and busy", q.Expression)
		}
	}
	if n := len(fake.Calls("GetQueueAttributes")); n != 1 {
		t.Errorf("GetQueueAttributes calls = %d, want 1", n)
	}
}

func TestBatchesOf500(t *testing.T) {
	fake := awsfake.Start(t)
	f := parse(t, fleet(400)) // 1,200 distinct queries
	fake.CloudWatch.Value = func(q awsfake.MetricDataQuery, ts time.Time) (float64, bool) { return 1, true }
	s := newSensor(t, awsclient.Options{})
	got, err := s.Read(context.Background(), f.Targets, now)
	if err != nil {
		t.Fatal(err)
	}
	reqs := fake.CloudWatch.Requests()
	if len(reqs) != 3 {
		t.Fatalf("GetMetricData calls = %d, want 3", len(reqs))
	}
	total := 0
	for _, r := range reqs {
		if len(r.MetricDataQueries) > MaxQueries {
			t.Errorf("a call has %d queries, over %d", len(r.MetricDataQueries), MaxQueries)
		}
		total += len(r.MetricDataQueries)
	}
	if total != 1200 {
		t.Errorf("queries sent = %d, want 1200", total)
	}
	for _, tg := range f.Targets {
		for _, sg := range tg.SignalList {
			if r := got[tg.Name][sg.Name]; !r.Present() || r.Value != 1 {
				t.Fatalf("%s.%s = %+v, want 1", tg.Name, sg.Name, r)
			}
		}
	}
}

func TestPagination(t *testing.T) {
	fake := awsfake.Start(t)
	fake.CloudWatch.PageSize = 7
	f := parse(t, fleet(10))
	fake.CloudWatch.Value = func(q awsfake.MetricDataQuery, ts time.Time) (float64, bool) {
		return float64(len(q.MetricStat.Metric.Dimensions[0].Value)), true
	}
	s := newSensor(t, awsclient.Options{})
	got, err := s.Read(context.Background(), f.Targets, now)
	if err != nil {
		t.Fatal(err)
	}
	reqs := fake.CloudWatch.Requests()
	if len(reqs) != 5 { // 30 results, 7 a page
		t.Fatalf("pages = %d, want 5", len(reqs))
	}
	for i, r := range reqs {
		want := ""
		if i > 0 {
			want = fmt.Sprint(7 * i)
		}
		if r.NextToken != want {
			t.Errorf("page %d NextToken = %q, want %q", i, r.NextToken, want)
		}
	}
	for _, tg := range f.Targets {
		if r := got[tg.Name]["busy"]; r.Value != float64(len(tg.Function)) {
			t.Errorf("%s busy = %+v", tg.Name, r)
		}
	}
}

func TestStatusCodesLeaveDataMissing(t *testing.T) {
	fake := awsfake.Start(t)
	f := parse(t, fleet(1))
	p := NewPlan(f.Targets, now, DefaultLookback)
	fake.CloudWatch.Status = map[string]string{}
	for id, refs := range p.Batches[0].fan {
		switch refs[0].sig.Name {
		case "throttles":
			fake.CloudWatch.Status[id] = "InternalError"
		case "invocations":
			fake.CloudWatch.Status[id] = "PartialData"
		}
	}
	s := newSensor(t, awsclient.Options{})
	got, err := s.Read(context.Background(), f.Targets, now)
	if err != nil {
		t.Fatal(err)
	}
	latest := time.Date(2026, 11, 25, 11, 57, 0, 0, time.UTC)
	want := policy.Signals{
		"throttles":   {Why: "CloudWatch query status InternalError", Failed: "transient"}, // missing: zero, but AWS could not say: unknown, not 0
		"invocations": {Why: "CloudWatch query status PartialData", Failed: "transient"},
		"busy":        {}, // a gauge with no data holds, and is no failure: CloudWatch answered
	}
	_ = latest
	if d := cmp.Diff(want, got["fn0"]); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestErrorsClassifiedAndIsolated(t *testing.T) {
	fake := awsfake.Start(t)
	f := parse(t, fleet(1))
	fake.CloudWatch.Value = func(q awsfake.MetricDataQuery, ts time.Time) (float64, bool) { return 1, true }
	fake.Fail("GetMetricData", awsfake.APIError{Status: 400, Code: "AccessDenied", Message: "not authorized to perform cloudwatch:GetMetricData"})
	s := newSensor(t, awsclient.Options{})
	got, err := s.Read(context.Background(), f.Targets, now)
	if err == nil {
		t.Fatal("Read succeeded, want the AccessDenied error")
	}
	if c := controller.Classify(err); c != controller.ClassPermission {
		t.Errorf("class = %q, want permission (err %v)", c, err)
	}
	for n, sg := range got["fn0"] {
		if sg.Valid || !strings.Contains(sg.Why, "AccessDenied") {
			t.Errorf("%s = %+v after a failed read, want missing, saying why", n, sg)
		}
	}
	// Throttling is retried by the SDK and then succeeds.
	fake.Reset()
	fake.Fail("GetMetricData", awsfake.APIError{Status: 400, Code: "Throttling", Message: "Rate exceeded"})
	if _, err := s.Read(context.Background(), f.Targets, now); err != nil {
		t.Fatalf("Read after one throttle = %v, want a retried success", err)
	}
	if n := len(fake.Calls("GetMetricData")); n != 2 {
		t.Errorf("calls = %d, want 2 (one throttled, one retry)", n)
	}
}

func TestJSONProtocolSwitch(t *testing.T) {
	fake := awsfake.Start(t)
	f := parse(t, fleet(2))
	fake.CloudWatch.Value = func(q awsfake.MetricDataQuery, ts time.Time) (float64, bool) { return 2, true }
	s := newSensor(t, awsclient.Options{CloudWatchProtocol: "json"})
	got, err := s.Read(context.Background(), f.Targets, now)
	if err != nil {
		t.Fatal(err)
	}
	c := fake.Calls("GetMetricData")
	if len(c) != 1 || c[0].Header.Get("X-Amz-Target") != "GraniteServiceVersion20100801.GetMetricData" {
		t.Fatalf("calls = %+v, want one AWS JSON 1.0 call", c)
	}
	if r := got["fn1"]["busy"]; r.Value != 2 {
		t.Errorf("busy = %+v, want 2", r)
	}
}

// TestExpressionsTravelWithTheirInputs packs 200 targets whose expressions
// read two metrics each and one metric they all share: every call must
// hold the inputs of its expressions, no call more than 500 queries, and
// each result served once.
func TestExpressionsTravelWithTheirInputs(t *testing.T) {
	var b strings.Builder
	b.WriteString("version: 1\ndefaults: {region: us-east-1}\ntargets:\n")
	for i := range 200 {
		fmt.Fprintf(&b, `  - name: t%[1]d
    kind: lambda-reserved-concurrency
    function: f%[1]d
    min: 1
    max: 10
    signals:
      a: {namespace: N, metric: A, dimensions: {F: f%[1]d}, stat: Sum}
      b: {namespace: N, metric: B, dimensions: {F: f%[1]d}, stat: Sum}
      shared: {namespace: N, metric: Account, stat: Sum}
      ratio: {expression: "(a + b) / shared"}
    policy:
      autotuner:
        utilization: {signal: ratio, target: 70%%}
`, i)
	}
	f := parse(t, b.String())
	p := NewPlan(f.Targets, now, DefaultLookback)
	if p.Queries != 200*3+1 {
		t.Errorf("distinct queries = %d, want %d", p.Queries, 200*3+1)
	}
	served := map[string]int{}
	for i, bt := range p.Batches {
		if len(bt.queries) > MaxQueries {
			t.Errorf("call %d has %d queries", i, len(bt.queries))
		}
		in := map[string]bool{}
		for _, q := range bt.queries {
			if in[*q.Id] {
				t.Errorf("call %d repeats ID %s", i, *q.Id)
			}
			in[*q.Id] = true
		}
		for _, q := range bt.queries {
			if q.Expression == nil {
				continue
			}
			for _, w := range strings.FieldsFunc(*q.Expression, func(r rune) bool { return strings.ContainsRune("()+/ ", r) }) {
				if !in[w] {
					t.Errorf("call %d: expression %q reads %s, which is not in the call", i, *q.Expression, w)
				}
			}
		}
		for id := range bt.fan {
			served[id]++
		}
	}
	for id, n := range served {
		if n != 1 {
			t.Errorf("%s served by %d calls", id, n)
		}
	}
	if len(p.Batches) != 2 {
		t.Errorf("calls = %d, want 2", len(p.Batches))
	}
}

func TestQueryProtocolSwitch(t *testing.T) {
	fake := awsfake.Start(t)
	fake.CloudWatch.PageSize = 4
	f := parse(t, fleet(2))
	fake.CloudWatch.Value = func(q awsfake.MetricDataQuery, ts time.Time) (float64, bool) { return 2.5, true }
	s := newSensor(t, awsclient.Options{CloudWatchProtocol: "query"})
	got, err := s.Read(context.Background(), f.Targets, now)
	if err != nil {
		t.Fatal(err)
	}
	c := fake.Calls("GetMetricData")
	if len(c) != 2 || c[0].Path != "/" || !strings.Contains(string(c[0].Body), "Action=GetMetricData") {
		t.Fatalf("calls = %d %+v, want two awsQuery pages", len(c), c)
	}
	if r := got["fn1"]["busy"]; r.Value != 2.5 {
		t.Errorf("busy = %+v, want 2.5", r)
	}
}

// Another target's limit (source target) is the controller's to fill in:
// the sensor asks CloudWatch nothing for it, and the batch stays valid.
func TestLimitSignalsAreNotQueried(t *testing.T) {
	fake := awsfake.Start(t)
	f := parse(t, `version: 1
defaults: {region: us-east-1, metric_delay: 2m}
targets:
  - name: api
    kind: apigateway-usage-plan
    usage_plan: p1
    min: 10
    max: 1000
    signals:
      requests: {namespace: AWS/ApiGateway, metric: Count, dimensions: {ApiName: a}, stat: Sum, per_second: true}
    policy:
      autotuner:
        utilization: {signal: requests}
  - name: fn
    kind: lambda-reserved-concurrency
    function: fn
    min: 1
    max: 100
    signals:
      busy: {namespace: AWS/Lambda, metric: ConcurrentExecutions, dimensions: {FunctionName: fn}, stat: Maximum}
      duration: {namespace: AWS/Lambda, metric: Duration, dimensions: {FunctionName: fn}, stat: Average}
      arrivals: {namespace: AWS/ApiGateway, metric: Count, dimensions: {ApiName: a}, stat: Sum, per_second: true}
      api_limit: {source: target, target: api}
    policy:
      autotuner:
        utilization: {signal: busy, target: 70%}
        feedforward: {signal: arrivals, duration: duration, admitted: api_limit}
`)
	s := newSensor(t, awsclient.Options{})
	got, err := s.Read(context.Background(), f.Targets, now)
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := got["fn"]["api_limit"]; ok && r.Valid {
		t.Errorf("api_limit = %+v from the sensor, want nothing", r)
	}
	reqs := fake.CloudWatch.Requests()
	if len(reqs) != 1 {
		t.Fatalf("GetMetricData requests = %d, want 1", len(reqs))
	}
	// Count (shared by both targets), ConcurrentExecutions, Duration.
	if n := len(reqs[0].MetricDataQueries); n != 3 {
		t.Errorf("queries = %d, want 3", n)
	}
	for _, q := range reqs[0].MetricDataQueries {
		if q.Expression == "" && (q.MetricStat == nil || q.MetricStat.Metric.MetricName == "") {
			t.Errorf("a query without a metric: %+v", q)
		}
	}
}

// A failed queue read leaves its signal missing, saying why, and touches
// no other reading.
func TestFailedQueueReadSaysWhy(t *testing.T) {
	fake := awsfake.Start(t)
	f := parse(t, twoTargets)
	fake.CloudWatch.Value = func(q awsfake.MetricDataQuery, ts time.Time) (float64, bool) { return 60, true }
	fake.Fail("GetQueueAttributes", awsfake.APIError{Status: 400, Code: "QueueDoesNotExist", Message: "The specified queue does not exist."})
	s := newSensor(t, awsclient.Options{})
	got, err := s.Read(context.Background(), f.Targets, now)
	if err != nil {
		t.Fatal(err)
	}
	if d := got["orders-table"]["depth"]; d.Valid || !strings.Contains(d.Why, "QueueDoesNotExist") {
		t.Errorf("depth = %+v, want missing, saying why", d)
	}
	if c := got["orders-table"]["consumed"]; !c.Valid || c.Why != "" {
		t.Errorf("consumed = %+v, want a valid reading with no why", c)
	}
}

// CloudWatch unreachable while the queue answers: the read as a whole
// succeeds, but every CloudWatch signal comes back failed, with its class,
// so that its target is known to be running blind; the queue's reading
// stands.
func TestCloudWatchOutageMarksSignalsFailed(t *testing.T) {
	fake := awsfake.Start(t)
	f := parse(t, twoTargets)
	fake.SQS.SetAttribute("https://sqs.us-east-1.amazonaws.com/123456789012/orders", "ApproximateNumberOfMessages", "17")
	outage := awsfake.APIError{Status: 503, Code: "ServiceUnavailable", Message: "the service is unavailable"}
	for range 50 { // every attempt of every call, retries included
		fake.Fail("GetMetricData", outage)
	}
	s := newSensor(t, awsclient.Options{})
	got, err := s.Read(context.Background(), f.Targets, now)
	if err != nil {
		t.Fatalf("one call succeeded, so the read does: %v", err)
	}
	for target, sigs := range got {
		for name, sig := range sigs {
			if target == "orders-table" && name == "depth" {
				if !sig.Valid || sig.Failed != "" {
					t.Errorf("depth = %+v, want the queue's reading", sig)
				}
				continue
			}
			if sig.Valid || sig.Failed != "transient" {
				t.Errorf("%s.%s = %+v, want missing and failed (transient)", target, name, sig)
			}
		}
	}
}
