package testenv

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Plain `go test ./...` shows nothing of a passing package, not even its
// skips, so a missing emulator would hide a whole class of tests. Every
// package whose tests use an emulator runs through Main; when one of its
// tests was skipped for a missing emulator, it prints one line naming what
// is missing and how to install it. Packages run as separate processes,
// so a marker file keyed by the go command's process makes that line
// appear once per `go test` run, not once per package.

var (
	skipMu  sync.Mutex
	skipped []string // the messages of tests skipped here
)

func recordSkip(msg string) {
	skipMu.Lock()
	defer skipMu.Unlock()
	skipped = append(skipped, msg)
}

// Emulator is one tool the emulator tests need, and how to install it.
type Emulator struct {
	Name    string
	Install string
}

// RIEVersion is the runtime interface emulator the Lambda end-to-end
// tests run; the Makefile installs the same one.
const RIEVersion = "v0.0.0-20261030222936-bef5c4ba774d"

// Missing lists the emulators not installed for the repository at root.
func Missing(root string) []Emulator {
	var out []Emulator
	if _, err := exec.LookPath("node"); err != nil {
		out = append(out, Emulator{"node", "install Node.js (dynalite runs on it)"})
	} else if _, err := os.Stat(filepath.Join(root, "tools", "dynalite", "node_modules", "dynalite", "cli.js")); err != nil {
		out = append(out, Emulator{"dynalite", "npm ci --prefix tools/dynalite"})
	}
	if _, err := exec.LookPath("aws-lambda-rie"); err != nil {
		if _, err := os.Stat(filepath.Join(root, ".bin", "aws-lambda-rie")); err != nil {
			out = append(out, Emulator{"aws-lambda-rie", "GOBIN=$PWD/.bin go install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@" + RIEVersion})
		}
	}
	script := os.Getenv(MotoScriptEnv)
	if script == "" {
		script = filepath.Join(root, "..", "shared", "emulators", "start-moto.sh")
	}
	if _, err := os.Stat(script); err != nil {
		out = append(out, Emulator{"moto", "its start script, ../shared/emulators/start-moto.sh beside the repository, or " + MotoScriptEnv})
	} else if _, err := exec.LookPath("python3"); err != nil {
		out = append(out, Emulator{"moto", "install python3 (moto runs on it)"})
	}
	return out
}

// SkipLine is the one line printed when emulator tests were skipped.
func SkipLine(missing []Emulator) string {
	var names, how []string
	for _, e := range missing {
		names = append(names, e.Name)
		how = append(how, e.Install)
	}
	what := "an emulator"
	if len(names) > 0 {
		what = strings.Join(names, ", ")
	}
	line := fmt.Sprintf("testenv: emulator tests skipped: %s not installed", what)
	if len(how) > 0 {
		line += " (" + strings.Join(how, "; ") + ")"
	}
	return line + "; `make test` installs every emulator and runs the whole suite"
}

// runner is what testing.M and goleak's wrapper both satisfy.
type runner interface{ Run() int }

type announcing struct{ m runner }

func (a announcing) Run() int {
	moto.mu.Lock()
	moto.inMain = true
	moto.mu.Unlock()
	code := a.m.Run()
	StopMoto()
	skipMu.Lock()
	n := len(skipped)
	skipMu.Unlock()
	if n > 0 && !Required() {
		announce(SkipLine(Missing(repoRootFromWD())))
	}
	return code
}

// Wrap returns m, announcing missing emulators after its tests run and
// stopping the moto its tests started (see Moto). Use it
// in TestMain: `goleak.VerifyTestMain(testenv.Wrap(m))`, or Main.
func Wrap(m runner) runner { return announcing{m} }

// Main runs the package's tests and announces missing emulators.
func Main(m *testing.M) { os.Exit(Wrap(m).Run()) }

// announce prints line once per go command: the terminal is the one place
// `go test ./...` does not swallow; without one (CI, a pipe) it goes to
// stderr, which -v and a failure show.
func announce(line string) {
	if !firstInRun() {
		return
	}
	var w io.Writer = os.Stderr
	if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
		defer tty.Close()
		w = tty
	}
	fmt.Fprintln(w, line)
}

// firstInRun claims the marker of this go command's run; only the first
// package to claim it prints. The parent's start time is part of the key
// so a reused process id does not silence a later run.
func firstInRun() bool {
	ppid := os.Getppid()
	key := strconv.Itoa(ppid)
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", ppid)); err == nil {
		if i := strings.LastIndexByte(string(b), ')'); i >= 0 {
			if f := strings.Fields(string(b)[i+1:]); len(f) > 19 {
				key += "-" + f[19] // starttime, in clock ticks since boot
			}
		}
	}
	cleanStaleMarkers()
	name := filepath.Join(os.TempDir(), "autotuner-testenv-skips-"+key)
	f, err := os.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return !os.IsExist(err) // an unwritable temp dir must not hide the line
	}
	f.Close()
	return true
}

// cleanStaleMarkers removes the markers of go commands that have exited.
func cleanStaleMarkers() {
	old, _ := filepath.Glob(filepath.Join(os.TempDir(), "autotuner-testenv-skips-*"))
	for _, m := range old {
		pid, _, _ := strings.Cut(strings.TrimPrefix(filepath.Base(m), "autotuner-testenv-skips-"), "-")
		if _, err := os.Stat("/proc/" + pid); os.IsNotExist(err) {
			os.Remove(m)
		}
	}
}

func repoRootFromWD() string {
	dir, err := os.Getwd()
	if err != nil {
		return "."
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return dir
		}
	}
}
