package daemon_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/daemon"
	"github.com/autotuner/autotuner/daemon/daemontest"
	"github.com/autotuner/autotuner/state"
)

// fleet is a policies file of n targets, each with three signals, a guard
// and the autotuner policy: a realistic per-target footprint.
func fleet(n int) string {
	var b strings.Builder
	b.WriteString("version: 1\ndefaults: {schedule: \"@every 1m\", region: us-east-1}\ntargets:\n")
	for i := range n {
		fmt.Fprintf(&b, `  - name: fn-%[1]d
    kind: lambda-reserved-concurrency
    function: fn-%[1]d
    min: 5
    max: 400
    signals:
      throttles: {namespace: AWS/Lambda, metric: Throttles, dimensions: {FunctionName: fn-%[1]d}, stat: Sum, missing: zero}
      busy: {namespace: AWS/Lambda, metric: ConcurrentExecutions, dimensions: {FunctionName: fn-%[1]d}, stat: Maximum}
      pain: {namespace: AWS/DynamoDB, metric: WriteThrottleEvents, dimensions: {TableName: t-%[1]d}, stat: Sum, missing: zero}
    policy:
      autotuner:
        utilization: {signal: busy, target: 70%%}
        throttles: throttles
        down: {stabilization: 10m}
    guards:
      - {signal: pain, warn: 1, critical: 50, cut: 30%%}
`, i)
	}
	return b.String()
}

// BenchmarkDaemon1000Targets runs the daemon's ticks over 1,000 targets
// with in-memory AWS fakes and file state, and reports the process's
// resident memory afterwards (VmRSS, including the test binary itself)
// and the Go heap in use.
func BenchmarkDaemon1000Targets(b *testing.B) {
	f, err := config.Parse("fleet.yaml", []byte(fleet(1000)))
	if err != nil {
		b.Fatal(err)
	}
	store, err := state.OpenFile(filepath.Join(b.TempDir(), "state.json"))
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	clock := daemontest.NewClock(t0)
	events := make(chan daemon.Event, 16)
	sensor := &daemontest.Sensor{Value: 20}
	act := &daemontest.Actuator{Initial: 10}
	d, err := daemon.New(daemon.Options{
		Load: func() (*config.File, error) { return f, nil },
		Build: func(context.Context, *config.File) (*controller.Controller, func(), error) {
			return &controller.Controller{Config: f, Sensor: sensor, Actuators: daemontest.Actuators(act), Store: store,
				Audit: controller.NewJSONLines(io.Discard), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, nil, nil
		},
		Clock: clock, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		OnEvent: func(e daemon.Event) {
			if e.Kind == daemon.EventWaiting || e.Kind == daemon.EventTickDone {
				events <- e
			}
		},
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx, nil) }()
	tick := func() {
		w := <-events
		for w.Kind != daemon.EventWaiting {
			w = <-events
		}
		clock.Set(w.At)
		for e := range events {
			if e.Kind == daemon.EventTickDone {
				if e.Err != nil || len(e.Result.Records) != 1000 {
					b.Fatalf("tick: %v, %d records", e.Err, len(e.Result.Records))
				}
				return
			}
		}
	}
	tick() // the first tick reads every target and fills state
	b.ResetTimer()
	for b.Loop() {
		tick()
	}
	b.StopTimer()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "MiB-heap")
	if rss := vmRSS(); rss > 0 {
		b.ReportMetric(rss/(1<<10), "MiB-RSS")
	}
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
}

// vmRSS reads the resident set size in KiB from /proc (Linux only).
func vmRSS() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			v, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return v
		}
	}
	return 0
}
