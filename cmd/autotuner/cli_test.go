package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/internal/buildinfo"
	"github.com/autotuner/autotuner/policy"
	"github.com/autotuner/autotuner/state"
)

// cli runs the command line in process, as main does, with no
// environment of its own.
func cli(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdout: &out, stderr: &errb, stdin: strings.NewReader(""), getenv: func(string) string { return "" }, logger: slog.New(slog.DiscardHandler)}
	code = run(context.Background(), e, args)
	return code, out.String(), errb.String()
}

const example = "../../policies.example.yaml"

func TestValidateExample(t *testing.T) {
	code, out, errs := cli(t, "validate", example)
	if code != exitOK || !strings.Contains(out, "valid, 9 target(s)") || errs != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errs)
	}
}

var positioned = regexp.MustCompile(`^\S+\.yaml:\d+:\d+: [^ :]+: .+$`)

func TestValidateBrokenFiles(t *testing.T) {
	files, _ := filepath.Glob("../../config/testdata/*.yaml")
	if len(files) < 6 {
		t.Fatalf("broken files: %v", files)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			code, out, errs := cli(t, "validate", f)
			if code != exitUsage || out != "" {
				t.Fatalf("exit %d, stdout %q; want 2 and nothing on stdout", code, out)
			}
			lines := strings.Split(strings.TrimSuffix(errs, "\n"), "\n")
			for _, l := range lines {
				if !strings.HasPrefix(l, f+":") || !positioned.MatchString(l) {
					t.Errorf("not FILE:LINE:COL: path: message: %q", l)
				}
			}
		})
	}
	// The exact lines of one of them, as a user sees them.
	_, _, errs := cli(t, "validate", "../../config/testdata/missing_signal.yaml")
	want := `../../config/testdata/missing_signal.yaml:13:20: targets[0].policy.autotuner.throttles: names signal "throttled", which is not declared under signals (declared: busy)
../../config/testdata/missing_signal.yaml:15:18: targets[0].guards[0].signal: names signal "table_pain", which is not declared under signals (declared: busy)
`
	if errs != want {
		t.Fatalf("stderr:\n%s\nwant:\n%s", errs, want)
	}
}

func TestValidateUsage(t *testing.T) {
	for _, args := range [][]string{{"validate"}, {"validate", "a.yaml", "b.yaml"}, {"validate", "--bogus"}} {
		if code, _, errs := cli(t, args...); code != exitUsage || !strings.Contains(errs, "Usage: autotuner validate") && !strings.Contains(errs, "flag provided but not defined") {
			t.Errorf("%v: exit %d, stderr %q", args, code, errs)
		}
	}
	code, _, errs := cli(t, "validate", "no-such-file.yaml")
	if code != exitUsage || !strings.Contains(errs, "no-such-file.yaml") {
		t.Errorf("missing file: exit %d, stderr %q", code, errs)
	}
}

func TestHelpForEveryCommand(t *testing.T) {
	var names []string
	for n := range commands {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, want := range []string{"validate", "plan", "once"} {
		if !slices.Contains(names, want) {
			t.Fatalf("command %q is not registered (have %v)", want, names)
		}
	}
	for _, n := range names {
		t.Run(n, func(t *testing.T) {
			code, out, errs := cli(t, n, "--help")
			if code != exitOK {
				t.Fatalf("exit %d", code)
			}
			if !strings.Contains(out+errs, "Usage: autotuner "+n) {
				t.Fatalf("no usage line in stdout %q / stderr %q", out, errs)
			}
		})
	}
	for _, h := range []string{"--help", "-h", "help"} {
		code, out, _ := cli(t, h)
		if code != exitOK || !strings.Contains(out, "Commands:") {
			t.Errorf("%s: exit %d, stdout %q", h, code, out)
		}
		for _, n := range names {
			if !strings.Contains(out, "  "+n+" ") {
				t.Errorf("%s: usage does not list %s", h, n)
			}
		}
	}
	if code, _, errs := cli(t); code != exitUsage || !strings.Contains(errs, "Commands:") {
		t.Errorf("no command: exit %d, stderr %q", code, errs)
	}
	if code, _, errs := cli(t, "frobnicate"); code != exitUsage || !strings.Contains(errs, `unknown command "frobnicate"`) {
		t.Errorf("unknown command: exit %d, stderr %q", code, errs)
	}
}

func TestVersion(t *testing.T) {
	for _, v := range []string{"--version", "-version", "version"} {
		code, out, _ := cli(t, v)
		if code != exitOK || !regexp.MustCompile(`^autotuner \S+\n$`).MatchString(out) {
			t.Errorf("%s: exit %d, stdout %q", v, code, out)
		}
	}
	old := buildinfo.Version
	buildinfo.Version = "v1.2.3"
	defer func() { buildinfo.Version = old }()
	if _, out, _ := cli(t, "--version"); out != "autotuner v1.2.3\n" {
		t.Errorf("stdout %q", out)
	}
}

// withBackend replaces the AWS connection for one test.
func withBackend(t *testing.T, nb func(context.Context, *env, *config.File) (*backend, error)) {
	old := newBackend
	newBackend = nb
	t.Cleanup(func() { newBackend = old })
}

func TestPlanAndOnceFailClearlyWithoutABackend(t *testing.T) {
	withBackend(t, func(context.Context, *env, *config.File) (*backend, error) {
		return nil, errors.New("this build has no AWS sensors or actuators")
	})
	dir := t.TempDir()
	for _, cmd := range []string{"plan", "once"} {
		state := filepath.Join(dir, cmd+".json")
		code, out, errs := cli(t, cmd, "-c", example, "--state", state)
		if code != exitFailure || out != "" || !strings.Contains(errs, "autotuner "+cmd+": this build has no AWS sensors or actuators") {
			t.Errorf("%s: exit %d, stdout %q, stderr %q", cmd, code, out, errs)
		}
		if _, err := os.Stat(state); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: created its state file", cmd)
		}
	}
	// An invalid policies file is a usage error, before any connection.
	if code, _, errs := cli(t, "plan", "-c", "../../config/testdata/bad_kind.yaml"); code != exitUsage || !strings.Contains(errs, "bad_kind.yaml:4:11") {
		t.Errorf("plan on a broken file: exit %d, stderr %q", code, errs)
	}
}

