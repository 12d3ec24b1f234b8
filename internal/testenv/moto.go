package testenv

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// MotoURLEnv names an already running moto to use instead of starting one
// (for example one that a developer keeps running between test runs).
const MotoURLEnv = "AUTOTUNER_MOTO_URL"

// MotoScriptEnv overrides where start-moto.sh is; by default it is
// ../shared/emulators/start-moto.sh beside the module root.
const MotoScriptEnv = "AUTOTUNER_MOTO_SCRIPT"

// motoStartTimeout bounds the start script, which may install moto's
// Python dependencies from the distribution's packages on first use.
const motoStartTimeout = 8 * time.Minute

// moto is the one emulator a test binary shares: starting moto costs
// seconds, so it starts on first use and stops when the binary's tests end.
var moto struct {
	mu      sync.Mutex
	inMain  bool   // RunWithMoto is running the tests
	started bool   // a start was tried
	url     string // its endpoint, once up
	pid     int    // the process started here, 0 for one found by MotoURLEnv
	home    string // its MOTO_HOME, removed when it stops
	err     string // why it is unavailable
}

// RunWithMoto runs a test binary's tests and then stops the moto that any
// of them started. A package whose tests call Moto must use it:
//
//	func TestMain(m *testing.M) { os.Exit(testenv.RunWithMoto(m)) }
func RunWithMoto(m *testing.M) int { return Wrap(m).Run() }

// StopMoto stops the moto this process started, by its pid (and the
// process group start-moto.sh gave it with setsid).
func StopMoto() {
	moto.mu.Lock()
	defer moto.mu.Unlock()
	if moto.pid > 0 {
		terminate(moto.pid)
		moto.pid = 0
	}
	if moto.home != "" {
		os.RemoveAll(moto.home)
		moto.home = ""
	}
	moto.url = ""
}

// Moto returns the endpoint URL of a moto server on 127.0.0.1, starting it
// once per test binary with ../shared/emulators/start-moto.sh on a free
// port. Its state is shared by every test of the binary: tests name their
// resources uniquely (t.Name()). It skips the test when moto cannot run,
// or fails it under AUTOTUNER_REQUIRE_EMULATORS=1.
func Moto(t testing.TB) string {
	t.Helper()
	moto.mu.Lock()
	defer moto.mu.Unlock()
	if u := os.Getenv(MotoURLEnv); u != "" {
		return u
	}
	if !moto.inMain {
		t.Fatal("testenv.Moto needs the package's TestMain to call testenv.Main, Wrap or RunWithMoto, which stops moto after the tests")
	}
	if !moto.started {
		moto.started = true
		moto.url, moto.pid, moto.home, moto.err = startMoto(RepoRoot(t))
	}
	if moto.url == "" {
		Unavailable(t, "moto: %s", moto.err)
	}
	return moto.url
}

// motoScript finds start-moto.sh.
func motoScript(root string) (string, error) {
	if s := os.Getenv(MotoScriptEnv); s != "" {
		return s, nil
	}
	s := filepath.Join(filepath.Dir(root), "shared", "emulators", "start-moto.sh")
	if _, err := os.Stat(s); err != nil {
		return "", fmt.Errorf("start-moto.sh not found at %s (set %s)", s, MotoScriptEnv)
	}
	return s, nil
}

// startMoto runs the start script on a free loopback port and reads the
// pid it prints on its last line.
func startMoto(root string) (url string, pid int, home, why string) {
	script, err := motoScript(root)
	if err != nil {
		return "", 0, "", err.Error()
	}
	if _, err := exec.LookPath("bash"); err != nil {
		return "", 0, "", "bash is not installed"
	}
	port, err := freePort()
	if err != nil {
		return "", 0, "", err.Error()
	}
	ctx, cancel := context.WithTimeout(context.Background(), motoStartTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", script, strconv.Itoa(port))
	// A private MOTO_HOME per port keeps parallel test binaries from
	// sharing a pid file and log.
	home = filepath.Join(os.TempDir(), "autotuner-moto-"+strconv.Itoa(port))
	cmd.Env = append(os.Environ(), "MOTO_HOME="+home)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", 0, "", fmt.Sprintf("%s %d: %v: %s", script, port, err, tail(out.String()))
	}
	pid, err = lastInt(out.String())
	if err != nil {
		return "", 0, "", fmt.Sprintf("start-moto.sh printed no pid: %s", tail(out.String()))
	}
	return fmt.Sprintf("http://127.0.0.1:%d", port), pid, home, ""
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("no free port on 127.0.0.1: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func lastInt(s string) (int, error) {
	var last string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			last = l
		}
	}
	return strconv.Atoi(last)
}

func tail(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 600 {
		s = "…" + s[len(s)-600:]
	}
	return s
}
