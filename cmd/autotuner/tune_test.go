package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/autotuner/autotuner/config"
)

func TestTuneCommand(t *testing.T) {
	out := filepath.Join(t.TempDir(), "tuned.yaml")
	code, stdout, stderr := cli(t, "tune", "--scenario", "steady", "--target", "orders-fn", "--budget", "0", "--max-evals", "12", "--holdout", "25%", "--out", out)
	if code != exitOK {
		t.Fatalf("exit %d: %s%s", code, stdout, stderr)
	}
	for _, want := range []string{"trained on the first 1h30m0s, validated on the last 30m0s", "12 simulations, stopped: evaluation cap", "defaults", "best"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "Paste in place") != strings.Contains(stdout, "# target orders-fn\npolicy:\n  autotuner:\n") {
		t.Errorf("a paste hint without its snippet, or the reverse:\n%s", stdout)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := config.Parse(out, b); err != nil {
		t.Errorf("the tuned file does not parse: %v", err)
	}
	if stderr != "" {
		t.Errorf("stderr when piped (no progress bar wanted): %q", stderr)
	}
}

func TestTuneUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"tune"}, "--scenario is required"},
		{[]string{"tune", "--scenario", "steady", "--weights", "latency=1"}, "unknown KPI"},
		{[]string{"tune", "--scenario", "steady", "--holdout", "30"}, "percentage"},
		{[]string{"tune", "--scenario", "steady", "--budget", "0"}, "--budget or --max-evals"},
		{[]string{"tune", "--scenario", "nope"}, "not a built-in scenario"},
		{[]string{"tune", "--scenario", "steady", "--parallel", "0"}, "--parallel must be at least 1"},
	} {
		code, _, stderr := cli(t, tc.args...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
}
