package ratelimit

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/autotuner/autotuner/internal/awsfake"
	"github.com/autotuner/autotuner/internal/testenv"
)

// dynaliteTable starts dynalite on 127.0.0.1 and creates a bucket table
// in it, returning a client that checks every write it sends.
func dynaliteTable(t testing.TB) (*watch, string) {
	t.Helper()
	url := testenv.Dynalite(t, testenv.DynaliteOptions{})
	api := dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(url),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
	ctx := context.Background()
	if err := CreateTable(ctx, api, "buckets"); err != nil {
		t.Fatal(err)
	}
	if err := awsfake.WaitTableActive(ctx, api, "buckets", 50*time.Millisecond, 100); err != nil {
		t.Fatal(err)
	}
	return &watch{API: api}, "buckets"
}

// watch passes calls to DynamoDB and counts them, and records the lowest
// token count ever written, so a test can prove none was negative.
type watch struct {
	API
	updates, conflicts, gets atomic.Int64
	mu                       sync.Mutex
	minTokens                float64
	seen                     bool
}

func (w *watch) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	w.updates.Add(1)
	if v, ok := in.ExpressionAttributeValues[":t"].(*types.AttributeValueMemberN); ok {
		f, _ := strconv.ParseFloat(v.Value, 64)
		w.mu.Lock()
		if !w.seen || f < w.minTokens {
			w.minTokens, w.seen = f, true
		}
		w.mu.Unlock()
	}
	out, err := w.API.UpdateItem(ctx, in, o...)
	var ccf *types.ConditionalCheckFailedException
	if err != nil && errorsAs(err, &ccf) {
		w.conflicts.Add(1)
	}
	return out, err
}

func (w *watch) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	w.gets.Add(1)
	return w.API.GetItem(ctx, in, o...)
}

// rounds is a virtual clock the test moves: callers read it concurrently,
// and it moves only between rounds. Each caller adds its own skew.
type rounds struct {
	mu sync.Mutex
	at time.Time
}

func (c *rounds) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.at
}

func (c *rounds) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.at = c.at.Add(d)
}

func (c *rounds) elapsed() time.Duration { return c.now().Sub(t0) }

func (c *rounds) skewed(d time.Duration) func() time.Time {
	return func() time.Time { return c.now().Add(d) }
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }
