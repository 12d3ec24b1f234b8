package actuators

import (
	"path/filepath"
	"strings"
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
)

func ssmTarget() *config.Target {
	return &config.Target{Name: "limit", Kind: config.Parameter, Min: 1, Max: 500,
		ParameterStore: config.ParameterStore{SSMParameter: "/orders/max-concurrency"}}
}

// TestParameterSSM scripts an SSM-backed parameter: created at the first
// change, read back every tick, drift, refusals.
func TestParameterSSM(t *testing.T) {
	fake, conn := connect(t, awsclient.Options{})
	p := NewParameter(conn)
	tg := ssmTarget()

	st, err := p.Current(ctx, tg, t0)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "missing parameter", controller.State{Value: 1, Unset: true}, st)
	if err := p.Apply(ctx, tg, 1, 20, t0); err != nil {
		t.Fatal(err)
	}
	got, _ := fake.SSM.Get("/orders/max-concurrency")
	diff(t, "created parameter", awsfake.SSMParameter{Type: "String", Value: "20", Version: 1}, got)
	if err := p.Apply(ctx, tg, 20, 20, t0); err != nil || len(fake.Calls("PutParameter")) != 1 {
		t.Errorf("a no-op wrote: %v, %d puts", err, len(fake.Calls("PutParameter")))
	}

	t1 := t0.Add(time.Minute)
	fake.SSM.Put("/orders/max-concurrency", " 35 ")
	if st, _ := p.Current(ctx, tg, t1); st.Value != 35 || st.Unset {
		t.Errorf("drift: %+v, want 35", st)
	}
	if err := p.Apply(ctx, tg, 35, 30, t1); err != nil {
		t.Fatal(err)
	}
	if put := body(t, fake.Calls("PutParameter")[1]); put["Overwrite"] != true || put["Value"] != "30" || put["Type"] != nil {
		t.Errorf("overwrite sent %v", put)
	}

	t2 := t1.Add(time.Minute)
	fake.SSM.Put("/orders/max-concurrency", "fast")
	st, _ = p.Current(ctx, tg, t2)
	if !strings.Contains(st.Constraints.Blocked, `"fast" is not a number`) {
		t.Errorf("a non-number was not left alone: %+v", st)
	}
	wantClass(t, p.Apply(ctx, tg, 1, 5, t2), controller.ClassConflict)

	fake.SSM.Put("/orders/max-concurrency", "30")
	for _, tc := range []struct {
		code string
		want controller.Class
	}{{"TooManyUpdates", controller.ClassConflict}, {"AccessDeniedException", controller.ClassPermission}, {"ThrottlingException", controller.ClassThrottled}} {
		t3 := t2.Add(time.Hour)
		p.Current(ctx, tg, t3)
		n := 1
		if tc.want == controller.ClassThrottled {
			n = 3 // the SDK retries a throttle; every attempt meets it
		}
		for range n {
			fake.Fail("PutParameter", awsfake.APIError{Code: tc.code, Message: tc.code})
		}
		wantClass(t, p.Apply(ctx, tg, 30, 31, t3), tc.want)
		t2 = t3
	}
}

// TestStepFunctionsMapParameterMode: the Map reads MaxConcurrencyPath, so
// the value goes to the parameter; a Map with a fixed value blocks.
func TestStepFunctionsMapParameterMode(t *testing.T) {
	fake, a := sfnFake(t, readFile(t, filepath.Join("testdata", "asl", "path.asl.json")))
	tg := mapTarget(config.MapModeParameter, "Fan out")
	tg.ParameterStore.SSMParameter = "/orders/max-concurrency"
	fake.SSM.Put("/orders/max-concurrency", "12")
	st, err := a.Current(ctx, tg, t0)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "state", controller.State{Value: 12, Constraints: policy.Constraints{Floor: 1, Ceiling: 40}}, st)
	if err := a.Apply(ctx, tg, 12, 16, t0); err != nil {
		t.Fatal(err)
	}
	if got, _ := fake.SSM.Get("/orders/max-concurrency"); got.Value != "16" || len(fake.Calls("UpdateStateMachine")) != 0 {
		t.Errorf("parameter %+v, definition updates %d", got, len(fake.Calls("UpdateStateMachine")))
	}

	fixed := readFile(t, filepath.Join("testdata", "asl", "nested-jsonpath.asl.json"))
	fake.SFN.Edit(machineARN, fixed)
	tg.StepFunctions.MapState = []string{"Process", "Fan out"}
	st, _ = a.Current(ctx, tg, t0.Add(time.Minute))
	if !strings.Contains(st.Constraints.Blocked, "fixed MaxConcurrency (10 in force)") {
		t.Errorf("a Map that reads no parameter: %+v", st)
	}
}

// TestParameterDynamoDBItem runs the item backend against dynalite over a
// real socket: created, read back, and a concurrent writer refused by the
// condition rather than overwritten.
func TestParameterDynamoDBItem(t *testing.T) {
	url := testenv.Dynalite(t, testenv.DynaliteOptions{})
	awsfake.Start(t)
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", url)
	f, err := awsclient.New(ctx, awsclient.Options{NoRateLimits: true})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := f.For("", "")
	_, err = c.DynamoDB.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String("limits"),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := awsfake.WaitTableActive(ctx, c.DynamoDB, "limits", 100*time.Millisecond, 100); err != nil {
		t.Fatal(err)
	}
	p := NewParameter(f.For)
	tg := &config.Target{Name: "limit", Kind: config.Parameter, Table: "limits", Min: 2, Max: 100,
		ParameterStore: config.ParameterStore{ItemKey: map[string]string{"pk": "orders"}, Attribute: "max_concurrency"}}
	if st, err := p.Current(ctx, tg, t0); err != nil || !st.Unset || st.Value != 2 {
		t.Fatalf("missing item: %+v, %v", st, err)
	}
	if err := p.Apply(ctx, tg, 2, 8, t0); err != nil {
		t.Fatal(err)
	}
	t1 := t0.Add(time.Minute)
	if st, _ := p.Current(ctx, tg, t1); st.Value != 8 || st.Unset {
		t.Errorf("read back %+v, want 8", st)
	}
	// Another writer changes it after this tick's read.
	_, err = c.DynamoDB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("limits"), Item: map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "orders"}, "max_concurrency": &types.AttributeValueMemberN{Value: "50"}}})
	if err != nil {
		t.Fatal(err)
	}
	wantClass(t, p.Apply(ctx, tg, 8, 12, t1), controller.ClassConflict)
	t2 := t1.Add(time.Minute)
	if st, _ := p.Current(ctx, tg, t2); st.Value != 50 {
		t.Errorf("the other writer's value was lost: %+v", st)
	}
}
