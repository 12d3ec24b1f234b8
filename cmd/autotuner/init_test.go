package main

import (
	"strings"
	"testing"
	"time"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/internal/awsfake"
	"github.com/autotuner/autotuner/schema"
)

// accountFake is an account with one limit of every kind, a table that
// Application Auto Scaling manages, and things without limits.
func accountFake(t *testing.T) *awsfake.Server {
	fake := awsfake.Start(t)
	fifty, ten := 50, 10
	fake.Lambda.AddFunction("orders", &fifty)
	fake.Lambda.AddFunction("unreserved", nil)
	fake.Lambda.AddESM("6d2b7f4e-0000-4000-8000-000000000001", awsfake.ESM{MaxConcurrency: &ten, Function: "orders", Queue: "orders-queue"})
	fake.Lambda.AddESM("6d2b7f4e-0000-4000-8000-000000000002", awsfake.ESM{Function: "audit", Queue: "audit-queue"})
	fake.APIGateway.AddRestAPI("abc123", "public")
	fake.APIGateway.AddStage("abc123", "prod", awsfake.Stage{MethodSettings: map[string]awsfake.Throttle{"*/*": {Rate: 200, Burst: 400}}})
	fake.APIGateway.AddStage("abc123", "dev", awsfake.Stage{})
	fake.APIGateway.AddUsagePlan("p1", awsfake.UsagePlan{Name: "gold", APIStages: []string{"abc123:prod"}, Throttle: &awsfake.Throttle{Rate: 100, Burst: 200}})
	fake.APIGateway.AddUsagePlan("p2", awsfake.UsagePlan{Name: "free"})
	fake.DynamoDB.AddTable("orders", awsfake.Table{Provisioned: awsfake.Capacity{Read: 100, Write: 200}, Indexes: map[string]*awsfake.Index{"byUser": {Provisioned: awsfake.Capacity{Read: 10, Write: 20}}}})
	fake.DynamoDB.AddTable("scaled", awsfake.Table{Provisioned: awsfake.Capacity{Read: 5, Write: 5}})
	fake.DynamoDB.AddTable("events", awsfake.Table{Billing: "PAY_PER_REQUEST", OnDemand: awsfake.Capacity{Read: 300, Write: -1}})
	fake.AutoScaling.Register(awsfake.ScalableTarget{ServiceNamespace: "dynamodb", ResourceID: "table/scaled", ScalableDimension: "dynamodb:table:WriteCapacityUnits", Min: 5, Max: 100})
	fake.Tagging.Tag("arn:aws:lambda:us-east-1:123456789012:function:orders", map[string]string{"autotune": "on"})
	fake.Tagging.Tag("arn:aws:dynamodb:us-east-1:123456789012:table/orders", map[string]string{"autotune": "on"})
	fake.Tagging.Tag("arn:aws:dynamodb:us-east-1:123456789012:table/events", map[string]string{"autotune": "off"})
	peak := time.Now().Add(-3 * 24 * time.Hour).Truncate(5 * time.Minute)
	fake.CloudWatch.Value = func(q awsfake.MetricDataQuery, ts time.Time) (float64, bool) {
		v := 1.0
		if ts.Equal(peak) {
			v = 2 // the busiest five minutes, three days ago
		}
		switch m := q.Metric(); m.Name {
		case "ConcurrentExecutions":
			return 35 * v, true
		case "ConsumedWriteCapacityUnits":
			return 70 * 300 * v, true // 70 units/s on average over 5 minutes
		case "ConsumedReadCapacityUnits", "Count":
			return 14 * 300 * v, true
		}
		return 0, false
	}
	return fake
}

