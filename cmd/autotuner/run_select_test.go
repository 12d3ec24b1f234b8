package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/autotuner/autotuner/daemon"
	"github.com/autotuner/autotuner/daemon/daemontest"
)

// The daemon evaluates selector entries again every discover_every: a
// function tagged since is a new target after the next evaluation.
func TestRunEvaluatesSelectorsAgain(t *testing.T) {
	fake := accountFake(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "policies.yaml")
	if err := os.WriteFile(cfg, []byte(selectPolicies), 0o644); err != nil {
		t.Fatal(err)
	}
	fakeBackend(t, &daemontest.Sensor{Value: 20}, &daemontest.Actuator{Initial: 10})
	events := make(chan daemon.Event, 64)
	ticks := make(chan time.Time, 1)
	var every time.Duration
	prevClock, prevHUP, prevEvents, prevTicks := daemonClock, notifyHUP, daemonEvents, discoverTicks
	daemonClock = daemontest.NewClock(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	notifyHUP = func() (<-chan os.Signal, func()) { return make(chan os.Signal), func() {} }
	daemonEvents = func(e daemon.Event) { events <- e }
	discoverTicks = func(d time.Duration) (<-chan time.Time, func()) { every = d; return ticks, func() {} }
	t.Cleanup(func() {
		daemonClock, notifyHUP, daemonEvents, discoverTicks = prevClock, prevHUP, prevEvents, prevTicks
	})

	logs := &lockedBuffer{}
	e := &env{stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }, logger: slog.New(slog.NewTextHandler(logs, nil))}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, e, []string{"run", "-c", cfg, "--state", filepath.Join(dir, "state.json"), "--listen", "127.0.0.1:0"})
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
			case <-deadline:
				t.Fatalf("no %s event; logs:\n%s", kind, logs.String())
			}
		}
	}
	next(daemon.EventWaiting)
	if every != 10*time.Minute {
		t.Errorf("evaluated every %v, want the default 10m", every)
	}
	fifty := 50
	fake.Lambda.AddFunction("billing", &fifty)
	fake.Tagging.Tag("arn:aws:lambda:us-east-1:123456789012:function:billing", map[string]string{"autotune": "on"})
	ticks <- time.Now()
	next(daemon.EventReloaded)
	if !strings.Contains(logs.String(), "reloaded the policies file") || !strings.Contains(logs.String(), "targets=3") {
		t.Errorf("the new function was not selected:\n%s", logs.String())
	}
	cancel()
	select {
	case c := <-code:
		if c != exitOK {
			t.Fatalf("exit %d", c)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the daemon did not stop")
	}
}
