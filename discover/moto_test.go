package discover_test

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	apigwtypes "github.com/aws/aws-sdk-go-v2/service/apigateway/types"
	"github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	aastypes "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/discover"
	"github.com/autotuner/autotuner/internal/awsclient"
	"github.com/autotuner/autotuner/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.RunWithMoto(m)) }

// motoEnv points the SDK at moto over loopback, with fake credentials.
func motoEnv(t *testing.T, endpoint string) {
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_SESSION_TOKEN": "",
		"AWS_REGION": "us-east-1", "AWS_PROFILE": "", "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_CONFIG_FILE": filepath.Join(dir, "config"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
	} {
		t.Setenv(k, v)
	}
}

// createRole makes the IAM role moto's Lambda insists on, with one query
// call (no IAM client in this module).
func createRole(t *testing.T, endpoint, name string) string {
	form := url.Values{"Action": {"CreateRole"}, "Version": {"2010-05-08"}, "RoleName": {name}, "AssumeRolePolicyDocument": {`{"Version":"2012-10-17","Statement":[]}`}}
	req, _ := http.NewRequest(http.MethodPost, endpoint+"/", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=test/20261205/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 && res.StatusCode != 409 {
		t.Fatalf("CreateRole: %s", res.Status)
	}
	return "arn:aws:iam::123456789012:role/" + name
}

func zipped(t *testing.T) []byte {
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	f, _ := w.Create("bootstrap")
	f.Write([]byte("#!/bin/sh\n"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// account creates, in moto, one limit of each kind discovery finds.
func account(t *testing.T, ctx context.Context, cl *awsclient.Clients, role string) {
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	fn := cl.Lambda
	must(fn.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("init-orders"), Role: aws.String(role), Runtime: lambdatypes.RuntimeProvidedal2023, Handler: aws.String("bootstrap"), Code: &lambdatypes.FunctionCode{ZipFile: zipped(t)}, Tags: map[string]string{"autotune": "on"}}))
	must(fn.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String("init-orders"), ReservedConcurrentExecutions: aws.Int32(20)}))
	q, err := cl.SQS.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("init-orders-queue")})
	if err != nil {
		t.Fatal(err)
	}
	_ = q
	must(fn.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{FunctionName: aws.String("init-orders"), EventSourceArn: aws.String("arn:aws:sqs:us-east-1:123456789012:init-orders-queue"), ScalingConfig: &lambdatypes.ScalingConfig{MaximumConcurrency: aws.Int32(5)}}))

	gw := cl.APIGateway
	api, err := gw.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("init-public")})
	if err != nil {
		t.Fatal(err)
	}
	res, err := gw.GetResources(ctx, &apigateway.GetResourcesInput{RestApiId: api.Id})
	if err != nil || len(res.Items) == 0 {
		t.Fatalf("GetResources: %v", err)
	}
	root := res.Items[0].Id
	must(gw.PutMethod(ctx, &apigateway.PutMethodInput{RestApiId: api.Id, ResourceId: root, HttpMethod: aws.String("GET"), AuthorizationType: aws.String("NONE")}))
	must(gw.PutIntegration(ctx, &apigateway.PutIntegrationInput{RestApiId: api.Id, ResourceId: root, HttpMethod: aws.String("GET"), Type: apigwtypes.IntegrationTypeMock}))
	must(gw.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: api.Id, StageName: aws.String("prod")}))
	must(gw.UpdateStage(ctx, &apigateway.UpdateStageInput{RestApiId: api.Id, StageName: aws.String("prod"), PatchOperations: []apigwtypes.PatchOperation{
		{Op: apigwtypes.OpReplace, Path: aws.String("/*/*/throttling/rateLimit"), Value: aws.String("100")},
		{Op: apigwtypes.OpReplace, Path: aws.String("/*/*/throttling/burstLimit"), Value: aws.String("200")},
	}}))
	must(gw.CreateUsagePlan(ctx, &apigateway.CreateUsagePlanInput{Name: aws.String("init-gold"), ApiStages: []apigwtypes.ApiStage{{ApiId: api.Id, Stage: aws.String("prod")}}, Throttle: &apigwtypes.ThrottleSettings{RateLimit: 50, BurstLimit: 100}}))

	db := cl.DynamoDB
	key := []ddbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash}}
	attrs := []ddbtypes.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS}}
	// moto's answer to a create sometimes fails the SDK's CRC32 check, and
	// the SDK's retry then finds the table made: that is success.
	created := func(_ *dynamodb.CreateTableOutput, err error) {
		var inUse *ddbtypes.ResourceInUseException
		if err != nil && !errors.As(err, &inUse) {
			t.Fatal(err)
		}
	}
	created(db.CreateTable(ctx, &dynamodb.CreateTableInput{TableName: aws.String("init-orders"), KeySchema: key, AttributeDefinitions: attrs, ProvisionedThroughput: &ddbtypes.ProvisionedThroughput{ReadCapacityUnits: aws.Int64(10), WriteCapacityUnits: aws.Int64(20)}, Tags: []ddbtypes.Tag{{Key: aws.String("autotune"), Value: aws.String("on")}}}))
	created(db.CreateTable(ctx, &dynamodb.CreateTableInput{TableName: aws.String("init-scaled"), KeySchema: key, AttributeDefinitions: attrs, ProvisionedThroughput: &ddbtypes.ProvisionedThroughput{ReadCapacityUnits: aws.Int64(5), WriteCapacityUnits: aws.Int64(5)}}))
	must(cl.AutoScaling.RegisterScalableTarget(ctx, &applicationautoscaling.RegisterScalableTargetInput{ServiceNamespace: aastypes.ServiceNamespaceDynamodb, ResourceId: aws.String("table/init-scaled"), ScalableDimension: aastypes.ScalableDimensionDynamoDBTableWriteCapacityUnits, MinCapacity: aws.Int32(5), MaxCapacity: aws.Int32(50)}))
}

