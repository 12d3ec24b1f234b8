package main

import (
	"encoding/json"
	"os"
	"regexp"
	"testing"

	"github.com/awslabs/goformation/v7/intrinsics"
	"github.com/google/go-cmp/cmp"

	"github.com/autotuner/autotuner/lambdamode"
)

// rawTemplate reads deploy/sam/template.yaml with every intrinsic function
// left as written (short forms turned into their long forms).
func rawTemplate(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile("../../deploy/sam/template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	j, err := intrinsics.ProcessYAML(b, &intrinsics.ProcessorOptions{NoProcess: true})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(j, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// rawPolicy is the document of one of the role's inline policies.
func rawPolicy(t *testing.T, name string) any {
	t.Helper()
	for _, p := range get(t, rawTemplate(t), "Resources", "AutotunerRole", "Properties", "Policies").([]any) {
		if get(t, p, "PolicyName") == name {
			return get(t, p, "PolicyDocument")
		}
	}
	t.Fatalf("the role has no policy %s", name)
	return nil
}

// strings calls f with every string in v, keys excluded.
func eachString(v any, f func(string)) {
	switch x := v.(type) {
	case string:
		f(x)
	case []any:
		for _, e := range x {
			eachString(e, f)
		}
	case map[string]any:
		for _, e := range x {
			eachString(e, f)
		}
	}
}

// One template for every partition, region and account: no ARN, region
// or account id written out, no resource named by hand (the names of a
// StackSet's stacks in one account and region would collide), so that a
// StackSet can deploy it anywhere.
func TestSAMTemplateAnyPartitionRegionAccount(t *testing.T) {
	m := rawTemplate(t)
	hardCoded := regexp.MustCompile(`arn:aws[a-z-]*:|\b[a-z]{2}(-gov)?-[a-z]+-\d\b|\b\d{12}\b`)
	eachString(m["Resources"], func(s string) {
		if hardCoded.MatchString(s) {
			t.Errorf("the template writes out a partition, region or account: %q", s)
		}
	})
	for name, r := range get(t, m, "Resources").(map[string]any) {
		props, _ := get(t, r, "Properties").(map[string]any)
		for _, k := range []string{"FunctionName", "TableName", "QueueName", "RoleName", "AlarmName", "LogGroupName", "Name", "ManagedPolicyName"} {
			if _, ok := props[k]; ok {
				t.Errorf("%s sets %s: stacks of a StackSet in one account and region would collide", name, k)
			}
		}
	}
}

// The function logs JSON to the stack's own log group, and two alarms
// watch what needs a person: the failure queue, and the function's
// NeedsAttention metric in the namespace the function writes to.
func TestSAMTemplateLoggingAndAlarms(t *testing.T) {
	m := rawTemplate(t)
	res := func(name string) any { return get(t, m, "Resources", name) }
	props := get(t, res("AutotunerFunction"), "Properties")
	want := map[string]any{"LogFormat": "JSON", "LogGroup": map[string]any{"Ref": "AutotunerLogs"}}
	if diff := cmp.Diff(want, get(t, props, "LoggingConfig")); diff != "" {
		t.Errorf("LoggingConfig (-want +got):\n%s", diff)
	}
	if get(t, res("AutotunerLogs"), "Type") != "AWS::Logs::LogGroup" || get(t, res("AutotunerLogs"), "Properties", "RetentionInDays") == nil {
		t.Errorf("log group: %v", res("AutotunerLogs"))
	}
	ns := map[string]any{"Ref": "MetricsNamespace"}
	if diff := cmp.Diff(ns, get(t, props, "Environment", "Variables", "AUTOTUNER_METRICS_NAMESPACE")); diff != "" {
		t.Errorf("the function's metrics namespace: %s", diff)
	}
	if d := get(t, m, "Parameters", "MetricsNamespace", "Default"); d != lambdamode.DefaultNamespace {
		t.Errorf("MetricsNamespace default %v, want the function's own %q", d, lambdamode.DefaultNamespace)
	}

	queue := get(t, res("FailureQueueAlarm"), "Properties")
	dim := get(t, queue, "Dimensions", 0, "Value")
	if get(t, queue, "Namespace") != "AWS/SQS" || get(t, queue, "MetricName") != "ApproximateNumberOfMessagesVisible" ||
		get(t, queue, "Dimensions", 0, "Name") != "QueueName" || !cmp.Equal(dim, map[string]any{"Fn::GetAtt": []any{"FailureQueue", "QueueName"}}) && !cmp.Equal(dim, map[string]any{"Fn::GetAtt": "FailureQueue.QueueName"}) {
		t.Errorf("failure queue alarm: %v", queue)
	}
	human := get(t, res("NeedsAttentionAlarm"), "Properties")
	if !cmp.Equal(get(t, human, "Namespace"), ns) || get(t, human, "MetricName") != lambdamode.MetricNeedsAttention || get(t, human, "Statistic") != "Sum" {
		t.Errorf("needs-attention alarm: %v", human)
	}
	for _, a := range []any{queue, human} {
		if get(t, a, "Threshold") != 1.0 || get(t, a, "ComparisonOperator") != "GreaterThanOrEqualToThreshold" || get(t, a, "TreatMissingData") != "notBreaching" {
			t.Errorf("alarm fires on anything but one or more: %v", a)
		}
		if get(t, a, "AlarmActions", "Fn::If", 0) != "HasAlarmTopic" {
			t.Errorf("alarm notifies no topic: %v", a)
		}
	}
}
