package main

import (
	"encoding/json"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/awslabs/goformation/v7"
	"github.com/awslabs/goformation/v7/intrinsics"
	"github.com/google/go-cmp/cmp"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/state"
)

// openTemplate parses deploy/sam/template.yaml. References to resources
// become "ref:Name" and "getatt:Name.Attr", so the test can check what
// points where; pseudo parameters resolve to goformation's defaults
// (account 123456789012, region us-east-1).
func openTemplate(t *testing.T) map[string]any {
	t.Helper()
	opts := &intrinsics.ProcessorOptions{IntrinsicHandlerOverrides: map[string]intrinsics.IntrinsicHandler{
		"Ref": func(name string, in, tmpl any) any {
			if v := intrinsics.Ref(name, in, tmpl); v != nil {
				return v
			}
			if s, ok := in.(string); ok {
				return "ref:" + s
			}
			return nil
		},
		"Fn::GetAtt": func(_ string, in, _ any) any {
			switch v := in.(type) {
			case string: // the short form, !GetAtt Name.Attr
				return "getatt:" + v
			case []any:
				if len(v) == 2 {
					return "getatt:" + v[0].(string) + "." + v[1].(string)
				}
			}
			return nil
		},
	}}
	b, err := os.ReadFile("../../deploy/sam/template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// goformation's SAM schema predates the function's LoggingConfig and
	// refuses it; TestSAMTemplateLoggingAndAlarms checks it on the raw form.
	b = regexp.MustCompile(`(?m)^      LoggingConfig:\n(        .*\n)+`).ReplaceAll(b, nil)
	tmpl, err := goformation.ParseYAMLWithOptions(b, opts)
	if err != nil {
		t.Fatal(err)
	}
	// Typed access checks that goformation understands every resource.
	fn, err := tmpl.GetServerlessFunctionWithName("AutotunerFunction")
	if err != nil {
		t.Fatal(err)
	}
	if got := *fn.Runtime + " " + strings.Join(fn.Architectures, ",") + " " + *fn.Handler; got != "provided.al2023 arm64 bootstrap" {
		t.Errorf("function runtime/arch/handler = %q", got)
	}
	if fn.ReservedConcurrentExecutions == nil || *fn.ReservedConcurrentExecutions != 1 {
		t.Error("the function must run one invocation at a time")
	}
	if _, err := tmpl.GetIAMRoleWithName("AutotunerRole"); err != nil {
		t.Fatal(err)
	}
	if _, err := tmpl.GetDynamoDBTableWithName("StateTable"); err != nil {
		t.Fatal(err)
	}
	if _, err := tmpl.GetSQSQueueWithName("FailureQueue"); err != nil {
		t.Fatal(err)
	}
	// The rest is checked on the generic form, which keeps everything
	// else.
	b, err = tmpl.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// get walks a path of map keys and list indexes.
func get(t *testing.T, v any, path ...any) any {
	t.Helper()
	for _, p := range path {
		switch k := p.(type) {
		case string:
			mm, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("at %v: not a map: %v", path, v)
			}
			v = mm[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				t.Fatalf("at %v: not a list of %d: %v", path, k+1, v)
			}
			v = l[k]
		}
	}
	return v
}

func TestSAMTemplate(t *testing.T) {
	m := openTemplate(t)
	res := func(name string) map[string]any { return get(t, m, "Resources", name).(map[string]any) }

	fn := res("AutotunerFunction")
	if get(t, fn, "Metadata", "BuildMethod") != "makefile" || get(t, fn, "Metadata", "BuildArchitecture") != "arm64" {
		t.Errorf("function build metadata: %v", fn["Metadata"])
	}
	props := get(t, fn, "Properties").(map[string]any)
	for k, want := range map[string]any{
		"Role": "getatt:AutotunerRole.Arn",
	} {
		if props[k] != want {
			t.Errorf("function %s = %v, want %v", k, props[k], want)
		}
	}
	env := get(t, props, "Environment", "Variables").(map[string]any)
	if env[envStateTable] != "ref:StateTable" || env[envPolicies] != "policies.yaml" || env[envDryRun] != "true" {
		t.Errorf("function environment: %v", env)
	}
	if get(t, props, "EventInvokeConfig", "DestinationConfig", "OnFailure", "Destination") != "getatt:FailureQueue.Arn" {
		t.Error("failed invocations do not go to the failure queue")
	}
	events := get(t, props, "Events").(map[string]any)
	if get(t, events, "Tick", "Type") != "Schedule" || get(t, events, "Tick", "Properties", "Schedule") != "rate(1 minute)" {
		t.Errorf("schedule event: %v", events["Tick"])
	}
	alarm := get(t, events, "AlarmStateChange")
	if get(t, alarm, "Type") != "EventBridgeRule" ||
		get(t, alarm, "Properties", "Pattern", "source", 0) != "aws.cloudwatch" ||
		get(t, alarm, "Properties", "Pattern", "detail-type", 0) != "CloudWatch Alarm State Change" {
		t.Errorf("alarm rule: %v", alarm)
	}

	// The state table has the keys and TTL attribute the store uses.
	table := get(t, res("StateTable"), "Properties")
	want := state.CreateTableInput("x")
	for i, k := range want.KeySchema {
		if get(t, table, "KeySchema", i, "AttributeName") != *k.AttributeName || get(t, table, "KeySchema", i, "KeyType") != string(k.KeyType) {
			t.Errorf("key %d: %v", i, get(t, table, "KeySchema"))
		}
	}
	if get(t, table, "TimeToLiveSpecification", "AttributeName") != "expires_at" || get(t, table, "BillingMode") != "PAY_PER_REQUEST" {
		t.Errorf("table: %v", table)
	}

	// The role: the targets' statements are what iam-policy prints for
	// the deployed policies file, and the runtime's cover every DynamoDB
	// call the store and the lease make.
	policies := get(t, res("AutotunerRole"), "Properties", "Policies").([]any)
	docs := map[string]any{}
	for _, p := range policies {
		docs[get(t, p, "PolicyName").(string)] = get(t, p, "PolicyDocument")
	}
	f, err := config.Load("../../deploy/sam/policies.yaml")
	if err != nil {
		t.Fatal(err)
	}
	printed, _ := json.Marshal(cfnDocument(buildIAMPolicy(f, cfnRegion, cfnAccount)))
	var wantDoc any
	json.Unmarshal(printed, &wantDoc)
	if diff := cmp.Diff(wantDoc, rawPolicy(t, "AutotunerTargets")); diff != "" {
		t.Errorf("AutotunerTargets differs from `autotuner iam-policy -c deploy/sam/policies.yaml --format cloudformation` (-printed +template):\n%s", diff)
	}
	var stateActions []string
	for _, st := range get(t, docs["AutotunerRuntime"], "Statement").([]any) {
		switch get(t, st, "Sid") {
		case "StateTable":
			if get(t, st, "Resource", 0) != "getatt:StateTable.Arn" {
				t.Errorf("state statement resource: %v", st)
			}
			for _, a := range get(t, st, "Action").([]any) {
				stateActions = append(stateActions, a.(string))
			}
		case "FailureDestination":
			if get(t, st, "Resource", 0) != "getatt:FailureQueue.Arn" || get(t, st, "Action", 0) != "sqs:SendMessage" {
				t.Errorf("failure statement: %v", st)
			}
		}
	}
	api := reflect.TypeFor[state.DynamoDBAPI]()
	for i := range api.NumMethod() {
		if a := "dynamodb:" + api.Method(i).Name; !slices.Contains(stateActions, a) {
			t.Errorf("the role lacks %s, which the state store calls", a)
		}
	}
}

func TestSAMMakefileBuildsArm64Bootstrap(t *testing.T) {
	b, err := os.ReadFile("../../deploy/sam/Makefile")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"build-AutotunerFunction:", "GOARCH=arm64", "CGO_ENABLED=0", "-o $(ARTIFACTS_DIR)/bootstrap ./cmd/autotuner-lambda", "deploy/sam/policies.yaml $(ARTIFACTS_DIR)/policies.yaml"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("Makefile lacks %q", want)
		}
	}
}

