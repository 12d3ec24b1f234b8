package actuators

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/internal/awsclient"
	"github.com/autotuner/autotuner/internal/awsfake"
	"github.com/autotuner/autotuner/internal/testenv"
	"github.com/autotuner/autotuner/policy"
	"github.com/autotuner/autotuner/state"
)

// noSignals is a sensor for static policies, which read nothing.
type noSignals struct{}

func (noSignals) Read(ctx context.Context, ts []*config.Target, now time.Time) (map[string]policy.Signals, error) {
	return map[string]policy.Signals{}, nil
}

const dynalitePolicies = `version: 1
defaults: {region: us-east-1}
targets:
  - name: writes
    kind: dynamodb-provisioned
    table: orders
    capacity: write
    min: 1
    max: 100
    signals:
      consumed: {namespace: AWS/DynamoDB, metric: ConsumedWriteCapacityUnits, dimensions: {TableName: orders}, stat: Sum}
    policy:
      static: {value: 10}
  - name: reads
    kind: dynamodb-provisioned
    table: orders
    capacity: read
    min: 1
    max: 100
    signals:
      consumed: {namespace: AWS/DynamoDB, metric: ConsumedReadCapacityUnits, dimensions: {TableName: orders}, stat: Sum}
    policy:
      static: {value: 7}
`

// dynaliteOrders starts dynalite (a change keeps a table UPDATING for
// 1.5 s) with the table "orders" at 5/5 and ACTIVE, and returns clients
// for it and the file dynalitePolicies. DynamoDB goes to dynalite through
// its own endpoint override; everything else (Application Auto Scaling)
// to the wire fake, through the general one.
func dynaliteOrders(t *testing.T) (*awsclient.Factory, *awsclient.Clients, *config.File) {
	t.Helper()
	url := testenv.Dynalite(t, testenv.DynaliteOptions{UpdateTableMs: 1500})
	awsfake.Start(t)
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", url)
	f, err := awsclient.New(ctx, awsclient.Options{NoRateLimits: true})
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.For("", "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.DynamoDB.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:             aws.String("orders"),
		AttributeDefinitions:  []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:             []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}},
		ProvisionedThroughput: &types.ProvisionedThroughput{ReadCapacityUnits: aws.Int64(5), WriteCapacityUnits: aws.Int64(5)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := awsfake.WaitTableActive(ctx, c.DynamoDB, "orders", 100*time.Millisecond, 100); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse("dynalite.yaml", []byte(dynalitePolicies))
	if err != nil {
		t.Fatal(err)
	}
	return f, c, cfg
}

// TestDynaliteHoldsWhileUpdating runs the real DynamoDB protocol against
// dynalite: create, describe, update, and the UPDATING transition. The
// write target applies; the read target of the same table holds, with a
// reason, while the table is UPDATING (dynalite, unlike DynamoDB, would
// accept the update), and applies once it is ACTIVE.
func TestDynaliteHoldsWhileUpdating(t *testing.T) {
	f, c, cfg := dynaliteOrders(t)
	ctl := &controller.Controller{Config: cfg, Sensor: noSignals{}, Actuators: All(f.For), Store: state.NewMem(), Parallelism: 1}
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	res, err := ctl.Tick(ctx, now, controller.TickOptions{Only: []string{"writes"}})
	if err != nil {
		t.Fatal(err)
	}
	if r := res.Records[0]; !r.Applied || r.Current != 5 || r.Final != 10 {
		t.Fatalf("writes: %+v (error %q)", r, r.Error)
	}
	out, err := c.DynamoDB.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("orders")})
	if err != nil {
		t.Fatal(err)
	}
	if out.Table.TableStatus != types.TableStatusUpdating {
		t.Fatalf("table status after the update = %s, want UPDATING (is dynalite running with --updateTableMs?)", out.Table.TableStatus)
	}

	res, err = ctl.Tick(ctx, now.Add(time.Minute), controller.TickOptions{Only: []string{"reads"}})
	if err != nil {
		t.Fatal(err)
	}
	r := res.Records[0]
	if r.Applied || r.Error != "" || r.Constraints.Blocked != "table orders is UPDATING" || r.Decision == nil || r.Decision.Action != policy.Hold {
		t.Fatalf("reads while UPDATING: applied=%v error=%q blocked=%q decision=%+v, want a hold with the reason", r.Applied, r.Error, r.Constraints.Blocked, r.Decision)
	}
	// dynalite would have accepted an update now; had one been sent, the
	// read capacity would be 7 once ACTIVE, and the next tick would read
	// 7 rather than 5.

	if err := awsfake.WaitTableActive(ctx, c.DynamoDB, "orders", 100*time.Millisecond, 100); err != nil {
		t.Fatal(err)
	}
	res, err = ctl.Tick(ctx, now.Add(2*time.Minute), controller.TickOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Records {
		if r.Error != "" {
			t.Errorf("%s: %s", r.Target, r.Error)
		}
	}
	if r := res.Records[1]; !r.Applied || r.Current != 5 || r.Final != 7 {
		t.Errorf("reads once ACTIVE: %+v", r)
	}
	if w := res.Records[0]; w.Current != 10 || w.Applied {
		t.Errorf("writes once ACTIVE: current %v applied %v, want 10 and nothing to do", w.Current, w.Applied)
	}
	if err := awsfake.WaitTableActive(ctx, c.DynamoDB, "orders", 100*time.Millisecond, 100); err != nil {
		t.Fatal(err)
	}
	out, err = c.DynamoDB.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("orders")})
	if err != nil {
		t.Fatal(err)
	}
	if pt := out.Table.ProvisionedThroughput; aws.ToInt64(pt.ReadCapacityUnits) != 7 || aws.ToInt64(pt.WriteCapacityUnits) != 10 {
		t.Errorf("final capacity = %d/%d, want 7/10", aws.ToInt64(pt.ReadCapacityUnits), aws.ToInt64(pt.WriteCapacityUnits))
	}
}

// TestDynaliteCoalescesReadAndWrite: a table's read and write targets
// changing in one tick go in one UpdateTable over the real protocol, so
// neither waits minutes for the other's UPDATING to end.
func TestDynaliteCoalescesReadAndWrite(t *testing.T) {
	f, c, cfg := dynaliteOrders(t)
	ctl := &controller.Controller{Config: cfg, Sensor: noSignals{}, Actuators: All(f.For), Store: state.NewMem(), Parallelism: 4}
	res, err := ctl.Tick(ctx, time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC), controller.TickOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Records {
		if !r.Applied || r.Error != "" {
			t.Errorf("%s: applied=%v error=%q, want both applied in one tick", r.Target, r.Applied, r.Error)
		}
	}
	if err := awsfake.WaitTableActive(ctx, c.DynamoDB, "orders", 100*time.Millisecond, 100); err != nil {
		t.Fatal(err)
	}
	out, err := c.DynamoDB.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("orders")})
	if err != nil {
		t.Fatal(err)
	}
	if pt := out.Table.ProvisionedThroughput; aws.ToInt64(pt.ReadCapacityUnits) != 7 || aws.ToInt64(pt.WriteCapacityUnits) != 10 {
		t.Errorf("capacity = %d/%d, want 7/10", aws.ToInt64(pt.ReadCapacityUnits), aws.ToInt64(pt.WriteCapacityUnits))
	}
}