// knobs is a fake backend: every target's limit is 100 and busy at 91%.
// The controller applies independent targets in parallel, hence the lock.
type knobs struct {
	mu      sync.Mutex
	values  map[string]float64
	applied []string
}

func (k *knobs) Read(_ context.Context, ts []*config.Target, now time.Time) (map[string]policy.Signals, error) {
	out := map[string]policy.Signals{}
	for _, t := range ts {
		sig := policy.Signals{}
		for _, s := range t.SignalList {
			start, _ := s.Window(now)
			sig[s.Name] = s.Apply(policy.Reading(0, start), start)
		}
		for _, n := range []string{"busy", "consumed", "requests"} {
			if s, ok := sig[n]; ok {
				sig[n] = policy.Reading(91, s.At)
			}
		}
		out[t.Name] = sig
	}
	return out, nil
}

func (k *knobs) Current(_ context.Context, t *config.Target, _ time.Time) (controller.State, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return controller.State{Value: k.values[t.Name]}, nil
}

func (k *knobs) Apply(_ context.Context, t *config.Target, from, to float64, _ time.Time) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.applied = append(k.applied, t.Name)
	k.values[t.Name] = to
	return nil
}

func TestPlanChangesNothingAndOnceApplies(t *testing.T) {
	k := &knobs{values: map[string]float64{"orders-consumer": 100, "orders-table-writes": 100, "public-api-plan": 100, "public-api-handler": 100, "orders-table-reads": 100, "partner-api-bucket": 100, "partner-api-us": 100, "partner-api-eu": 100}}
	withBackend(t, func(context.Context, *env, *config.File) (*backend, error) {
		acts := map[config.Kind]controller.Actuator{}
		for _, kind := range config.Kinds {
			acts[kind] = k
		}
		return &backend{sensor: k, actuators: acts}, nil
	})
	dir := t.TempDir()
	st := filepath.Join(dir, "state.json")

	code, out, errs := cli(t, "plan", "-c", example, "--state", st)
	if code != exitOK {
		t.Fatalf("plan: exit %d, stderr %q", code, errs)
	}
	if len(k.applied) != 0 {
		t.Fatalf("plan applied %v", k.applied)
	}
	if _, err := os.Stat(st); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("plan wrote the state file")
	}
	if !strings.Contains(out, "orders-consumer") || !strings.Contains(out, "orders-consumer: up: 100 → proposed") {
		t.Fatalf("plan output:\n%s", out)
	}

	audit := filepath.Join(dir, "audit.jsonl")
	code, out, errs = cli(t, "once", "-c", example, "--state", st, "--audit", audit, "--json")
	if code != exitOK {
		t.Fatalf("once: exit %d, stderr %q", code, errs)
	}
	// The example's public-api-plan is dry-run, and target tracking on
	// orders-table-reads waits for a second datapoint above its target.
	slices.Sort(k.applied)
	if want := []string{"checkout", "orders-consumer", "orders-table-writes", "public-api-handler"}; !slices.Equal(k.applied, want) {
		t.Fatalf("applied %v, want %v", k.applied, want)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 9 {
		t.Fatalf("--json printed %d lines, want 9:\n%s", len(lines), out)
	}
	var rec controller.Record
	if err := json.Unmarshal([]byte(lines[1]), &rec); err != nil || rec.Target != "orders-consumer" || !rec.Applied {
		t.Fatalf("first record %+v (%v)", rec, err)
	}
	// One line per target, and an intent line before each of the 4 changes.
	if b, err := os.ReadFile(audit); err != nil || strings.Count(string(b), "\n") != 13 || strings.Count(string(b), `"intent":true`) != 4 {
		t.Fatalf("audit file: %v, %q", err, b)
	}
	snap, err := state.ReadSnapshot(st)
	if err != nil || len(snap) != 9 || snap["orders-consumer"].Actuation.LastSet != k.values["orders-consumer"] {
		t.Fatalf("state: %v, %+v", err, snap)
	}
}

func TestAutoCommand(t *testing.T) {
	old := autoCommand
	autoCommand = func(*env) string { return "validate" }
	defer func() { autoCommand = old }()
	// Inside Lambda the binary serves its command whatever it is called with.
	if code, out, _ := cli(t, example); code != exitOK || !strings.Contains(out, "valid") {
		t.Fatalf("exit %d, stdout %q", code, out)
	}
	if code, out, _ := cli(t, "validate", example); code != exitOK || !strings.Contains(out, "valid") {
		t.Fatalf("named explicitly: exit %d, stdout %q", code, out)
	}
}

func TestLoggerIsTextOnATerminalAndJSONOtherwise(t *testing.T) {
	var tty, pipe bytes.Buffer
	newLogger(&tty, true, "").Info("hello", "k", 1)
	newLogger(&pipe, false, "debug").Debug("hello", "k", 1)
	if !strings.Contains(tty.String(), "msg=hello k=1") {
		t.Errorf("terminal log %q", tty.String())
	}
	var m map[string]any
	if err := json.Unmarshal(pipe.Bytes(), &m); err != nil || m["msg"] != "hello" || m["level"] != "DEBUG" {
		t.Errorf("JSON log %q (%v)", pipe.String(), err)
	}
}
