package actuators

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/internal/awsclient"
	"github.com/autotuner/autotuner/internal/awsfake"
	"github.com/autotuner/autotuner/policy"
)

func table(name, index, capacity string) *config.Target {
	return &config.Target{Name: name + "-" + index + "-" + capacity, Kind: config.DynamoDBProvisioned, Table: name, Index: index, Capacity: capacity, Min: 1, Max: 40000}
}

// clock is the fake's clock, moved by the test.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

func TestDynamoDBProvisionedUpdates(t *testing.T) {
	fake, conn := connect(t, awsclient.Options{})
	clk := &clock{now: t0}
	fake.Now = clk.Now
	fake.DynamoDB.UpdateDuration = 3 * time.Minute
	fake.DynamoDB.AddTable("orders", awsfake.Table{
		Provisioned: awsfake.Capacity{Read: 100, Write: 200},
		Indexes:     map[string]*awsfake.Index{"byUser": {Provisioned: awsfake.Capacity{Read: 10, Write: 20}}},
	})
	d := NewDynamoDBProvisioned(conn)
	w := table("orders", "", "write")

	st, err := d.Current(ctx, w, t0)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "state", controller.State{Value: 200, Constraints: policy.Constraints{Floor: 1, Decreases: policy.DecreaseQuota{Enforced: true}}}, st)
	if err := d.Apply(ctx, w, 200, 300, t0); err != nil {
		t.Fatal(err)
	}
	ups := fake.Calls("UpdateTable")
	if len(ups) != 1 || ups[0].Header.Get("X-Amz-Target") != "DynamoDB_20120810.UpdateTable" {
		t.Fatalf("UpdateTable = %+v", ups)
	}
	// Both units go: the read capacity unchanged.
	diff(t, "UpdateTable body", map[string]any{"TableName": "orders", "ProvisionedThroughput": map[string]any{"ReadCapacityUnits": 100.0, "WriteCapacityUnits": 300.0}}, body(t, ups[0]))
	if n := len(fake.Calls("DescribeTable")); n != 1 {
		t.Errorf("DescribeTable calls = %d in one tick, want 1 shared read", n)
	}

	// The read target of the same table, in the same tick, waits: the table
	// is UPDATING now.
	r := table("orders", "", "read")
	st, err = d.Current(ctx, r, t0)
	if err != nil {
		t.Fatal(err)
	}
	if st.Constraints.Blocked == "" {
		t.Error("a table changed this tick is not reported blocked")
	}
	// The table may well be ACTIVE by now (moto, a fast update): the reason
	// says what autotuner knows, not a status it has not read.
	if want := "table orders was just changed (table orders write), and DynamoDB takes one update at a time: this waits until the table is ACTIVE again"; st.Constraints.Blocked != want {
		t.Errorf("blocked = %q, want %q", st.Constraints.Blocked, want)
	}
	wantClass(t, d.Apply(ctx, r, 100, 150, t0), controller.ClassConflict)

	// Next tick, DescribeTable says UPDATING, with the old capacity visible.
	clk.now = t0.Add(time.Minute)
	st, err = d.Current(ctx, w, clk.now)
	if err != nil {
		t.Fatal(err)
	}
	if st.Value != 200 || st.Constraints.Blocked != "table orders is UPDATING" {
		t.Errorf("while updating: %+v", st)
	}
	wantClass(t, d.Apply(ctx, w, 200, 250, clk.now), controller.ClassConflict)
	if n := len(fake.Calls("UpdateTable")); n != 1 {
		t.Fatalf("UpdateTable sent while UPDATING (%d calls)", n)
	}

	// ACTIVE again: the GSI can change, sent as a GSI update.
	clk.now = t0.Add(4 * time.Minute)
	g := table("orders", "byUser", "read")
	st, err = d.Current(ctx, g, clk.now)
	if err != nil {
		t.Fatal(err)
	}
	if st.Value != 10 || st.Constraints.Blocked != "" {
		t.Fatalf("index state = %+v", st)
	}
	if err := d.Apply(ctx, g, 10, 5, clk.now); err != nil {
		t.Fatal(err)
	}
	diff(t, "GSI update", map[string]any{"TableName": "orders", "GlobalSecondaryIndexUpdates": []any{map[string]any{"Update": map[string]any{
		"IndexName": "byUser", "ProvisionedThroughput": map[string]any{"ReadCapacityUnits": 5.0, "WriteCapacityUnits": 20.0}}}}}, body(t, fake.Calls("UpdateTable")[1]))

	// AWS's own refusals are decoded and classified.
	clk.now = t0.Add(10 * time.Minute)
	fake.Fail("UpdateTable", awsfake.APIError{Code: "ResourceInUseException", Message: "Attempt to change a resource which is still in use"})
	wantClass(t, d.Apply(ctx, w, 300, 310, clk.now), controller.ClassConflict)
	fake.Fail("UpdateTable", awsfake.APIError{Code: "LimitExceededException", Message: "Subscriber limit exceeded"}, awsfake.APIError{Code: "LimitExceededException", Message: "Subscriber limit exceeded"}, awsfake.APIError{Code: "LimitExceededException", Message: "Subscriber limit exceeded"})
	wantClass(t, d.Apply(ctx, w, 300, 290, clk.now.Add(time.Minute)), controller.ClassQuota)
	fake.Fail("DescribeTable", awsfake.APIError{Code: "AccessDeniedException", Message: "not authorized to perform: dynamodb:DescribeTable"})
	_, err = d.Current(ctx, w, clk.now.Add(2*time.Minute))
	wantClass(t, err, controller.ClassPermission)
	_, err = d.Current(ctx, table("nope", "", "read"), clk.now.Add(2*time.Minute))
	wantClass(t, err, controller.ClassNotFound)
}

