package boot_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/daemon/daemontest"
	"github.com/autotuner/autotuner/internal/awswire"
	"github.com/autotuner/autotuner/lambdamode"
	"github.com/autotuner/autotuner/lambdamode/boot"
)

func testEnv(vars map[string]string) (boot.Env, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	return boot.Env{Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return vars[k] }, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, &out, &errb
}

func fakeBackend(s *daemontest.Sensor, a *daemontest.Actuator) boot.BackendFunc {
	return func(context.Context, *config.File) (*awswire.Backend, error) {
		return &awswire.Backend{Sensor: s, Actuators: daemontest.Actuators(a)}, nil
	}
}

func policiesPath(t *testing.T) string {
	p, err := filepath.Abs("../../testdata/events/policies.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// One event handled here: the response alone on stdout, the EMF lines on
// stderr, and an unknown event refused with exit 1.
func TestCommandLocalEvent(t *testing.T) {
	act := &daemontest.Actuator{Initial: 10}
	c := boot.Command{Name: "autotuner-lambda", Options: boot.Options{Backend: fakeBackend(&daemontest.Sensor{Value: 20}, act)}}
	e, out, errb := testEnv(map[string]string{boot.EnvPolicies: policiesPath(t), "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"})
	statePath := filepath.Join(t.TempDir(), "s.json")
	if code := c.Run(context.Background(), e, []string{"--event", "../../testdata/events/direct.json", "--state", statePath}); code != boot.ExitOK {
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
	if code := c.Run(context.Background(), e, []string{"--event", "../../testdata/events/unknown.json", "--state", statePath}); code != boot.ExitFailure ||
		!strings.Contains(errb.String(), "unsupported EventBridge event") {
		t.Errorf("unknown event: exit %d, stderr %s", code, errb.String())
	}
}

// Inside Lambda the runtime is served; a missing table, a bad variable or
// a broken packaged policies file fails the init phase, saying which.
func TestCommandServesOrRefusesToStart(t *testing.T) {
	var started *lambdamode.Handler
	c := boot.Command{Name: "bootstrap", Serve: func(_ context.Context, h *lambdamode.Handler) { started = h }}
	inLambda := func(extra map[string]string) map[string]string {
		m := map[string]string{"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001", boot.EnvPolicies: policiesPath(t), boot.EnvStateTable: "t", "AWS_REGION": "us-east-1"}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	e, _, errb := testEnv(inLambda(nil))
	if code := c.Run(context.Background(), e, nil); code != boot.ExitOK || started == nil {
		t.Fatalf("exit %d, started %v: %s", code, started != nil, errb.String())
	}
	for _, tc := range []struct {
		name string
		vars map[string]string
		want string
		code int
	}{
		{"no table", map[string]string{boot.EnvStateTable: ""}, boot.EnvStateTable + " is not set", boot.ExitFailure},
		{"bad duration", map[string]string{boot.EnvLeaseTTL: "soon"}, boot.EnvLeaseTTL + `="soon"`, boot.ExitFailure},
		{"bad dry run", map[string]string{boot.EnvDryRun: "maybe"}, boot.EnvDryRun + `="maybe": want true or false`, boot.ExitFailure},
		{"broken policies", map[string]string{boot.EnvPolicies: "../../testdata/events/scheduled.json"}, "scheduled.json:", boot.ExitFailure},
		{"outside Lambda", map[string]string{"AWS_LAMBDA_RUNTIME_API": ""}, "not inside AWS Lambda", boot.ExitUsage},
	} {
		e, _, errb := testEnv(inLambda(tc.vars))
		if code := c.Run(context.Background(), e, nil); code != tc.code || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit %d saying %q", tc.name, code, errb.String(), tc.code, tc.want)
		}
	}
	e, _, _ = testEnv(nil)
	if code := c.Run(context.Background(), e, []string{"--no-such-flag"}); code != boot.ExitUsage {
		t.Errorf("bad flag: exit %d", code)
	}
}
