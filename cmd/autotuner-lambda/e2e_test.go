package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/autotuner/autotuner/internal/awsfake"
	"github.com/autotuner/autotuner/internal/testenv"
	"github.com/autotuner/autotuner/lambdamode"
	"github.com/autotuner/autotuner/lambdamode/lambdatest"
	"github.com/autotuner/autotuner/state"
)

// The Lambda mode end to end: the bootstrap deploy/sam ships under the runtime
// interface emulator, answering real sample events, with AWS faked at the
// wire (CloudWatch, Lambda) and state in dynalite.
func TestLambdaUnderRuntimeEmulator(t *testing.T) {
	lambdatest.Find(t)
	dyn := testenv.Dynalite(t, testenv.DynaliteOptions{})
	ddb := dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String(dyn), Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := ddb.CreateTable(ctx, state.CreateTableInput("autotuner")); err != nil {
		t.Fatal(err)
	}
	w := dynamodb.NewTableExistsWaiter(ddb, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, 200*time.Millisecond
	})
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("autotuner")}, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	fake := awsfake.New()
	defer fake.Close()
	ten := 10
	fake.Lambda.AddFunction("orders-consumer", &ten)
	fake.Lambda.AddFunction("reports", &ten)
	fake.CloudWatch.Value = func(awsfake.MetricDataQuery, time.Time) (float64, bool) { return 20, true }

	bootstrap := buildBootstrap(t, "")
	policies, err := filepath.Abs("../../testdata/events/policies.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + dir,
		"AWS_ENDPOINT_URL=" + fake.URL,
		"AWS_ENDPOINT_URL_DYNAMODB=" + dyn,
		"AWS_ACCESS_KEY_ID=test",
		"AWS_SECRET_ACCESS_KEY=test",
		"AWS_REGION=us-east-1",
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "credentials"),
		"AUTOTUNER_POLICIES=" + policies,
		"AUTOTUNER_STATE_TABLE=autotuner",
	}
	rie := lambdatest.Start(t, bootstrap, env)

	invoke := func(fixtureName string) []byte {
		t.Helper()
		ev, err := os.ReadFile(filepath.Join("..", "..", "testdata", "events", fixtureName))
		if err != nil {
			t.Fatal(err)
		}
		body, err := rie.Invoke(ctx, ev)
		if err != nil {
			t.Fatalf("%s: %v", fixtureName, err)
		}
		return body
	}
	summary := func(fixtureName string) *lambdamode.Response {
		t.Helper()
		body := invoke(fixtureName)
		var r lambdamode.Response
		if err := json.Unmarshal(body, &r); err != nil || r.Event == "" {
			t.Fatalf("%s: response %s is not a summary: %v", fixtureName, body, err)
		}
		return &r
	}

	r := summary("scheduled.json")
	if r.Event != lambdamode.KindSchedule || r.Evaluated != 2 || r.Applied != 2 || r.Errors != 0 {
		t.Fatalf("schedule: %+v", r)
	}
	after := *fake.Lambda.Reserved("orders-consumer")
	reports := *fake.Lambda.Reserved("reports")
	if after <= 10 {
		t.Fatalf("orders-consumer reservation %d, want raised from 10", after)
	}

	for _, ev := range []string{"alarm-eventbridge.json", "alarm-sns.json"} {
		r = summary(ev)
		if r.Event != lambdamode.KindAlarm || r.Evaluated != 1 || r.Decisions[0].Target != "orders-consumer" || !r.Decisions[0].Alarm {
			t.Fatalf("%s: %+v, want only orders-consumer, alarmed", ev, r)
		}
		if !r.Decisions[0].Applied {
			t.Errorf("%s: the alarm did not bypass the 10m up cooldown: %+v", ev, r.Decisions[0])
		}
	}
	if now := *fake.Lambda.Reserved("orders-consumer"); now <= after {
		t.Errorf("after two alarms the reservation is %d, want above %d", now, after)
	}
	if got := *fake.Lambda.Reserved("reports"); got != reports {
		t.Errorf("reports reservation %d, was %d: alarms must not touch unlinked targets", got, reports)
	}

	for ev, want := range map[string]string{
		"malformed.json":  "not valid JSON",
		"unknown.json":    "unsupported EventBridge event",
		"direct-all.json": "", // a valid direct invoke, for contrast
	} {
		body := invoke(ev)
		var fe struct {
			ErrorMessage string `json:"errorMessage"`
			ErrorType    string `json:"errorType"`
		}
		json.Unmarshal(body, &fe)
		if want == "" {
			if fe.ErrorMessage != "" {
				t.Errorf("%s: unexpected error %s", ev, body)
			}
			continue
		}
		if !strings.Contains(fe.ErrorMessage, want) || fe.ErrorType == "" {
			t.Errorf("%s: response %s, want an error saying %q", ev, body, want)
		}
	}

	// State lives in DynamoDB: the original value is remembered.
	m, err := state.NewDynamoDB(ddb, "autotuner").Load(ctx, "orders-consumer")
	if err != nil {
		t.Fatal(err)
	}
	if !m.Actuation.HaveOriginal || m.Actuation.Original != 10 {
		t.Errorf("state in DynamoDB: %+v, want original 10", m.Actuation)
	}
	if out := rie.Output(); !strings.Contains(out, `"CloudWatchMetrics"`) {
		t.Errorf("no Embedded Metric Format line in the function's output:\n%s", out)
	}
}