func TestDynamoDBRefusesAutoscaledTables(t *testing.T) {
	fake, conn := connect(t, awsclient.Options{})
	fake.DynamoDB.AddTable("orders", awsfake.Table{Provisioned: awsfake.Capacity{Read: 100, Write: 200}})
	fake.DynamoDB.AddTable("users", awsfake.Table{Provisioned: awsfake.Capacity{Read: 100, Write: 200}})
	fake.AutoScaling.Register(awsfake.ScalableTarget{ServiceNamespace: "dynamodb", ResourceID: "table/orders", ScalableDimension: "dynamodb:table:WriteCapacityUnits", Min: 5, Max: 500})
	d := NewDynamoDBProvisioned(conn)

	_, err := d.Current(ctx, table("orders", "", "write"), t0)
	wantClass(t, err, controller.ClassRefused)
	// The other dimension and other tables are free.
	for _, tg := range []*config.Target{table("orders", "", "read"), table("users", "", "write")} {
		if _, err := d.Current(ctx, tg, t0); err != nil {
			t.Errorf("%s: %v", tg.Name, err)
		}
	}
	// One listing per account serves every target.
	if n := len(fake.Calls("DescribeScalableTargets")); n != 1 {
		t.Errorf("DescribeScalableTargets calls = %d, want 1", n)
	}
	var in struct{ ServiceNamespace string }
	jsonUnmarshal(fake.Calls("DescribeScalableTargets")[0].Body, &in)
	if h := fake.Calls("DescribeScalableTargets")[0].Header.Get("X-Amz-Target"); h != "AnyScaleFrontendService.DescribeScalableTargets" || in.ServiceNamespace != "dynamodb" {
		t.Errorf("DescribeScalableTargets request: %s %+v", h, in)
	}
	tg := table("orders", "", "write")
	tg.CoexistWithAutoscaling = true
	if _, err := d.Current(ctx, tg, t0); err != nil {
		t.Errorf("coexist_with_autoscaling: %v", err)
	}
}

