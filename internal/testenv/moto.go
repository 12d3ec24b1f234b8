package testenv

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// MotoStartEnv names the script that unpacks and starts moto; `make test`
// sets it to ../shared/emulators/start-moto.sh, which is also the default.
const MotoStartEnv = "AUTOTUNER_MOTO_START"

func motoScript(t testing.TB) string {
	if p := os.Getenv(MotoStartEnv); p != "" {
		return p
	}
	return filepath.Join(RepoRoot(t), "..", "shared", "emulators", "start-moto.sh")
}

// Moto starts moto, a third-party AWS emulator, on a free loopback port and
// returns its endpoint URL; it is stopped when the test ends. It serves as
// a second, independent opinion beside the wire fakes (see the script's
// header for where it differs from AWS).
func Moto(t testing.TB) string {
	t.Helper()
	script := motoScript(t)
	if _, err := os.Stat(script); err != nil {
		Unavailable(t, "moto's start script is not at %s (set %s)", script, MotoStartEnv)
	}
	if _, err := exec.LookPath("python3"); err != nil {
		Unavailable(t, "python3 is not installed (moto runs on it)")
	}
	port := FreePort(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "bash", script, strconv.Itoa(port)).CombinedOutput()
	if err != nil {
		Unavailable(t, "moto did not start: %v\n%s", err, out)
	}
	// The script prints its pid on the last line; moto runs in its own
	// session, so it is stopped by that pid.
	var last string
	for sc := bufio.NewScanner(bytes.NewReader(out)); sc.Scan(); {
		if s := strings.TrimSpace(sc.Text()); s != "" {
			last = s
		}
	}
	pid, err := strconv.Atoi(last)
	if err != nil {
		t.Fatalf("moto's start script did not end with a pid: %q", out)
	}
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGTERM) })
	return fmt.Sprintf("http://127.0.0.1:%d", port)
}
