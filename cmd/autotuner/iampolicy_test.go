package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/autotuner/autotuner/internal/awsfake"
)

func TestIAMPolicyForExample(t *testing.T) {
	cfg := filepath.Join("..", "..", "policies.example.yaml")
	var out, errb bytes.Buffer
	if code := run(context.Background(), testEnv(&out, &errb), []string{"iam-policy", "-c", cfg, "--account", "123456789012"}); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var doc struct {
		Version   string
		Statement []struct {
			Sid      string
			Effect   string
			Action   []string
			Resource []string
		}
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out.String())
	}
	if doc.Version != "2012-10-17" {
		t.Errorf("Version = %q", doc.Version)
	}
	grants := map[string][]string{}
	for _, s := range doc.Statement {
		if s.Effect != "Allow" {
			t.Errorf("%s: Effect %q", s.Sid, s.Effect)
		}
		for _, a := range s.Action {
			grants[a] = append(grants[a], s.Resource...)
		}
	}
	for _, r := range grants {
		sort.Strings(r)
	}
	// Exactly the actions the four example targets need, each on its
	// resource where the service allows it. public-api-plan is dry_run:
	// it may read its plan, not change it.
	want := map[string][]string{
		"cloudwatch:GetMetricData":                        {"*"},
		"lambda:GetFunction":                              {"arn:aws:lambda:us-east-1:123456789012:function:checkout", "arn:aws:lambda:us-east-1:123456789012:function:orders-consumer", "arn:aws:lambda:us-east-1:123456789012:function:public-api-handler"},
		"lambda:PutFunctionConcurrency":                   {"arn:aws:lambda:us-east-1:123456789012:function:checkout", "arn:aws:lambda:us-east-1:123456789012:function:orders-consumer", "arn:aws:lambda:us-east-1:123456789012:function:public-api-handler"},
		"sqs:GetQueueAttributes":                          {"arn:aws:sqs:us-east-1:123456789012:orders"},
		"lambda:GetAccountSettings":                       {"*"},
		"dynamodb:DescribeTable":                          {"arn:aws:dynamodb:us-east-1:123456789012:table/orders"},
		"dynamodb:UpdateTable":                            {"arn:aws:dynamodb:us-east-1:123456789012:table/orders"},
		"application-autoscaling:DescribeScalableTargets": {"*"},
		"apigateway:GET":                                  {"arn:aws:apigateway:us-east-1::/usageplans/a1b2c3"},
		"dynamodb:GetItem":                                {"arn:aws:dynamodb:eu-west-1:123456789012:table/autotuner-buckets", "arn:aws:dynamodb:us-east-1:123456789012:table/autotuner-buckets"},
		"dynamodb:UpdateItem":                             {"arn:aws:dynamodb:eu-west-1:123456789012:table/autotuner-buckets", "arn:aws:dynamodb:us-east-1:123456789012:table/autotuner-buckets"},
	}
	if d := cmp.Diff(want, grants); d != "" {
		t.Errorf("grants (-want +got):\n%s", d)
	}
}

func TestIAMPolicyAsksSTSForTheAccount(t *testing.T) {
	fake := awsfake.Start(t)
	fake.STS.Account = "210987654321"
	cfg := filepath.Join("..", "..", "policies.example.yaml")
	var out, errb bytes.Buffer
	if code := run(context.Background(), testEnv(&out, &errb), []string{"iam-policy", "-c", cfg}); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "arn:aws:lambda:us-east-1:210987654321:function:orders-consumer") {
		t.Errorf("the policy does not use the account from STS:\n%s", out.String())
	}
	if n := len(fake.Calls("GetCallerIdentity")); n != 1 {
		t.Errorf("GetCallerIdentity calls = %d", n)
	}
}