func TestDynamoDBOnDemandMax(t *testing.T) {
	fake, conn := connect(t, awsclient.Options{})
	fake.DynamoDB.AddTable("events", awsfake.Table{Billing: "PAY_PER_REQUEST", OnDemand: awsfake.Capacity{Read: -1, Write: 800}})
	fake.DynamoDB.AddTable("orders", awsfake.Table{Provisioned: awsfake.Capacity{Read: 1, Write: 1}})
	d := NewDynamoDBOnDemand(conn)
	r := &config.Target{Name: "ev", Kind: config.DynamoDBOnDemandMax, Table: "events", Capacity: "read", Min: 1, Max: 40000}
	st, err := d.Current(ctx, r, t0)
	if err != nil {
		t.Fatal(err)
	}
	if st.Value != DefaultTableMax {
		t.Errorf("uncapped read = %v, want %d", st.Value, DefaultTableMax)
	}
	if err := d.Apply(ctx, r, DefaultTableMax, 500, t0); err != nil {
		t.Fatal(err)
	}
	diff(t, "UpdateTable body", map[string]any{"TableName": "events", "OnDemandThroughput": map[string]any{"MaxReadRequestUnits": 500.0, "MaxWriteRequestUnits": 800.0}}, body(t, fake.Calls("UpdateTable")[0]))
	_, err = d.Current(ctx, &config.Target{Name: "o", Kind: config.DynamoDBOnDemandMax, Table: "orders", Capacity: "read"}, t0)
	wantClass(t, err, controller.ClassInvalid)
	_, err = NewDynamoDBProvisioned(conn).Current(ctx, table("events", "", "read"), t0)
	wantClass(t, err, controller.ClassInvalid)
}

// TestDecreaseBudgetAcrossUTCMidnight checks the budget the actuator reads
// from DescribeTable against DynamoDB's rule as the fake enforces it,
// independently, at every 5 minutes from 22:00 to 02:00 UTC, for tables
// that spent 0 to 27 decreases at various times the day before midnight.
func TestDecreaseBudgetAcrossUTCMidnight(t *testing.T) {
	fake, conn := connect(t, awsclient.Options{})
	clk := &clock{}
	fake.Now = clk.Now
	c, err := conn("", "")
	if err != nil {
		t.Fatal(err)
	}
	midnight := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	lasts := []time.Duration{-5 * time.Hour, -70 * time.Minute, -50 * time.Minute, -10 * time.Minute, 5 * time.Minute}
	cases, disagreements := 0, 0
	for _, today := range []int{0, 3, 4, 5, 26, 27} {
		for li, lastOff := range lasts {
			for at := midnight.Add(-2 * time.Hour); at.Before(midnight.Add(2 * time.Hour)); at = at.Add(5 * time.Minute) {
				last := midnight.Add(lastOff)
				if !last.Before(at) {
					continue
				}
				name := fmt.Sprintf("t%d_%d_%d", today, li, at.Unix())
				fake.DynamoDB.AddTable(name, awsfake.Table{Provisioned: awsfake.Capacity{Read: 100, Write: 100}, Decreases: today, LastDecrease: last})
				clk.now = at
				d := NewDynamoDBProvisioned(conn)
				st, err := d.Current(ctx, table(name, "", "read"), at)
				if err != nil {
					t.Fatal(err)
				}
				ours, _ := st.Constraints.Decreases.Allowed(at)
				_, err = c.DynamoDB.UpdateTable(ctx, &dynamodb.UpdateTableInput{TableName: aws.String(name), ProvisionedThroughput: &types.ProvisionedThroughput{ReadCapacityUnits: aws.Int64(50), WriteCapacityUnits: aws.Int64(100)}})
				theirs := err == nil
				cases++
				if ours != theirs {
					disagreements++
					if disagreements < 5 {
						t.Errorf("today=%d last=%s at=%s: autotuner allows=%v, DynamoDB allows=%v (%v)", today, last.Format("15:04"), at.Format("Jan 2 15:04"), ours, theirs, err)
					}
				}
			}
		}
	}
	if disagreements > 0 {
		t.Errorf("%d of %d cases disagree", disagreements, cases)
	}
	if cases < 200 {
		t.Errorf("only %d cases", cases)
	}
}