// init against moto: a second opinion on every listing call, over a real
// socket, and the file it writes validates.
func TestInitAgainstMoto(t *testing.T) {
	endpoint := testenv.Moto(t)
	motoEnv(t, endpoint)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	fac, err := awsclient.New(ctx, awsclient.Options{Region: "us-east-1", CloudWatchProtocol: "query"})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := fac.For("us-east-1", "")
	if err != nil {
		t.Fatal(err)
	}
	account(t, ctx, cl, createRole(t, endpoint, "init-role"))
	c := discover.FromAWS(cl, "json")

	out, err := discover.InitFile(ctx, c, nil, 14, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	f, err := config.Parse("init.yaml", out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"init-orders", "init-orders:init-orders-queue", "init-public:prod", "init-gold", "init-orders:read", "init-orders:write", "init-scaled:read"} {
		if f.Target(want) == nil {
			t.Errorf("no target %s in:\n%s", want, out)
		}
	}
	for _, s := range []string{
		"# function init-orders, reserved concurrency 20.",
		"maximum concurrency 5",
		"throttle 100 requests/s, burst 200",
		"  # left alone: Application Auto Scaling manages it (5..50); two controllers would fight.\n  # - name: init-scaled:write",
	} {
		if !strings.Contains(string(out), s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
	}

	tagged, err := discover.InitFile(ctx, c, map[string]string{"autotune": "on"}, 14, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	tf, err := config.Parse("tagged.yaml", tagged)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tg := range tf.Targets {
		names = append(names, tg.Name)
	}
	if got := strings.Join(names, " "); got != "init-orders init-orders:init-orders-queue init-orders:read init-orders:write" {
		t.Errorf("tagged targets: %s\n%s", got, tagged)
	}

	// Selectors, against the same account.
	sel := &discover.Selector{Clients: func(region, role string) (*discover.Clients, error) { return c, nil }}
	src := `version: 1
defaults: {region: us-east-1}
targets:
  - {name: fns, kind: lambda-reserved-concurrency, select: {tags: {autotune: "on"}}, min: 1, max: 100}
  - {name: reads, kind: dynamodb-provisioned, capacity: read, select: {name: "init-*"}, min: 1, max: 100}
  - {name: stages, kind: apigateway-stage, select: {name: "init-public:*"}, min: 1, max: 100}
`
	sf, err := config.ParseWith("select.yaml", []byte(src), config.Options{Selector: sel, Context: ctx})
	if err != nil {
		t.Fatal(err)
	}
	names = nil
	for _, tg := range sf.Targets {
		names = append(names, tg.Name+"="+tg.Identity())
	}
	if got, want := strings.Join(names, ", "), "fns/init-orders=function init-orders, reads/init-orders=table init-orders read, reads/init-scaled=table init-scaled read, stages/init-public:prod=stage "; !strings.HasPrefix(got, want) {
		t.Errorf("selected %s\nwant %s…", got, want)
	}
}
