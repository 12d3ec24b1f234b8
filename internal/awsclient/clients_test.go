package awsclient

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	smithy "github.com/aws/smithy-go"

	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/internal/awsfake"
)

func TestClientsCachedPerRegionAndRole(t *testing.T) {
	awsfake.Start(t)
	f, err := New(context.Background(), Options{NoRateLimits: true})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := f.For("", "")
	b, _ := f.For("us-east-1", "")
	c, _ := f.For("eu-west-1", "")
	d, _ := f.For("us-east-1", "arn:aws:iam::111122223333:role/tuner")
	if a != b {
		t.Error("the default region and us-east-1 got different clients")
	}
	if a == c || a == d || c == d {
		t.Error("different regions or roles share clients")
	}
	if c.Config.Region != "eu-west-1" || a.Budget == c.Budget {
		t.Errorf("eu-west-1 clients: region %q, shared budget %v", c.Config.Region, a.Budget == c.Budget)
	}
}

// TestAssumedRoleSignsCalls checks that a target's role is assumed through
// STS and its credentials sign that target's calls.
func TestAssumedRoleSignsCalls(t *testing.T) {
	fake := awsfake.Start(t)
	fake.Lambda.AddFunction("f", nil)
	f, err := New(context.Background(), Options{NoRateLimits: true})
	if err != nil {
		t.Fatal(err)
	}
	role := "arn:aws:iam::111122223333:role/tuner"
	c, _ := f.For("", role)
	if _, err := c.Lambda.GetFunctionConcurrency(context.Background(), &lambda.GetFunctionConcurrencyInput{FunctionName: aws.String("f")}); err != nil {
		t.Fatal(err)
	}
	ar := fake.Calls("AssumeRole")
	if len(ar) != 1 || !strings.Contains(string(ar[0].Body), "RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Ftuner") {
		t.Fatalf("AssumeRole calls = %+v", ar)
	}
	if auth := fake.Calls("GetFunctionConcurrency")[0].Header.Get("Authorization"); !strings.Contains(auth, "Credential=ASIATEST/") {
		t.Errorf("the call was signed with %q, want the assumed role's key", auth)
	}
	// The default identity keeps its own credentials.
	d, _ := f.For("", "")
	d.Lambda.GetFunctionConcurrency(context.Background(), &lambda.GetFunctionConcurrencyInput{FunctionName: aws.String("f")})
	if auth := fake.Calls("GetFunctionConcurrency")[1].Header.Get("Authorization"); !strings.Contains(auth, "Credential=test/") {
		t.Errorf("default call signed with %q", auth)
	}
}

func TestPerServiceEndpointOverride(t *testing.T) {
	general := awsfake.Start(t)
	lambdaOnly := awsfake.New()
	t.Cleanup(lambdaOnly.Close)
	t.Setenv("AWS_ENDPOINT_URL_LAMBDA", lambdaOnly.URL)
	lambdaOnly.Lambda.AddFunction("f", nil)
	f, err := New(context.Background(), Options{NoRateLimits: true})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := f.For("", "")
	if _, err := c.Lambda.GetAccountSettings(context.Background(), &lambda.GetAccountSettingsInput{}); err != nil {
		t.Fatal(err)
	}
	if len(lambdaOnly.Calls("GetAccountSettings")) != 1 || len(general.Calls("")) != 0 {
		t.Errorf("AWS_ENDPOINT_URL_LAMBDA not honored: lambda fake %d calls, general %d", len(lambdaOnly.Calls("")), len(general.Calls("")))
	}
}

func TestBadProtocolIsAnError(t *testing.T) {
	awsfake.Start(t)
	if _, err := New(context.Background(), Options{CloudWatchProtocol: "xml"}); err == nil {
		t.Error("protocol xml accepted")
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want controller.Class
	}{
		{&smithy.GenericAPIError{Code: "LimitExceededException"}, controller.ClassQuota},
		{&smithy.GenericAPIError{Code: "ResourceInUseException"}, controller.ClassConflict},
		{&smithy.GenericAPIError{Code: "InvalidParameterValueException"}, controller.ClassInvalid},
		{&smithy.GenericAPIError{Code: "ValidationException"}, controller.ClassInvalid},
		{&smithy.GenericAPIError{Code: "TooManyRequestsException"}, controller.ClassThrottled},
		{&smithy.GenericAPIError{Code: "Throttling"}, controller.ClassThrottled},
		{&smithy.GenericAPIError{Code: "AccessDenied"}, controller.ClassPermission},
		{&smithy.GenericAPIError{Code: "AccessDeniedException"}, controller.ClassPermission},
		{&smithy.GenericAPIError{Code: "ResourceNotFoundException"}, controller.ClassNotFound},
		{&smithy.GenericAPIError{Code: "com.amazonaws.dynamodb.v20120810#ResourceInUseException"}, controller.ClassConflict},
		{&smithy.GenericAPIError{Code: "Weird", Fault: smithy.FaultServer}, controller.ClassTransient},
		{context.DeadlineExceeded, controller.ClassTransient},
		{errors.New("connection reset"), controller.ClassTransient},
	} {
		err := Wrap("Op", "res", tc.err)
		if got := controller.Classify(err); got != tc.want {
			t.Errorf("%v: class %q, want %q", tc.err, got, tc.want)
		}
		if !errors.Is(err, tc.err) {
			t.Errorf("%v: the wrapped error is lost", tc.err)
		}
	}
	if Wrap("Op", "res", nil) != nil {
		t.Error("Wrap(nil) != nil")
	}
}

func TestBudgetPerTick(t *testing.T) {
	b := NewBudget(map[Plane]Rate{PlaneLambda: {PerSecond: 1, Burst: 1}}, 2*time.Second) // 3 a tick
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	var got []bool
	for range 4 {
		got = append(got, b.Take(PlaneLambda, 1, t0))
	}
	if !got[0] || !got[1] || !got[2] || got[3] {
		t.Errorf("takes = %v, want 3 granted then refused", got)
	}
	if !b.Take(PlaneLambda, 3, t0.Add(time.Minute)) {
		t.Error("a new tick has no fresh budget")
	}
	if !b.Take(PlaneDynamoDB, 1000, t0) {
		t.Error("an unpaced plane is limited")
	}
}

// TestRateLimitPacesCalls shows the client-side pace without timing
// anything: with one call per 1,000 s allowed, a second call cannot fit in
// its context's deadline and never reaches the service.
func TestRateLimitPacesCalls(t *testing.T) {
	fake := awsfake.Start(t)
	f, err := New(context.Background(), Options{Rates: map[Plane]Rate{PlaneLambda: {PerSecond: 0.001, Burst: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := f.For("", "")
	if _, err := c.Lambda.GetAccountSettings(context.Background(), &lambda.GetAccountSettingsInput{}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err = c.Lambda.GetAccountSettings(ctx, &lambda.GetAccountSettingsInput{})
	if err == nil {
		t.Fatal("a second call went through a 1-per-1000s limit")
	}
	if n := len(fake.Calls("GetAccountSettings")); n != 1 {
		t.Errorf("calls reaching the service = %d, want 1", n)
	}
}