// A table's read and write targets changing in one tick go in one
// UpdateTable: the second is not refused because the first left the table
// UPDATING, and two decreases spend one of the day's decreases.
func TestDynamoDBProvisionedCoalescesReadAndWrite(t *testing.T) {
	fake, conn := connect(t, awsclient.Options{})
	clk := &clock{now: t0}
	fake.Now = clk.Now
	fake.DynamoDB.UpdateDuration = 3 * time.Minute
	fake.DynamoDB.AddTable("orders", awsfake.Table{
		Provisioned: awsfake.Capacity{Read: 100, Write: 200},
		Indexes:     map[string]*awsfake.Index{"byUser": {Provisioned: awsfake.Capacity{Read: 10, Write: 20}}},
	})
	d := NewDynamoDBProvisioned(conn)
	r, w := table("orders", "", "read"), table("orders", "", "write")
	ir, iw := table("orders", "byUser", "read"), table("orders", "byUser", "write")
	if d.CoalesceKey(r) != d.CoalesceKey(w) || d.CoalesceKey(ir) != d.CoalesceKey(iw) || d.CoalesceKey(r) == d.CoalesceKey(ir) {
		t.Fatalf("keys: table %q/%q, index %q/%q", d.CoalesceKey(r), d.CoalesceKey(w), d.CoalesceKey(ir), d.CoalesceKey(iw))
	}

	errs := d.ApplyGroup(ctx, []controller.Change{{Target: w, From: 200, To: 150}, {Target: r, From: 100, To: 80}}, t0)
	diff(t, "errors", []error{nil, nil}, errs)
	ups := fake.Calls("UpdateTable")
	if len(ups) != 1 {
		t.Fatalf("UpdateTable calls = %d, want 1 for both units", len(ups))
	}
	diff(t, "UpdateTable body", map[string]any{"TableName": "orders", "ProvisionedThroughput": map[string]any{"ReadCapacityUnits": 80.0, "WriteCapacityUnits": 150.0}}, body(t, ups[0]))
	if got := fake.DynamoDB.Table("orders").Decreases; got != 1 {
		t.Errorf("decreases spent = %d, want 1", got)
	}

	// An index's pair goes in one GSI update, next tick (the table is
	// UPDATING for now).
	clk.now = t0.Add(5 * time.Minute)
	errs = d.ApplyGroup(ctx, []controller.Change{{Target: ir, From: 10, To: 30}, {Target: iw, From: 20, To: 40}}, clk.now)
	diff(t, "index errors", []error{nil, nil}, errs)
	ups = fake.Calls("UpdateTable")
	if len(ups) != 2 {
		t.Fatalf("UpdateTable calls = %d, want 2", len(ups))
	}
	diff(t, "index UpdateTable body", map[string]any{"TableName": "orders", "GlobalSecondaryIndexUpdates": []any{map[string]any{"Update": map[string]any{
		"IndexName": "byUser", "ProvisionedThroughput": map[string]any{"ReadCapacityUnits": 30.0, "WriteCapacityUnits": 40.0}}}}}, body(t, ups[1]))
}

