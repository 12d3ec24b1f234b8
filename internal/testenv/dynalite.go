package testenv

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// RepoRoot finds the module root from the test's working directory.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("testenv: no go.mod above the test's directory")
		}
		dir = parent
	}
}

// Required reports whether missing emulators fail tests (CI) or skip them.
func Required() bool { return os.Getenv("AUTOTUNER_REQUIRE_EMULATORS") == "1" }

// Unavailable skips the test, or fails it when emulators are required.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if Required() {
		t.Fatalf("emulator required but unavailable: %s", msg)
	}
	recordSkip(msg)
	t.Skipf("skipping: %s", msg)
}

// FreePort returns a free TCP port on 127.0.0.1.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// DynaliteOptions tune the emulator.
type DynaliteOptions struct {
	// UpdateTableMs is how long a table stays UPDATING after UpdateTable.
	UpdateTableMs int
}

// Dynalite starts a fresh in-memory dynalite on 127.0.0.1 and returns its
// endpoint URL. It is stopped when the test ends. Install it with
// `npm ci --prefix tools/dynalite` (.ci/run does).
func Dynalite(t testing.TB, o DynaliteOptions) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		Unavailable(t, "node is not installed (dynalite runs on Node.js)")
	}
	cli := filepath.Join(RepoRoot(t), "tools", "dynalite", "node_modules", "dynalite", "cli.js")
	if _, err := os.Stat(cli); err != nil {
		Unavailable(t, "dynalite is not installed; run: npm ci --prefix tools/dynalite")
	}
	// The port is free when FreePort looks, but another process (a test
	// binary running in parallel) may take it before dynalite binds: that
	// start exits before listening, and a fresh port is tried.
	var last string
	for attempt := 0; attempt < 3; attempt++ {
		port := FreePort(t)
		switch out, err := startDynalite(t, node, cli, port, o); {
		case err == nil:
			return fmt.Sprintf("http://127.0.0.1:%d", port)
		case errors.Is(err, errExitedEarly):
			last = out
		default:
			t.Fatal(err)
		}
	}
	t.Fatalf("dynalite exited before listening, three times; its last output:\n%s", last)
	return ""
}

var errExitedEarly = errors.New("dynalite exited before listening")

// startDynalite starts dynalite on port and waits until it listens. It
// returns errExitedEarly, with what dynalite printed, when it stopped
// first. A started dynalite is stopped when the test ends.
func startDynalite(t testing.TB, node, cli string, port int, o DynaliteOptions) (string, error) {
	args := []string{cli, "--host", "127.0.0.1", "--port", strconv.Itoa(port)}
	if o.UpdateTableMs > 0 {
		args = append(args, "--updateTableMs", strconv.Itoa(o.UpdateTableMs))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, node, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		return "", err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		cancel()
		return "", fmt.Errorf("starting dynalite: %w", err)
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
	})
	// dynalite announces itself once it listens; wait for that line, with
	// a deadline so a broken install cannot hang the suite.
	type result struct {
		printed string
		err     error
	}
	ready := make(chan result, 1)
	go func() {
		var printed strings.Builder
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "listening at") {
				ready <- result{}
				for sc.Scan() { // drain so the child never blocks on a full pipe
				}
				return
			}
			if printed.Len() < 4096 {
				printed.WriteString(sc.Text() + "\n")
			}
		}
		ready <- result{printed.String(), errExitedEarly}
	}()
	select {
	case r := <-ready:
		return r.printed, r.err
	case <-time.After(30 * time.Second):
		return "", errors.New("dynalite did not start within 30s")
	}
}