func TestInitWritesAValidDryRunFile(t *testing.T) {
	fake := accountFake(t)
	code, out, errs := cli(t, "init")
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	if want := "# yaml-language-server: $schema=./schema/" + schema.PoliciesFile + "\n"; !strings.HasPrefix(out, want) {
		t.Fatalf("init's file does not start with the schema modeline %q:\n%s", want, out)
	}
	f, err := config.Parse("init.yaml", []byte(out))
	if err != nil {
		t.Fatalf("init's file does not validate: %v\n%s", err, out)
	}
	var names []string
	for _, tg := range f.Targets {
		names = append(names, tg.Name)
		if !tg.DryRun {
			t.Errorf("%s is not in dry-run", tg.Name)
		}
	}
	want := "orders orders:orders-queue public:prod gold events:read orders:read orders:write orders.byUser:read orders.byUser:write scaled:read"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("targets %q, want %q\n%s", got, want, out)
	}
	for _, s := range []string{
		// The function: peak 70 busy needs 100 at 70%; min a quarter of the current 50, max twice 100.
		"# function orders, reserved concurrency 50.\n  # 14-day peak 70 concurrent executions",
		"needs 100 at 70%; min 13 is a quarter of the smaller of it and the current 50, max 200 twice the larger.\n  - name: orders\n    kind: lambda-reserved-concurrency\n    function: orders\n    min: 13\n    max: 200\n",
		"    event_source_mapping: 6d2b7f4e-0000-4000-8000-000000000001\n    function: orders\n    queue: orders-queue\n",
		"    rest_api: abc123\n    stage: prod\n    api_name: public\n",
		"    usage_plan: p1\n    api_name: public\n    stage: prod\n",
		// Application Auto Scaling's table is written, commented out.
		"  # left alone: Application Auto Scaling manages it (5..100); two controllers would fight.\n  # - name: scaled:write\n",
		// Without a maximum: commented out, with the way in.
		"  # no limit in force: uncomment to have autotuner set one.\n  # - name: events:write\n",
		"  # no limit in force: uncomment to have autotuner set one.\n  # - name: audit:audit-queue\n",
		// A global secondary index is a knob of its own.
		"  # provisioned table orders index byUser, 10 read capacity units.\n",
		"    table: orders\n    index: byUser\n    capacity: read\n",
	} {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks:\n%s\n--- output:\n%s", s, out)
		}
	}
	for _, absent := range []string{"unreserved", "free", "abc123\n    stage: dev"} {
		if strings.Contains(out, absent) {
			t.Errorf("output lists %q, which has no limit", absent)
		}
	}
	// It only read: nothing was changed.
	for _, op := range fake.Ops() {
		if strings.HasPrefix(op, "Put") || strings.HasPrefix(op, "Update") || strings.HasPrefix(op, "Delete") {
			t.Errorf("init called %s", op)
		}
	}
	if n := len(fake.Calls("GetMetricData")); n != 1 {
		t.Errorf("GetMetricData calls = %d, want 1 batch", n)
	}
	if _, got, _ := cli(t, "init", "--schema", ""); strings.Contains(got, "yaml-language-server") || !strings.HasPrefix(got, "# Written by `autotuner init`") {
		t.Fatalf("--schema \"\" still writes the modeline:\n%s", got)
	}
}

func TestInitByTags(t *testing.T) {
	accountFake(t)
	code, out, errs := cli(t, "init", "--tags", "autotune=on")
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	f, err := config.Parse("init.yaml", []byte(out))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tg := range f.Targets {
		names = append(names, tg.Name)
	}
	// The mapping reads its function's tags.
	if got, want := strings.Join(names, " "), "orders orders:orders-queue orders:read orders:write orders.byUser:read orders.byUser:write"; got != want {
		t.Errorf("targets %q, want %q", got, want)
	}
	if !strings.Contains(out, "tagged autotune=on") {
		t.Errorf("header does not say the tags:\n%s", out)
	}
}

func TestInitNothingFound(t *testing.T) {
	awsfake.Start(t)
	code, out, errs := cli(t, "init", "--tags", "team=none")
	if code != exitFailure || out != "" || !strings.Contains(errs, "found no limit autotuner can tune in us-east-1 with tags team=none") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errs)
	}
}

func TestInitBadFlags(t *testing.T) {
	for _, args := range [][]string{{"init", "--tags", "novalue"}, {"init", "--days", "0"}, {"init", "extra"}} {
		if code, _, _ := cli(t, args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
	}
}