// A change the rules refuse fails alone: the other still goes, and a
// no-op spends nothing.
func TestDynamoDBProvisionedGroupRefusesOneChangeAlone(t *testing.T) {
	fake, conn := connect(t, awsclient.Options{})
	clk := &clock{now: t0}
	fake.Now = clk.Now
	fake.DynamoDB.UpdateDuration = 3 * time.Minute
	fake.DynamoDB.AddTable("orders", awsfake.Table{Provisioned: awsfake.Capacity{Read: 100, Write: 200}, Decreases: 4, LastDecrease: t0.Add(-10 * time.Minute)})
	d := NewDynamoDBProvisioned(conn)
	r, w := table("orders", "", "read"), table("orders", "", "write")

	// The decrease quota is spent for the hour: the read decrease is
	// refused, the write increase goes, with the read unit as it is.
	errs := d.ApplyGroup(ctx, []controller.Change{{Target: r, From: 100, To: 50}, {Target: w, From: 200, To: 400}}, t0)
	if len(errs) != 2 || errs[1] != nil {
		t.Fatalf("errors = %v, want the write change to succeed", errs)
	}
	wantClass(t, errs[0], controller.ClassQuota)
	ups := fake.Calls("UpdateTable")
	if len(ups) != 1 {
		t.Fatalf("UpdateTable calls = %d, want 1", len(ups))
	}
	diff(t, "UpdateTable body", map[string]any{"TableName": "orders", "ProvisionedThroughput": map[string]any{"ReadCapacityUnits": 100.0, "WriteCapacityUnits": 400.0}}, body(t, ups[0]))

	// Next tick, still UPDATING: both are refused as a conflict.
	clk.now = t0.Add(time.Minute)
	errs = d.ApplyGroup(ctx, []controller.Change{{Target: r, From: 100, To: 120}, {Target: w, From: 400, To: 500}}, clk.now)
	wantClass(t, errs[0], controller.ClassConflict)
	wantClass(t, errs[1], controller.ClassConflict)
	if n := len(fake.Calls("UpdateTable")); n != 1 {
		t.Errorf("UpdateTable calls = %d, want still 1", n)
	}
}

// An on-demand table's read and write maximums changing in one tick go in
// one UpdateTable too.
func TestDynamoDBOnDemandCoalescesReadAndWrite(t *testing.T) {
	fake, conn := connect(t, awsclient.Options{})
	clk := &clock{now: t0}
	fake.Now = clk.Now
	fake.DynamoDB.UpdateDuration = 3 * time.Minute
	fake.DynamoDB.AddTable("events", awsfake.Table{Billing: "PAY_PER_REQUEST", OnDemand: awsfake.Capacity{Read: -1, Write: 800}})
	d := NewDynamoDBOnDemand(conn)
	r := &config.Target{Name: "ev-r", Kind: config.DynamoDBOnDemandMax, Table: "events", Capacity: "read", Min: 1, Max: 40000}
	w := &config.Target{Name: "ev-w", Kind: config.DynamoDBOnDemandMax, Table: "events", Capacity: "write", Min: 1, Max: 40000}
	if d.CoalesceKey(r) != d.CoalesceKey(w) {
		t.Fatalf("keys %q and %q differ", d.CoalesceKey(r), d.CoalesceKey(w))
	}
	errs := d.ApplyGroup(ctx, []controller.Change{{Target: r, From: DefaultTableMax, To: 500}, {Target: w, From: 800, To: 1200}}, t0)
	diff(t, "errors", []error{nil, nil}, errs)
	ups := fake.Calls("UpdateTable")
	if len(ups) != 1 {
		t.Fatalf("UpdateTable calls = %d, want 1 for both maximums", len(ups))
	}
	diff(t, "UpdateTable body", map[string]any{"TableName": "events", "OnDemandThroughput": map[string]any{"MaxReadRequestUnits": 500.0, "MaxWriteRequestUnits": 1200.0}}, body(t, ups[0]))

	// While UPDATING, both are refused as a conflict, without a call.
	clk.now = t0.Add(time.Minute)
	errs = d.ApplyGroup(ctx, []controller.Change{{Target: r, From: 500, To: 600}, {Target: w, From: 1200, To: 900}}, clk.now)
	wantClass(t, errs[0], controller.ClassConflict)
	wantClass(t, errs[1], controller.ClassConflict)
	if n := len(fake.Calls("UpdateTable")); n != 1 {
		t.Errorf("UpdateTable calls = %d, want still 1", n)
	}
}

