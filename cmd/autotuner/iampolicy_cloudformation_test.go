package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/awslabs/goformation/v7"
	"github.com/awslabs/goformation/v7/intrinsics"
	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/autotuner/autotuner/internal/testenv"
)

const cfnPoliciesYAML = `version: 1
targets:
  - name: here
    kind: lambda-reserved-concurrency
    function: orders
    min: 5
    max: 50
    signals:
      busy: {namespace: AWS/Lambda, metric: ConcurrentExecutions, dimensions: {FunctionName: orders}, stat: Maximum}
    policy: {autotuner: {utilization: {signal: busy, target: 70%}}}
  - name: china
    kind: dynamodb-on-demand-max
    region: cn-north-1
    table: ledger
    capacity: read
    min: 5
    max: 50
    signals:
      used: {namespace: AWS/DynamoDB, metric: ConsumedReadCapacityUnits, dimensions: {TableName: ledger}, stat: Sum, per_second: true}
    policy: {autotuner: {utilization: {signal: used, target: 70%}}}
  - name: elsewhere
    kind: lambda-reserved-concurrency
    function: billing
    role_arn: arn:aws:iam::210987654321:role/autotuner
    min: 5
    max: 50
    dry_run: true
    signals:
      busy: {namespace: AWS/Lambda, metric: ConcurrentExecutions, dimensions: {FunctionName: billing}, stat: Maximum}
    policy: {autotuner: {utilization: {signal: busy, target: 70%}}}
`

// The template names the stack's partition, region and account where a
// target has none of its own, keeps what a target states, asks STS
// nothing, and is a template CloudFormation's own rules accept.
func TestIAMPolicyCloudFormation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policies.yaml")
	if err := os.WriteFile(path, []byte(cfnPoliciesYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	// No credentials and no region: a call to STS would fail the command.
	e := &env{stdout: &out, stderr: &errb, getenv: func(string) string { return "" }, logger: slog.New(slog.NewTextHandler(&errb, nil))}
	if code := run(context.Background(), e, []string{"iam-policy", "-c", path, "--format", "cloudformation"}); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var tmpl struct {
		Resources map[string]struct {
			Type       string
			Properties struct{ PolicyDocument cfnPolicyDocument }
		}
	}
	if err := json.Unmarshal(out.Bytes(), &tmpl); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out.String())
	}
	res := tmpl.Resources["AutotunerTargets"]
	if res.Type != "AWS::IAM::ManagedPolicy" {
		t.Fatalf("resource: %+v", tmpl.Resources)
	}
	got := map[string][]any{}
	for _, s := range res.Properties.PolicyDocument.Statement {
		got[s.Sid] = s.Resource
	}
	sub := func(s string) any { return map[string]any{"Fn::Sub": s} }
	want := map[string][]any{
		"ReadMetrics":                       {"*"},
		"LambdaReservedConcurrency":         {sub("arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:orders")},
		"LambdaAccountFloor":                {"*"},
		"AssumeTargetRoles":                 {"arn:aws:iam::210987654321:role/autotuner"},
		"LambdaReservedConcurrencyReadOnly": {sub("arn:${AWS::Partition}:lambda:${AWS::Region}:210987654321:function:billing")},
	}
	// The China table names its region, so its partition is aws-cn; its
	// account is still the stack's.
	want["DynamoDBCapacity"] = []any{sub("arn:aws-cn:dynamodb:cn-north-1:${AWS::AccountId}:table/ledger")}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("resources (-want +got):\n%s", diff)
	}
	// goformation resolves every Fn::Sub (to its defaults, us-east-1 and
	// 123456789012, and the partition given): the template is well formed.
	parsed, err := goformation.ParseJSONWithOptions(out.Bytes(), &intrinsics.ProcessorOptions{IntrinsicHandlerOverrides: map[string]intrinsics.IntrinsicHandler{
		"Fn::Sub": func(name string, in, tmpl any) any {
			if s, ok := in.(string); ok { // goformation knows no AWS::Partition
				in = strings.ReplaceAll(s, cfnPartition, "aws")
			}
			return intrinsics.FnSub(name, in, tmpl)
		},
	}})
	if err != nil {
		t.Fatal(err)
	}
	mp, err := parsed.GetIAMManagedPolicyWithName("AutotunerTargets")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(mp.PolicyDocument)
	if !strings.Contains(string(b), "arn:aws:lambda:us-east-1:123456789012:function:orders") || strings.Contains(string(b), "${") {
		t.Errorf("resolved document: %s", b)
	}

	errb.Reset()
	if code := run(context.Background(), e, []string{"iam-policy", "-c", path, "--format", "yaml"}); code != exitUsage || !strings.Contains(errb.String(), "want json or cloudformation") {
		t.Errorf("--format yaml: exit %d, %s", code, errb.String())
	}
}

