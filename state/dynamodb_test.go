package state_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"

	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/internal/testenv"
	"github.com/autotuner/autotuner/policy"
	"github.com/autotuner/autotuner/state"
)

// dynamoTable starts dynalite, creates a fresh state table and returns a
// client for it.
func dynamoTable(t *testing.T) (*dynamodb.Client, string) {
	t.Helper()
	url := testenv.Dynalite(t, testenv.DynaliteOptions{})
	c := dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(url),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
	table := "autotuner-state"
	ctx := context.Background()
	if _, err := c.CreateTable(ctx, state.CreateTableInput(table)); err != nil {
		t.Fatal(err)
	}
	w := dynamodb.NewTableExistsWaiter(c, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, 200*time.Millisecond
	})
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)}, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	return c, table
}

func TestDynamoDBRoundTrip(t *testing.T) {
	c, table := dynamoTable(t)
	ctx := context.Background()
	s := state.NewDynamoDB(c, table)
	m, err := s.Load(ctx, "orders")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(policy.NewMemory(), m); diff != "" {
		t.Fatalf("a new target's memory (-want +got):\n%s", diff)
	}
	at := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	m.Integral, m.Above, m.LastUp = 0.25, 2, at
	m.Window = []policy.Recommendation{{At: at, Value: 42}}
	m.Actuation = policy.Actuation{LastSet: 40, HaveLastSet: true, Original: 10, HaveOriginal: true, OriginalAt: at}
	for i := range 3 { // repeated saves advance the version
		m.Above = i
		if err := s.Save(ctx, "orders", m); err != nil {
			t.Fatalf("save %d: %v", i, err)
		}
	}
	got, err := state.NewDynamoDB(c, table).Load(ctx, "orders")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(m, got); diff != "" {
		t.Errorf("memory after a round trip (-want +got):\n%s", diff)
	}
}

func TestDynamoDBConflictingWritesAreDetected(t *testing.T) {
	c, table := dynamoTable(t)
	ctx := context.Background()
	a, b := state.NewDynamoDB(c, table), state.NewDynamoDB(c, table)

	// Both start from nothing; the first to write wins, the second learns.
	for _, s := range []*state.DynamoDB{a, b} {
		if _, err := s.Load(ctx, "t"); err != nil {
			t.Fatal(err)
		}
	}
	ma := policy.NewMemory()
	ma.Integral = 1
	if err := a.Save(ctx, "t", ma); err != nil {
		t.Fatal(err)
	}
	mb := policy.NewMemory()
	mb.Integral = 2
	err := b.Save(ctx, "t", mb)
	var ce *state.ConflictError
	if !errors.As(err, &ce) || controller.Classify(err) != controller.ClassConflict {
		t.Fatalf("second writer of a new item: err = %v (class %q), want a conflict", err, controller.Classify(err))
	}

	// Both read version 1; again only one write lands.
	for _, s := range []*state.DynamoDB{a, b} {
		if _, err := s.Load(ctx, "t"); err != nil {
			t.Fatal(err)
		}
	}
	mb.Integral = 3
	if err := b.Save(ctx, "t", mb); err != nil {
		t.Fatal(err)
	}
	ma.Integral = 4
	if err := a.Save(ctx, "t", ma); controller.Classify(err) != controller.ClassConflict {
		t.Fatalf("stale writer: err = %v, want a conflict", err)
	}
	got, err := state.NewDynamoDB(c, table).Load(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	if got.Integral != 3 {
		t.Errorf("stored integral = %v, want 3: the stale write must not land", got.Integral)
	}
}

func TestDynamoDBFencing(t *testing.T) {
	c, table := dynamoTable(t)
	ctx := context.Background()
	token := int64(2)
	newer := state.NewDynamoDB(c, table)
	newer.Fence = func() int64 { return token }
	older := state.NewDynamoDB(c, table)
	older.Fence = func() int64 { return 1 }
	for _, s := range []*state.DynamoDB{newer, older} {
		if _, err := s.Load(ctx, "t"); err != nil {
			t.Fatal(err)
		}
	}
	if err := newer.Save(ctx, "t", policy.NewMemory()); err != nil {
		t.Fatal(err)
	}
	if _, err := older.Load(ctx, "t"); err != nil { // even with a fresh version...
		t.Fatal(err)
	}
	if err := older.Save(ctx, "t", policy.NewMemory()); controller.Classify(err) != controller.ClassConflict {
		t.Fatalf("write under an older lease token: err = %v, want a conflict", err)
	}
}

func TestDynamoDBCorruptStateIsAnError(t *testing.T) {
	c, table := dynamoTable(t)
	ctx := context.Background()
	for name, item := range map[string]map[string]types.AttributeValue{
		"bad-json":    {"memory": &types.AttributeValueMemberS{Value: "{"}, "version": &types.AttributeValueMemberN{Value: "1"}},
		"no-version":  {"memory": &types.AttributeValueMemberS{Value: `{"version":1}`}},
		"old-version": {"memory": &types.AttributeValueMemberS{Value: `{"version":0}`}, "version": &types.AttributeValueMemberN{Value: "1"}},
	} {
		item["pk"] = &types.AttributeValueMemberS{Value: name}
		item["sk"] = &types.AttributeValueMemberS{Value: "state"}
		if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: item}); err != nil {
			t.Fatal(err)
		}
		_, err := state.NewDynamoDB(c, table).Load(ctx, name)
		if err == nil || controller.Classify(err) != controller.ClassInvalid {
			t.Errorf("%s: err = %v, want an invalid-class error", name, err)
		}
	}
}

