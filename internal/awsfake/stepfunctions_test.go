package awsfake_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	smithy "github.com/aws/smithy-go"

	"github.com/autotuner/autotuner/internal/awsfake"
)

const arn = "arn:aws:states:us-east-1:123456789012:stateMachine:orders"

const def = `{"StartAt":"M","States":{"M":{"Type":"Map","MaxConcurrency":5,"ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},"End":true}}}`

func clients(t *testing.T) (*awsfake.Server, *sfn.Client, *ssm.Client) {
	fake := awsfake.New()
	t.Cleanup(fake.Close)
	creds := credentials.NewStaticCredentialsProvider("test", "test", "")
	s := sfn.New(sfn.Options{BaseEndpoint: aws.String(fake.URL), Region: "us-east-1", Credentials: creds, Retryer: aws.NopRetryer{}})
	p := ssm.New(ssm.Options{BaseEndpoint: aws.String(fake.URL), Region: "us-east-1", Credentials: creds, Retryer: aws.NopRetryer{}})
	return fake, s, p
}

func code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// TestStepFunctionsWire drives the fake with the real SDK client: the
// happy path and every error the actuator must handle, as the SDK decodes
// them into its typed errors.
func TestStepFunctionsWire(t *testing.T) {
	ctx := context.Background()
	fake, c, _ := clients(t)
	fake.SFN.AddStateMachine(arn, def)

	d, err := c.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(arn)})
	if err != nil || aws.ToString(d.Definition) != def || aws.ToString(d.RevisionId) != "1" {
		t.Fatalf("describe = %+v, %v", d, err)
	}
	_, err = c.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(arn + "x")})
	var missing *sfntypes.StateMachineDoesNotExist
	if !errors.As(err, &missing) {
		t.Errorf("describe of a missing machine: %v", err)
	}

	// A definition Step Functions would refuse.
	bad := `{"StartAt":"M","States":{"M":{"Type":"Map","MaxConcurrency":5,"MaxConcurrencyPath":"$.n","End":true}}}`
	_, err = c.UpdateStateMachine(ctx, &sfn.UpdateStateMachineInput{StateMachineArn: aws.String(arn), Definition: aws.String(bad)})
	var invalid *sfntypes.InvalidDefinition
	if !errors.As(err, &invalid) {
		t.Errorf("invalid definition: %v", err)
	}
	if fake.SFN.Machine(arn).Definition != def {
		t.Error("an invalid definition was stored")
	}

	// Update, then publish against a revision someone else moved on.
	up, err := c.UpdateStateMachine(ctx, &sfn.UpdateStateMachineInput{StateMachineArn: aws.String(arn), Definition: aws.String(def)})
	if err != nil {
		t.Fatal(err)
	}
	fake.SFN.Edit(arn, def)
	_, err = c.PublishStateMachineVersion(ctx, &sfn.PublishStateMachineVersionInput{StateMachineArn: aws.String(arn), RevisionId: up.RevisionId})
	var conflict *sfntypes.ConflictException
	if !errors.As(err, &conflict) {
		t.Errorf("publish of a stale revision: %v", err)
	}
	pub, err := c.PublishStateMachineVersion(ctx, &sfn.PublishStateMachineVersionInput{StateMachineArn: aws.String(arn)})
	if err != nil || aws.ToString(pub.StateMachineVersionArn) != arn+":1" {
		t.Fatalf("publish = %+v, %v", pub, err)
	}
	fake.SFN.AddAlias(arn, "live", map[string]int{})
	_, err = c.UpdateStateMachineAlias(ctx, &sfn.UpdateStateMachineAliasInput{StateMachineAliasArn: aws.String(arn + ":live"),
		RoutingConfiguration: []sfntypes.RoutingConfigurationListItem{{StateMachineVersionArn: pub.StateMachineVersionArn, Weight: 100}}})
	if err != nil {
		t.Fatal(err)
	}
	al, err := c.DescribeStateMachineAlias(ctx, &sfn.DescribeStateMachineAliasInput{StateMachineAliasArn: aws.String(arn + ":live")})
	if err != nil || len(al.RoutingConfiguration) != 1 || aws.ToString(al.RoutingConfiguration[0].StateMachineVersionArn) != arn+":1" {
		t.Fatalf("alias = %+v, %v", al, err)
	}

	// Injected refusals decode to the codes AWS sends.
	for _, want := range []string{"AccessDeniedException", "ThrottlingException", "ConflictException"} {
		fake.Fail("UpdateStateMachine", awsfake.APIError{Code: want, Message: want})
		_, err := c.UpdateStateMachine(ctx, &sfn.UpdateStateMachineInput{StateMachineArn: aws.String(arn), Definition: aws.String(def)})
		if code(err) != want {
			t.Errorf("injected %s, got %v", want, err)
		}
	}
	fake.Quota("states", 1e-9, 1)
	c.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(arn)})
	if _, err := c.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(arn)}); code(err) != "ThrottlingException" || fake.Violations("states") != 1 {
		t.Errorf("over the quota: %v, violations %d", err, fake.Violations("states"))
	}
}

func TestSSMWire(t *testing.T) {
	ctx := context.Background()
	fake, _, c := clients(t)
	_, err := c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/limit")})
	var nf *ssmtypes.ParameterNotFound
	if !errors.As(err, &nf) {
		t.Errorf("missing parameter: %v", err)
	}
	if _, err := c.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/limit"), Value: aws.String("10"), Type: ssmtypes.ParameterTypeString}); err != nil {
		t.Fatal(err)
	}
	_, err = c.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/limit"), Value: aws.String("12")})
	var exists *ssmtypes.ParameterAlreadyExists
	if !errors.As(err, &exists) {
		t.Errorf("put without overwrite: %v", err)
	}
	out, err := c.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/limit"), Value: aws.String("12"), Overwrite: aws.Bool(true)})
	if err != nil || out.Version != 2 {
		t.Fatalf("overwrite = %+v, %v", out, err)
	}
	g, err := c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/limit")})
	if err != nil || aws.ToString(g.Parameter.Value) != "12" || g.Parameter.Version != 2 {
		t.Fatalf("get = %+v, %v", g, err)
	}
	for _, want := range []string{"AccessDeniedException", "ThrottlingException", "TooManyUpdates"} {
		fake.Fail("PutParameter", awsfake.APIError{Code: want, Message: want})
		_, err := c.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/limit"), Value: aws.String("3"), Overwrite: aws.Bool(true)})
		if code(err) != want {
			t.Errorf("injected %s, got %v", want, err)
		}
	}
	var tmu *ssmtypes.TooManyUpdates
	fake.Fail("PutParameter", awsfake.APIError{Code: "TooManyUpdates"})
	if _, err := c.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/limit"), Value: aws.String("3"), Overwrite: aws.Bool(true)}); !errors.As(err, &tmu) {
		t.Errorf("TooManyUpdates not typed: %v", err)
	}
}