// A pair the service refuses for its values (a quota, a validation) goes
// again one by one, so one dimension at fault does not hold the other back
// tick after tick; a pair refused for the moment (throttling) does not.
func TestDynamoDBProvisionedRefusedPairGoesAlone(t *testing.T) {
	fake, conn := connect(t, awsclient.Options{})
	clk := &clock{now: t0}
	fake.Now = clk.Now
	fake.DynamoDB.UpdateDuration = 3 * time.Minute
	fake.DynamoDB.AddTable("orders", awsfake.Table{Provisioned: awsfake.Capacity{Read: 100, Write: 200}})
	d := NewDynamoDBProvisioned(conn)
	r, w := table("orders", "", "read"), table("orders", "", "write")

	fake.Fail("UpdateTable", awsfake.APIError{Code: "ValidationException", Message: "One or more parameter values were invalid: exceeds the account's table-level write throughput quota"})
	errs := d.ApplyGroup(ctx, []controller.Change{{Target: r, From: 100, To: 150}, {Target: w, From: 200, To: 39000}}, t0)
	if errs[0] != nil {
		t.Errorf("read: %v, want applied alone", errs[0])
	}
	wantClass(t, errs[1], controller.ClassConflict) // the read left the table UPDATING: next tick
	ups := fake.Calls("UpdateTable")
	if len(ups) != 2 {
		t.Fatalf("UpdateTable calls = %d, want the pair and then the read alone", len(ups))
	}
	diff(t, "second UpdateTable", map[string]any{"TableName": "orders", "ProvisionedThroughput": map[string]any{"ReadCapacityUnits": 150.0, "WriteCapacityUnits": 200.0}}, body(t, ups[1]))

	clk.now = t0.Add(5 * time.Minute)
	throttled := awsfake.APIError{Code: "ThrottlingException", Message: "Rate exceeded"}
	fake.Fail("UpdateTable", throttled, throttled, throttled, throttled, throttled, throttled, throttled, throttled, throttled, throttled)
	errs = d.ApplyGroup(ctx, []controller.Change{{Target: r, From: 150, To: 160}, {Target: w, From: 200, To: 300}}, clk.now)
	wantClass(t, errs[0], controller.ClassThrottled)
	wantClass(t, errs[1], controller.ClassThrottled)
	// Every attempt (the SDK retries a throttle) carried the pair.
	for i, c := range fake.Calls("UpdateTable")[2:] {
		diff(t, fmt.Sprintf("throttled attempt %d", i), map[string]any{"TableName": "orders", "ProvisionedThroughput": map[string]any{"ReadCapacityUnits": 160.0, "WriteCapacityUnits": 300.0}}, body(t, c))
	}
}

// In a pair, a dimension already at its value is not part of the change:
// only the other goes, with it unchanged.
func TestDynamoDBProvisionedGroupNoOp(t *testing.T) {
	fake, conn := connect(t, awsclient.Options{})
	fake.DynamoDB.AddTable("orders", awsfake.Table{Provisioned: awsfake.Capacity{Read: 100, Write: 200}})
	d := NewDynamoDBProvisioned(conn)
	r, w := table("orders", "", "read"), table("orders", "", "write")
	errs := d.ApplyGroup(ctx, []controller.Change{{Target: r, From: 100, To: 100}, {Target: w, From: 200, To: 250}}, t0)
	diff(t, "errors", []error{nil, nil}, errs)
	ups := fake.Calls("UpdateTable")
	if len(ups) != 1 {
		t.Fatalf("UpdateTable calls = %d, want 1", len(ups))
	}
	diff(t, "UpdateTable body", map[string]any{"TableName": "orders", "ProvisionedThroughput": map[string]any{"ReadCapacityUnits": 100.0, "WriteCapacityUnits": 250.0}}, body(t, ups[0]))
	errs = d.ApplyGroup(ctx, []controller.Change{{Target: r, From: 100, To: 100}, {Target: w, From: 250, To: 250}}, t0.Add(time.Hour))
	diff(t, "no-op errors", []error{nil, nil}, errs)
	if n := len(fake.Calls("UpdateTable")); n != 1 {
		t.Errorf("UpdateTable calls = %d after a no-op pair, want still 1", n)
	}
	if errs := d.ApplyGroup(ctx, nil, t0); len(errs) != 0 {
		t.Errorf("empty group: %v", errs)
	}
}
