package main

import (
	"strings"
	"testing"
)

func TestExplainPrintsThePreset(t *testing.T) {
	code, out, errs := cli(t, "explain", "-c", example, "checkout")
	if code != exitOK || errs != "" {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	for _, want := range []string{
		"# ../../policies.example.yaml, target checkout: function checkout",
		"busy: {namespace: AWS/Lambda, metric: ConcurrentExecutions, dimensions: {FunctionName: checkout}, stat: Maximum}",
		"throttles: {signal: throttles, requests: invocations}",
		"region: us-east-1 # from defaults",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestExplainUnknownTarget(t *testing.T) {
	code, out, errs := cli(t, "explain", "-c", example, "nope")
	if code != exitUsage || out != "" || !strings.Contains(errs, `no target named "nope" (targets: checkout, orders-consumer`) {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errs)
	}
}
