package actuators

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/internal/awsclient"
	"github.com/autotuner/autotuner/internal/testenv"
)

// motoClients points the SDK at moto, a third-party emulator, over a real
// loopback socket: a second opinion on the wire format beside the fakes.
func motoClients(t *testing.T) (Conn, *awsclient.Clients) {
	t.Helper()
	url := testenv.Moto(t)
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_SESSION_TOKEN": "",
		"AWS_REGION": "us-east-1", "AWS_PROFILE": "", "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_CONFIG_FILE": filepath.Join(dir, "config"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"AWS_CA_BUNDLE": "", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "",
	} {
		t.Setenv(k, v)
	}
	f, err := awsclient.New(ctx, awsclient.Options{NoRateLimits: true, HTTPClient: &http.Client{Transport: motoDates{http.DefaultTransport}}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.For("", "")
	if err != nil {
		t.Fatal(err)
	}
	return f.For, c
}

// motoDates works around one measured moto difference: its Step Functions
// answers timestamps (creationDate, updateDate) as ISO 8601 strings where
// AWS's JSON 1.0 protocol sends epoch seconds, which the SDK requires. It
// rewrites only those values, in transit, for Step Functions responses.
type motoDates struct{ next http.RoundTripper }

func (m motoDates) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := m.next.RoundTrip(r)
	if err != nil || !strings.HasPrefix(r.Header.Get("X-Amz-Target"), "AWSStepFunctions.") {
		return res, err
	}
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return nil, err
	}
	var v map[string]any
	if json.Unmarshal(b, &v) == nil {
		for k, x := range v {
			if s, ok := x.(string); ok && strings.HasSuffix(k, "Date") {
				if ts, err := time.Parse(time.RFC3339Nano, s); err == nil {
					v[k] = float64(ts.UnixMilli()) / 1000
				} else if ts, err := time.Parse("2006-01-02T15:04:05.000000", s); err == nil {
					v[k] = float64(ts.UnixMilli()) / 1000
				}
			}
		}
		b, _ = json.Marshal(v)
	}
	res.Body = io.NopCloser(bytes.NewReader(b))
	res.ContentLength = int64(len(b))
	res.Header.Del("Content-Length")
	return res, nil
}

// TestMotoStepFunctionsMapDefinition edits a Map state's MaxConcurrency in
// a state machine held by moto, and reads the change back through moto's
// DescribeStateMachine; then reverts it.
func TestMotoStepFunctionsMapDefinition(t *testing.T) {
	conn, c := motoClients(t)
	src := readFile(t, filepath.Join("testdata", "asl", "nested-jsonpath.asl.json"))
	out, err := c.SFN.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{
		Name: aws.String("moto-" + t.Name()), Definition: aws.String(src), RoleArn: aws.String("arn:aws:iam::123456789012:role/sfn"),
	})
	if err != nil {
		t.Fatal(err)
	}
	tg := &config.Target{Name: "fanout", Kind: config.StepFunctionsMap, Min: 1, Max: 40,
		StepFunctions: config.StepFunctions{StateMachine: aws.ToString(out.StateMachineArn), MapState: []string{"Process", "Fan out"}, Mode: config.MapModeDefinition}}
	a := NewStepFunctionsMap(conn, NewParameter(conn))
	st, err := a.Current(ctx, tg, t0)
	if err != nil || st.Value != 10 {
		t.Fatalf("current = %+v, %v", st, err)
	}
	if err := a.Apply(ctx, tg, 10, 25, t0); err != nil {
		t.Fatal(err)
	}
	d, err := c.SFN.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: out.StateMachineArn})
	if err != nil {
		t.Fatal(err)
	}
	if want := readFile(t, filepath.Join("testdata", "asl", "nested-jsonpath.golden.json")); aws.ToString(d.Definition) != want {
		t.Errorf("moto holds a different definition:\n%s", aws.ToString(d.Definition))
	}
	t1 := t0.Add(60e9)
	if st, err := a.Current(ctx, tg, t1); err != nil || st.Value != 25 {
		t.Fatalf("read back = %+v, %v", st, err)
	}
	if err := a.Apply(ctx, tg, 25, 10, t1); err != nil {
		t.Fatal(err)
	}
	d, _ = c.SFN.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: out.StateMachineArn})
	if aws.ToString(d.Definition) != src {
		t.Error("the revert did not restore the definition byte for byte")
	}
}

