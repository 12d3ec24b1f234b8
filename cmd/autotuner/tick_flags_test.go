package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/autotuner/autotuner/internal/awsfake"
)

// plan changes nothing and records nothing; flags that say otherwise are
// refused, with the reason, instead of being silently ignored.
func TestPlanRefusesDryRunAndAudit(t *testing.T) {
	cfg := filepath.Join("..", "..", "policies.example.yaml")
	for _, args := range [][]string{
		{"plan", "-c", cfg, "--dry-run"},
		{"plan", "-c", cfg, "--audit", filepath.Join(t.TempDir(), "a.jsonl")},
		{"plan", cfg},
		{"once", "-c", cfg, "extra"},
	} {
		var out, errb bytes.Buffer
		if code := run(context.Background(), testEnv(&out, &errb), args); code != exitUsage {
			t.Errorf("%q: exit %d, want %d", args, code, exitUsage)
		}
		if msg := errb.String(); !strings.Contains(msg, "--dry-run and --audit are for once") && !strings.Contains(msg, "unexpected arguments") {
			t.Errorf("%q: stderr %q does not say what was wrong", args, msg)
		}
	}
}

// A target whose value could not be read shows "-", not 0, as its current
// and final value: 0 would read as a stopped function.
func TestPlanShowsNoValueWhenTheReadFailed(t *testing.T) {
	fake := exampleFake(t)
	fake.Fail("GetFunction", awsfake.APIError{Status: 403, Code: "AccessDeniedException", Message: "not authorized"})
	cfg := filepath.Join("..", "..", "policies.example.yaml")
	var out, errb bytes.Buffer
	args := []string{"plan", "-c", cfg, "--state", filepath.Join(t.TempDir(), "s.json"), "--targets", "orders-consumer"}
	if code := run(context.Background(), testEnv(&out, &errb), args); code != exitFailure {
		t.Fatalf("exit %d, want %d\n%s%s", code, exitFailure, out.String(), errb.String())
	}
	lines := strings.Split(out.String(), "\n")
	if len(lines) < 2 {
		t.Fatalf("output:\n%s", out.String())
	}
	row := strings.Fields(lines[1])
	// TARGET MODE CURRENT PROPOSED FINAL ACTION ...
	if len(row) < 6 || row[0] != "orders-consumer" || row[2] != "-" || row[4] != "-" || row[5] != "error" {
		t.Errorf("row %q: want CURRENT and FINAL \"-\" and ACTION error\n%s", row, out.String())
	}
	if !strings.Contains(out.String(), "read error (permission)") {
		t.Errorf("the error is not explained:\n%s", out.String())
	}
}