func TestDaemonDeployFiles(t *testing.T) {
	unit, err := os.ReadFile("../../deploy/systemd/autotuner.service")
	if err != nil {
		t.Fatal(err)
	}
	docker, err := os.ReadFile("../../deploy/docker/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	for file, wants := range map[string][]string{
		string(unit):   {"ExecStart=/usr/local/bin/autotuner run ", "--listen 127.0.0.1:", "ExecReload=/bin/kill -HUP $MAINPID", "KillSignal=SIGTERM", "StateDirectory=autotuner", "DynamicUser=yes"},
		string(docker): {"FROM gcr.io/distroless/static", "CGO_ENABLED=0", "./cmd/autotuner", "USER 65532", `ENTRYPOINT ["/usr/local/bin/autotuner"]`, `"run"`},
	} {
		for _, w := range wants {
			if !strings.Contains(file, w) {
				t.Errorf("%q missing from:\n%s", w, file)
			}
		}
	}
	// The unit's and the container's flags must be flags the daemon
	// accepts; the container listens beyond loopback, so it must say so.
	cmdlines := []string{}
	for _, line := range strings.Split(string(unit), "\n") {
		if cmdline, ok := strings.CutPrefix(line, "ExecStart=/usr/local/bin/autotuner "); ok {
			cmdlines = append(cmdlines, cmdline)
		}
	}
	for _, line := range strings.Split(string(docker), "\n") {
		if argv, ok := strings.CutPrefix(line, "CMD "); ok {
			var args []string
			if err := json.Unmarshal([]byte(argv), &args); err != nil {
				t.Fatalf("Dockerfile CMD: %v", err)
			}
			if !slices.Contains(args, "--listen-public") {
				t.Errorf("the container listens on %q without --listen-public, which run refuses", args)
			}
			cmdlines = append(cmdlines, strings.Join(args, " "))
		}
	}
	for _, cmdline := range cmdlines {
		args := strings.Fields(cmdline)
		fs := newFlags(&env{stderr: &strings.Builder{}}, "run", "")
		newRunFlags(fs)
		if err := fs.Parse(args[1:]); err != nil {
			t.Errorf("ExecStart flags: %v", err)
		}
	}
}
