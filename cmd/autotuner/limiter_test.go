package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/autotuner/autotuner/internal/awsfake"
	"github.com/autotuner/autotuner/ratelimit"
)

// TestLimiterCommands configures a bucket, describes it, and answers a
// Step Functions task from it, all over the wire fake.
func TestLimiterCommands(t *testing.T) {
	fake := awsfake.Start(t)
	fake.DynamoDB.AddTable("buckets", awsfake.Table{Billing: "PAY_PER_REQUEST"})
	ctx := context.Background()
	var out, errb bytes.Buffer
	code := run(ctx, testEnv(&out, &errb), []string{"limiter", "configure", "--table", "buckets", "--bucket", "partner-api", "--rate", "100", "--shards", "2"})
	if code != exitOK || !strings.Contains(out.String(), "bucket partner-api: rate 100/s, burst 100, 2 shard(s)") {
		t.Fatalf("configure: exit %d\n%s%s", code, out.String(), errb.String())
	}
	if len(fake.DynamoDB.Items("buckets")) != 2 {
		t.Fatalf("items: %v", fake.DynamoDB.Items("buckets"))
	}
	out.Reset()
	if code := run(ctx, testEnv(&out, &errb), []string{"limiter", "describe", "--table", "buckets", "--bucket", "nobody"}); code != exitFailure {
		t.Fatalf("describe a missing bucket: exit %d", code)
	}

	var got ratelimit.TaskResponse
	prev := startLimiterTask
	t.Cleanup(func() { startLimiterTask = prev })
	startLimiterTask = func(ctx context.Context, task *ratelimit.Task) {
		var err error
		got, err = task.Handle(ctx, ratelimit.TaskRequest{Bucket: "partner-api", Tokens: 10})
		if err != nil {
			t.Error(err)
		}
	}
	e := testEnv(&out, &errb)
	e.getenv = func(k string) string {
		switch k {
		case "AWS_LAMBDA_RUNTIME_API":
			return "127.0.0.1:9001"
		case envLimiterTable:
			return "buckets"
		}
		return ""
	}
	if code := run(ctx, e, nil); code != exitOK || !got.Granted {
		t.Fatalf("task inside Lambda: exit %d, %+v, %s", code, got, errb.String())
	}
	if code := run(ctx, testEnv(&out, &errb), []string{"limiter", "serve", "--on-error", "maybe", "--table", "t"}); code != exitUsage {
		t.Fatalf("a bad --on-error: exit %d", code)
	}
}
