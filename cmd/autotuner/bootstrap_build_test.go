package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// buildBootstrap compiles this command as a stripped, static binary (as
// a release or the container image does), for the host's architecture.
func buildBootstrap(t testing.TB) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go toolchain on PATH to build the binary")
	}
	out := filepath.Join(t.TempDir(), "autotuner")
	cmd := exec.Command(goBin, "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags", "-s -w", "-o", out, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	return out
}