// TestMotoParameterSSM publishes a limit as an SSM parameter in moto,
// reads it back, and sees another writer's change as drift.
func TestMotoParameterSSM(t *testing.T) {
	conn, c := motoClients(t)
	p := NewParameter(conn)
	tg := ssmTarget()
	tg.ParameterStore.SSMParameter = "/moto/" + t.Name()
	if st, err := p.Current(ctx, tg, t0); err != nil || !st.Unset {
		t.Fatalf("missing parameter: %+v, %v", st, err)
	}
	if err := p.Apply(ctx, tg, 1, 20, t0); err != nil {
		t.Fatal(err)
	}
	g, err := c.SSM.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(tg.ParameterStore.SSMParameter)})
	if err != nil || aws.ToString(g.Parameter.Value) != "20" || g.Parameter.Type != "String" {
		t.Fatalf("moto holds %+v, %v", g, err)
	}
	if _, err := c.SSM.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(tg.ParameterStore.SSMParameter), Value: aws.String("33"), Overwrite: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	t1 := t0.Add(60e9)
	if st, err := p.Current(ctx, tg, t1); err != nil || st.Value != 33 {
		t.Fatalf("drift = %+v, %v", st, err)
	}
	if err := p.Apply(ctx, tg, 33, 20, t1); err != nil {
		t.Fatal(err)
	}
	g, _ = c.SSM.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(tg.ParameterStore.SSMParameter)})
	if aws.ToString(g.Parameter.Value) != "20" || g.Parameter.Version != 3 {
		t.Errorf("after revert moto holds %q version %d", aws.ToString(g.Parameter.Value), g.Parameter.Version)
	}
}

// TestMotoParameterItem publishes a limit in a DynamoDB item held by moto,
// with the conditional write that refuses a concurrent writer.
func TestMotoParameterItem(t *testing.T) {
	conn, c := motoClients(t)
	table := "moto-" + strings.ReplaceAll(t.Name(), "/", "-")
	_, err := c.DynamoDB.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(table),
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash}},
		BillingMode:          ddbtypes.BillingModePayPerRequest,
	})
	// moto's answer to a create sometimes fails the SDK's CRC32 check, and
	// the SDK's retry then finds the table made: that is success.
	var inUse *ddbtypes.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		t.Fatal(err)
	}
	p := NewParameter(conn)
	tg := &config.Target{Name: "limit", Kind: config.Parameter, Table: table, Min: 1, Max: 100,
		ParameterStore: config.ParameterStore{ItemKey: map[string]string{"pk": "fanout"}, Attribute: "max_concurrency"}}
	if st, err := p.Current(ctx, tg, t0); err != nil || !st.Unset {
		t.Fatalf("missing item: %+v, %v", st, err)
	}
	if err := p.Apply(ctx, tg, 1, 12, t0); err != nil {
		t.Fatal(err)
	}
	t1 := t0.Add(60e9)
	if st, err := p.Current(ctx, tg, t1); err != nil || st.Value != 12 {
		t.Fatalf("read back %+v, %v", st, err)
	}
	_, err = c.DynamoDB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: map[string]ddbtypes.AttributeValue{
		"pk": &ddbtypes.AttributeValueMemberS{Value: "fanout"}, "max_concurrency": &ddbtypes.AttributeValueMemberN{Value: "40"}}})
	if err != nil {
		t.Fatal(err)
	}
	wantClass(t, p.Apply(ctx, tg, 12, 20, t1), controller.ClassConflict)
}
