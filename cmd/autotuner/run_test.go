package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/daemon"
	"github.com/autotuner/autotuner/daemon/daemontest"
	"github.com/autotuner/autotuner/state"
)

const runPolicies = `version: 1
defaults: {schedule: "@every 1m", region: us-east-1}
targets:
  - name: consumer
    kind: lambda-reserved-concurrency
    function: consumer
    min: 5
    max: 400
    signals:
      busy: {namespace: AWS/Lambda, metric: ConcurrentExecutions, dimensions: {FunctionName: consumer}, stat: Maximum}
    policy:
      autotuner:
        utilization: {signal: busy, target: 70%}
`

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// fakeBackend points newBackend at in-memory fakes for one test.
func fakeBackend(t *testing.T, sensor *daemontest.Sensor, act *daemontest.Actuator) {
	t.Helper()
	prev := newBackend
	newBackend = func(context.Context, *env, *config.File) (*backend, error) {
		return &backend{sensor: sensor, actuators: daemontest.Actuators(act), close: func() {}}, nil
	}
	t.Cleanup(func() { newBackend = prev })
}

func TestRunDaemonEndToEnd(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "policies.yaml")
	statePath := filepath.Join(dir, "state.json")
	if err := os.WriteFile(cfg, []byte(runPolicies), 0o644); err != nil {
		t.Fatal(err)
	}
	auditPath := filepath.Join(dir, "audit.jsonl")
	act := &daemontest.Actuator{Initial: 10}
	fakeBackend(t, &daemontest.Sensor{Value: 20}, act)

	clock := daemontest.NewClock(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	events := make(chan daemon.Event, 64)
	hup := make(chan os.Signal, 1)
	addrs := make(chan net.Addr, 1)
	prevClock, prevHUP, prevListen, prevEvents := daemonClock, notifyHUP, onListen, daemonEvents
	daemonClock = clock
	notifyHUP = func() (<-chan os.Signal, func()) { return hup, func() {} }
	onListen = func(a net.Addr) { addrs <- a }
	daemonEvents = func(e daemon.Event) { events <- e }
	t.Cleanup(func() { daemonClock, notifyHUP, onListen, daemonEvents = prevClock, prevHUP, prevListen, prevEvents })

	logs := &lockedBuffer{}
	var stderr lockedBuffer
	e := &env{stdout: io.Discard, stderr: &stderr, getenv: func(string) string { return "" }, logger: slog.New(slog.NewTextHandler(logs, nil))}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, e, []string{"run", "-c", cfg, "--state", statePath, "--listen", "127.0.0.1:0", "--audit", auditPath})
	}()
	next := func(kind daemon.EventKind) daemon.Event {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for {
			select {
			case ev := <-events:
				if ev.Kind == kind {
					return ev
				}
			case <-deadline:
				t.Fatalf("no %s event; stderr %s; logs:\n%s", kind, stderr.String(), logs.String())
			}
		}
	}
	var base string
	select {
	case a := <-addrs:
		base = "http://" + a.String()
	case <-time.After(10 * time.Second):
		t.Fatalf("the daemon never listened; stderr: %s", stderr.String())
	}
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	w := next(daemon.EventWaiting)
	clock.Set(w.At)
	if done := next(daemon.EventTickDone); done.Err != nil {
		t.Fatal(done.Err)
	}
	if c, _ := get("/readyz"); c != 200 {
		t.Errorf("/readyz = %d", c)
	}
	if _, body := get("/metrics"); !strings.Contains(body, `autotuner_changes_applied_total{direction="up",target="consumer"} 1`) {
		t.Errorf("/metrics does not count the applied change:\n%s", body)
	}

	// SIGHUP with a broken file: every error logged, the old config kept.
	if err := os.WriteFile(cfg, []byte("version: 2\ntargets: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	hup <- nil
	next(daemon.EventReloadFailed)
	if !strings.Contains(logs.String(), "version: must be 1, got 2") {
		t.Errorf("reload problems not logged:\n%s", logs.String())
	}
	// SIGHUP with a good file that adds nothing but a comment, sent by
	// logrotate after moving the audit file away: records go on at the
	// path, in a new file.
	if err := os.WriteFile(cfg, []byte(runPolicies+"# edited\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rotated := auditPath + ".1"
	if err := os.Rename(auditPath, rotated); err != nil {
		t.Fatal(err)
	}
	hup <- nil
	next(daemon.EventReloaded)
	w = next(daemon.EventWaiting)
	clock.Set(w.At)
	if done := next(daemon.EventTickDone); done.Err != nil {
		t.Fatal(done.Err)
	}
	for _, p := range []string{rotated, auditPath} {
		if b, err := os.ReadFile(p); err != nil || !strings.Contains(string(b), `"target":"consumer"`) {
			t.Errorf("%s: %v, %q; want the records of one tick in each file", p, err, b)
		}
	}

	cancel() // SIGTERM
	select {
	case c := <-code:
		if c != exitOK {
			t.Fatalf("exit code %d, want 0; stderr: %s", c, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the daemon did not stop")
	}
	snap, err := state.ReadSnapshot(statePath)
	if err != nil {
		t.Fatal(err)
	}
	if m := snap["consumer"]; m.Actuation.Original != 10 || m.Actuation.LastSet != act.Value("consumer") {
		t.Errorf("saved state %+v does not match the service (%v)", m.Actuation, act.Value("consumer"))
	}
}

func TestRunRejectsBadFlagsAndFiles(t *testing.T) {
	// No case may reach AWS: a state table that is asked for fails at once.
	prevDDB := newStateDynamoDB
	newStateDynamoDB = func(context.Context, string) (state.DynamoDBAPI, error) {
		return nil, errors.New("this test opens no state table")
	}
	t.Cleanup(func() { newStateDynamoDB = prevDDB })
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("version: 1\n"), 0o644)
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte(runPolicies), 0o644)
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"run", "-c", bad}, exitUsage, "targets"},
		{[]string{"run", "-c", good, "extra"}, exitUsage, "unexpected arguments"},
		{[]string{"run", "-c", good, "--lease", "x", "--state", filepath.Join(dir, "s.json")}, exitFailure, "--lease needs --state-table"},
		{[]string{"run", "-c", good, "--lease", "x", "--lease-ttl", "30s", "--state-table", "t"}, exitUsage, "--lease-ttl 30s must be longer than the longest wait between ticks, 1m0s"},
		{[]string{"run", "-c", good, "--listen", "256.0.0.1:1", "--listen-public", "--state", filepath.Join(dir, "s2.json")}, exitFailure, "listening on"},
		{[]string{"run", "-c", good, "--listen", "0.0.0.0:9107", "--state", filepath.Join(dir, "s3.json")}, exitUsage, "is not a loopback address"},
		{[]string{"run", "-c", good, "--listen", ":9107", "--state", filepath.Join(dir, "s3.json")}, exitUsage, "pass --listen-public"},
		{[]string{"run", "-c", good, "--listen", "9107", "--state", filepath.Join(dir, "s3.json")}, exitUsage, "want HOST:PORT"},
	} {
		var stderr bytes.Buffer
		e := &env{stdout: io.Discard, stderr: &stderr, getenv: func(string) string { return "" }, logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
		if got := run(context.Background(), e, tc.args); got != tc.code || !strings.Contains(stderr.String(), tc.msg) {
			t.Errorf("%q: exit %d, stderr %q; want %d and %q", tc.args, got, stderr.String(), tc.code, tc.msg)
		}
	}
}

// A reload that would make the wait between ticks outlast the lease is
// refused like a broken file: the lease is renewed once per tick.
func TestRunReloadChecksTheLease(t *testing.T) {
	useStateTable(t, stateTable(t, "state"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	dir := t.TempDir()
	cfg := filepath.Join(dir, "policies.yaml")
	if err := os.WriteFile(cfg, []byte(runPolicies), 0o644); err != nil {
		t.Fatal(err)
	}
	fakeBackend(t, &daemontest.Sensor{Value: 20}, &daemontest.Actuator{Initial: 10})
	events := make(chan daemon.Event, 64)
	hup := make(chan os.Signal, 1)
	prevClock, prevHUP, prevEvents := daemonClock, notifyHUP, daemonEvents
	daemonClock = daemontest.NewClock(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	notifyHUP = func() (<-chan os.Signal, func()) { return hup, func() {} }
	daemonEvents = func(e daemon.Event) { events <- e }
	t.Cleanup(func() { daemonClock, notifyHUP, daemonEvents = prevClock, prevHUP, prevEvents })

	logs := &lockedBuffer{}
	var stderr lockedBuffer
	e := &env{stdout: io.Discard, stderr: &stderr, getenv: func(string) string { return "" }, logger: slog.New(slog.NewTextHandler(logs, nil))}
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, e, []string{"run", "-c", cfg, "--state-table", "state", "--lease", "autotuner", "--lease-ttl", "3m", "--listen", "off"})
	}()
	next := func(kind daemon.EventKind) {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for {
			select {
			case ev := <-events:
				if ev.Kind == kind {
					return
				}
			case c := <-code:
				t.Fatalf("the daemon exited %d; stderr %s", c, stderr.String())
			case <-deadline:
				t.Fatalf("no %s event; stderr %s; logs:\n%s", kind, stderr.String(), logs.String())
			}
		}
	}
	next(daemon.EventWaiting)
	if err := os.WriteFile(cfg, []byte(strings.Replace(runPolicies, `schedule: "@every 1m"`, `schedule: "@every 5m"`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	hup <- nil
	next(daemon.EventReloadFailed)
	if !strings.Contains(logs.String(), "--lease-ttl 3m0s must be longer than the longest wait between ticks, 5m0s") {
		t.Errorf("reload problem not logged:\n%s", logs.String())
	}
	cancel()
	select {
	case <-code:
	case <-time.After(10 * time.Second):
		t.Fatal("the daemon did not stop")
	}
}