func TestDynamoDBAudit(t *testing.T) {
	c, table := dynamoTable(t)
	ctx := context.Background()
	a := &state.DynamoDBAudit{Client: c, Table: table, TTL: 30 * 24 * time.Hour}
	at := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for i, mode := range []controller.Mode{controller.ModeApply, controller.ModePlan, controller.ModeDryRun} {
		r := &controller.Record{V: 1, Time: at.Add(time.Duration(i) * time.Minute), Target: "orders", Mode: mode}
		if err := a.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	out, err := c.Query(ctx, &dynamodb.QueryInput{
		TableName:              aws.String(table),
		KeyConditionExpression: aws.String("pk = :t AND begins_with(sk, :a)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":t": &types.AttributeValueMemberS{Value: "orders"}, ":a": &types.AttributeValueMemberS{Value: "audit#"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range out.Items {
		got = append(got, fmt.Sprintf("%s %s %s", it["sk"].(*types.AttributeValueMemberS).Value, it["mode"].(*types.AttributeValueMemberS).Value, it["expires_at"].(*types.AttributeValueMemberN).Value))
	}
	want := []string{
		"audit#2026-11-25T12:00:00.000000000Z apply " + fmt.Sprint(at.Add(30*24*time.Hour).Unix()),
		"audit#2026-11-25T12:02:00.000000000Z dry-run " + fmt.Sprint(at.Add(2*time.Minute+30*24*time.Hour).Unix()),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("audit items (-want +got):\n%s", diff)
	}
}

// A change's intent line has an item of its own; its outcome and a line
// that settles it after a crash share one key, so a change written both
// ways is still audited once, as its settled truth.
func TestDynamoDBAuditKeysOfAChange(t *testing.T) {
	c, table := dynamoTable(t)
	ctx := context.Background()
	a := &state.DynamoDBAudit{Client: c, Table: table}
	at := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	id := "orders@" + at.Format(time.RFC3339Nano)
	for _, r := range []*controller.Record{
		{V: 1, Time: at, Target: "orders", Mode: controller.ModeApply, Change: id, Intent: true, Final: 130},
		{V: 1, Time: at, Target: "orders", Mode: controller.ModeApply, Change: id, Applied: true, Final: 130},
		{V: 1, Time: at, Target: "orders", Mode: controller.ModeApply, Change: id, Applied: true, Recovered: true, Final: 130},
	} {
		if err := a.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	out, err := c.Query(ctx, &dynamodb.QueryInput{
		TableName:              aws.String(table),
		KeyConditionExpression: aws.String("pk = :t AND begins_with(sk, :a)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":t": &types.AttributeValueMemberS{Value: "orders"}, ":a": &types.AttributeValueMemberS{Value: "audit#"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range out.Items {
		var r controller.Record
		if err := json.Unmarshal([]byte(it["record"].(*types.AttributeValueMemberS).Value), &r); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s intent=%v applied=%v recovered=%v", it["sk"].(*types.AttributeValueMemberS).Value, r.Intent, r.Applied, r.Recovered))
	}
	want := []string{
		"audit#2026-11-25T12:00:00.000000000Z intent=false applied=true recovered=true",
		"audit#2026-11-25T12:00:00.000000000Z#intent intent=true applied=false recovered=false",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("audit items (-want +got):\n%s", diff)
	}
}

// The daemon and the Lambda mode each open their own DynamoDB store on
// the same table: a seasonal profile one saves, the other loads whole.
func TestDynamoDBSharesTheSeasonalProfile(t *testing.T) {
	c, table := dynamoTable(t)
	ctx := context.Background()
	daemon, lambda := state.NewDynamoDB(c, table), state.NewDynamoDB(c, table)
	m, err := daemon.Load(ctx, "orders")
	if err != nil {
		t.Fatal(err)
	}
	p := &policy.Profile{}
	p.Hour.Start = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	p.Day.Start = time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	for c := range policy.HourCycles {
		p.Hour.Seen[c] = true
		for i := range policy.HourSlots {
			p.Hour.Peaks[c][i] = float32(c*policy.HourSlots+i) + 0.5
		}
	}
	for c := range policy.DayCycles {
		p.Day.Seen[c] = c%2 == 0
		for i := range policy.DaySlots {
			p.Day.Peaks[c][i] = float32(c*policy.DaySlots+i) + 0.25
		}
	}
	m.Profile = p
	if err := daemon.Save(ctx, "orders", m); err != nil {
		t.Fatal(err)
	}
	got, err := lambda.Load(ctx, "orders")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(m, got); diff != "" {
		t.Errorf("profile the Lambda mode loads (-want +got):\n%s", diff)
	}
}
