package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/autotuner/autotuner/daemon/daemontest"
	"github.com/autotuner/autotuner/lambdamode"
)

func lambdaEnv(vars map[string]string) (*env, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	return &env{stdout: &out, stderr: &errb, getenv: func(k string) string { return vars[k] }, logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, &out, &errb
}

func TestLambdaLocalEvent(t *testing.T) {
	act := &daemontest.Actuator{Initial: 10}
	fakeBackend(t, &daemontest.Sensor{Value: 20}, act)
	policies, _ := filepath.Abs("../../testdata/events/policies.yaml")
	e, out, errb := lambdaEnv(map[string]string{envPolicies: policies, "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"})
	statePath := filepath.Join(t.TempDir(), "s.json")
	code := run(context.Background(), e, []string{"lambda", "--event", "../../testdata/events/direct.json", "--state", statePath})
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var resp lambdamode.Response
	if err := json.Unmarshal(out.Bytes(), &resp); err != nil {
		t.Fatalf("stdout is not the response alone: %v\n%s", err, out.String())
	}
	if resp.Event != lambdamode.KindDirect || resp.Evaluated != 1 || resp.Decisions[0].Mode != "dry-run" || len(act.Changes()) != 0 {
		t.Errorf("response %+v, changes %v", resp, act.Changes())
	}
	if !strings.Contains(errb.String(), `"CloudWatchMetrics"`) {
		t.Error("local mode should write its EMF lines to stderr")
	}

	code = run(context.Background(), e, []string{"lambda", "--event", "../../testdata/events/unknown.json", "--state", statePath})
	if code != exitFailure || !strings.Contains(errb.String(), "unsupported EventBridge event") {
		t.Errorf("unknown event: exit %d, stderr %s", code, errb.String())
	}
}

func TestLambdaChosenFromTheEnvironment(t *testing.T) {
	var started *lambdamode.Handler
	prev := startLambda
	startLambda = func(_ context.Context, h *lambdamode.Handler) { started = h }
	t.Cleanup(func() { startLambda = prev })
	policies, _ := filepath.Abs("../../testdata/events/policies.yaml")
	e, _, errb := lambdaEnv(map[string]string{
		"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001", envPolicies: policies, envStateTable: "t", "AWS_REGION": "us-east-1",
	})
	if code := run(context.Background(), e, nil); code != exitOK || started == nil {
		t.Fatalf("exit %d, started %v: %s", code, started != nil, errb.String())
	}
	// Without a state table the function refuses to start.
	e, _, errb = lambdaEnv(map[string]string{"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001", envPolicies: policies})
	if code := run(context.Background(), e, nil); code != exitFailure || !strings.Contains(errb.String(), envStateTable) {
		t.Errorf("no table: exit %d, stderr %s", code, errb.String())
	}
	// A broken policies file in the package fails the init, every error shown.
	e, _, errb = lambdaEnv(map[string]string{"AWS_LAMBDA_RUNTIME_API": "x", envPolicies: "../../testdata/events/scheduled.json", envStateTable: "t", "AWS_REGION": "us-east-1"})
	if code := run(context.Background(), e, nil); code != exitFailure || !strings.Contains(errb.String(), "scheduled.json:") {
		t.Errorf("bad policies: exit %d, stderr %s", code, errb.String())
	}
}
