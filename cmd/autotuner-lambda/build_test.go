package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// buildBootstrap compiles this command the way deploy/sam/Makefile does,
// for the host's architecture unless goarch says otherwise.
func buildBootstrap(t testing.TB, goarch string) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go toolchain on PATH to build the bootstrap")
	}
	out := filepath.Join(t.TempDir(), "bootstrap")
	cmd := exec.Command(goBin, "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags", "-s -w", "-o", out, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if goarch != "" {
		cmd.Env = append(cmd.Env, "GOOS=linux", "GOARCH="+goarch)
	}
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	return out
}

// The bootstrap holds the Lambda mode alone: neither the simulator nor
// plotting (gonum/plot and its fonts), nor the daemon's HTTP server and
// Prometheus client, nor the CLI's terminal and template tooling. Each of
// them once made the function's package three times larger.
func TestImportGraphIsLambdaOnly(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go toolchain on PATH to list the imports")
	}
	out, err := exec.Command(goBin, "list", "-tags", "lambda.norpc", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 50 || !contains(deps, "github.com/autotuner/autotuner/lambdamode/boot") {
		t.Fatalf("go list -deps printed %d packages, without lambdamode/boot: %v", len(deps), deps)
	}
	forbidden := []string{
		"gonum.org/v1/plot",
		"github.com/autotuner/autotuner/sim",
		"github.com/autotuner/autotuner/daemon",
		"github.com/autotuner/autotuner/cmd/autotuner",
		"github.com/prometheus/",
		"github.com/awslabs/goformation",
		"golang.org/x/term",
	}
	for _, d := range deps {
		for _, f := range forbidden {
			if d == f || strings.HasPrefix(d, strings.TrimSuffix(f, "/")+"/") {
				t.Errorf("the Lambda bootstrap imports %s", d)
			}
		}
	}
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// maxBootstrapBytes bounds the linux/arm64 bootstrap deploy/sam ships (15.7 MiB now);
// docs/operations.md gives the measured size. Raise it only for a
// dependency the function truly needs.
const maxBootstrapBytes = 17 << 20

func TestBootstrapSize(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the arm64 bootstrap")
	}
	fi, err := os.Stat(buildBootstrap(t, "arm64"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("linux/arm64 bootstrap: %d bytes (%.2f MiB)", fi.Size(), float64(fi.Size())/(1<<20))
	if fi.Size() > maxBootstrapBytes {
		t.Errorf("the linux/arm64 bootstrap is %d bytes, over the %d bound", fi.Size(), maxBootstrapBytes)
	}
}