// evalSub does what CloudFormation's Fn::Sub does with the pseudo
// parameters and the "${!" escape.
func evalSub(s string, vals map[string]string) string {
	var b strings.Builder
	for s != "" {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		s = s[i:]
		if strings.HasPrefix(s, "${!") {
			b.WriteString("${")
			s = s[3:]
			continue
		}
		j := strings.Index(s, "}")
		b.WriteString(vals[s[2:j]])
		s = s[j+1:]
	}
	return b.String()
}

// Whatever a name holds, the stack writes back exactly the ARN asked for:
// pseudo parameters replaced, every other "${" kept literally.
func TestCfnStringRoundTrip(t *testing.T) {
	vals := map[string]string{"AWS::Partition": "aws-us-gov", "AWS::Region": "us-gov-west-1", "AWS::AccountId": "111122223333"}
	pieces := []string{cfnPartition, cfnRegion, cfnAccount, "${", "${!", "}", "$", "arn:", ":", "function/", "x"}
	rapid.Check(t, func(t *rapid.T) {
		parts := rapid.SliceOfN(rapid.SampledFrom(pieces), 0, 12).Draw(t, "parts")
		s := strings.Join(parts, "")
		want := strings.NewReplacer(cfnPartition, vals["AWS::Partition"], cfnRegion, vals["AWS::Region"], cfnAccount, vals["AWS::AccountId"]).Replace(s)
		switch v := cfnString(s).(type) {
		case string:
			if v != s || want != s {
				t.Fatalf("%q left plain as %q, but it names a pseudo parameter", s, v)
			}
		case map[string]any:
			if got := evalSub(v["Fn::Sub"].(string), vals); got != want {
				t.Fatalf("%q: Fn::Sub %q evaluates to %q, want %q", s, v["Fn::Sub"], got, want)
			}
		}
	})
}

// CloudFormation's own rules (cfn-lint) accept what iam-policy prints:
// resource types, properties and the pseudo parameters Fn::Sub names. And
// the linter does catch a misspelt one, so its verdict means something.
func TestIAMPolicyCloudFormationLints(t *testing.T) {
	lint := testenv.CFNLint(t)
	dir := t.TempDir()
	own := filepath.Join(dir, "policies.yaml")
	if err := os.WriteFile(own, []byte(cfnPoliciesYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	var last []byte
	for _, path := range []string{"../../deploy/sam/policies.yaml", "../../policies.example.yaml", own} {
		var out, errb bytes.Buffer
		e := &env{stdout: &out, stderr: &errb, getenv: func(string) string { return "" }, logger: slog.New(slog.NewTextHandler(&errb, nil))}
		if code := run(context.Background(), e, []string{"iam-policy", "-c", path, "--format", "cloudformation"}); code != exitOK {
			t.Fatalf("%s: exit %d: %s", path, code, errb.String())
		}
		if err := lint(out.Bytes()); err != nil {
			t.Errorf("%s: %v", path, err)
		}
		last = out.Bytes()
	}
	bad := bytes.Replace(last, []byte("${AWS::Region}"), []byte("${AWS::Regio}"), 1)
	if err := lint(bad); err == nil || !strings.Contains(err.Error(), "AWS::Regio") {
		t.Errorf("a misspelt pseudo parameter passed the linter: %v", err)
	}
}
