package config

import (
	"errors"
	"strings"
	"testing"
)

func TestLoadExample(t *testing.T) {
	f, err := Load("../policies.example.yaml")
	if err != nil {
		t.Fatalf("example does not load:\n%v", err)
	}
	if len(f.Targets) != 4 {
		t.Fatalf("targets = %d, want 4", len(f.Targets))
	}
	for _, tg := range f.Targets {
		if tg.Engine == nil || tg.Engine.Rec == nil {
			t.Errorf("%s: no engine", tg.Name)
		}
	}
}

func TestErrorsArePositioned(t *testing.T) {
	src := `version: 1
targets:
  - name: a
    kind: lambda-reserved-concurrency
    function: f
    min: 1
    max: 10
    signals:
      busy: {namespace: AWS/Lambda, metric: ConcurrentExecutions, stat: Maximum}
    policy:
      autotuner:
        utilization: {signal: busy, target: 70%}
        pid: {kp: -0.3}
        bogus: 1
`
	_, err := Parse("p.yaml", []byte(src))
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("err = %v", err)
	}
	got := err.Error()
	for _, want := range []string{
		"p.yaml:13:19: targets[0].policy.autotuner.pid.kp: must be >= 0, got -0.3",
		"p.yaml:14:9: targets[0].policy.autotuner.bogus: unknown key",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
}
