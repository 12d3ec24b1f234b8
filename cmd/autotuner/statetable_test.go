package main

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/autotuner/autotuner/internal/testenv"
	"github.com/autotuner/autotuner/state"
)

// stateTable starts dynalite, creates a state table named table on it,
// waits until it is ACTIVE and returns a client for it.
func stateTable(t *testing.T, table string) *dynamodb.Client {
	t.Helper()
	url := testenv.Dynalite(t, testenv.DynaliteOptions{})
	c := dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String(url), Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
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
	return c
}

// useStateTable makes --state-table talk to c for the rest of the test.
func useStateTable(t *testing.T, c state.DynamoDBAPI) {
	prev := newStateDynamoDB
	newStateDynamoDB = func(context.Context, string) (state.DynamoDBAPI, error) { return c, nil }
	t.Cleanup(func() { newStateDynamoDB = prev })
}
