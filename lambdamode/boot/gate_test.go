package boot_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/autotuner/autotuner/daemon/daemontest"
	"github.com/autotuner/autotuner/internal/testenv"
	"github.com/autotuner/autotuner/lambdamode/boot"
	"github.com/autotuner/autotuner/state"
)

// With AUTOTUNER_LEASE, a function campaigns right before each change: of
// two functions sharing the table (in dynalite), only one may apply.
func TestCampaignGate(t *testing.T) {
	url := testenv.Dynalite(t, testenv.DynaliteOptions{})
	c := dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String(url), Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	ctx := context.Background()
	if _, err := c.CreateTable(ctx, state.CreateTableInput("gate-table")); err != nil {
		t.Fatal(err)
	}
	w := dynamodb.NewTableExistsWaiter(c, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, 200*time.Millisecond
	})
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("gate-table")}, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	clock := daemontest.NewClock(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	gate := func(owner string) boot.CampaignGate {
		return boot.CampaignGate{Lease: &state.Lease{Client: c, Table: "gate-table", Name: "fn", Owner: owner, TTL: 5 * time.Minute, Now: clock.Now}}
	}
	one, two := gate("one"), gate("two")
	if ok, err := one.MayApply(ctx); !ok || err != nil {
		t.Fatalf("first function: %v %v", ok, err)
	}
	if ok, err := two.MayApply(ctx); ok || err != nil {
		t.Fatalf("second function may apply too: %v %v", ok, err)
	}
	clock.Advance(6 * time.Minute) // the first function's container is gone
	if ok, err := two.MayApply(ctx); !ok || err != nil {
		t.Fatalf("after the lease expired: %v %v", ok, err)
	}
	if ok, _ := one.MayApply(ctx); ok {
		t.Error("the old holder may still apply")
	}
}
