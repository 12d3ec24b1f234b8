package daemon_test

import (
	"bytes"
	"context"
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

	"go.uber.org/goleak"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/daemon"
	"github.com/autotuner/autotuner/daemon/daemontest"
	"github.com/autotuner/autotuner/internal/testenv"
	"github.com/autotuner/autotuner/state"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(testenv.Wrap(m)) }

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// harness runs a daemon on a manual clock and reports its events.
type harness struct {
	t         *testing.T
	clock     *daemontest.Clock
	sensor    *daemontest.Sensor
	act       *daemontest.Actuator
	store     *state.File
	d         *daemon.Daemon
	events    chan daemon.Event
	reload    chan struct{}
	cancel    context.CancelFunc
	done      chan error
	logs      *syncBuffer
	cfgPath   string
	statePath string
	builds    int
	closes    int
	mu        sync.Mutex
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type opts struct {
	leader   daemon.Leader
	listener net.Listener
	grace    time.Duration
}

func start(t *testing.T, o opts) *harness {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "policies.yaml")
	b, err := os.ReadFile("testdata/policies.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, b, 0o644); err != nil {
		t.Fatal(err)
	}
	statePath := filepath.Join(dir, "state.json")
	store, err := state.OpenFile(statePath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	h := &harness{
		t: t, clock: daemontest.NewClock(t0), sensor: &daemontest.Sensor{Value: 20},
		act: &daemontest.Actuator{Initial: 10}, store: store,
		events: make(chan daemon.Event, 64), reload: make(chan struct{}), done: make(chan error, 1),
		logs: &syncBuffer{}, cfgPath: cfg, statePath: statePath,
	}
	build := func(_ context.Context, f *config.File) (*controller.Controller, func(), error) {
		h.mu.Lock()
		h.builds++
		h.mu.Unlock()
		c := &controller.Controller{Config: f, Sensor: h.sensor, Actuators: daemontest.Actuators(h.act), Store: store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
		return c, func() { h.mu.Lock(); h.closes++; h.mu.Unlock() }, nil
	}
	h.d, err = daemon.New(daemon.Options{
		Load:  func() (*config.File, error) { return config.Load(cfg) },
		Build: build, Leader: o.leader, Clock: h.clock, Listener: o.listener,
		Logger:        slog.New(slog.NewTextHandler(h.logs, nil)),
		TickTimeout:   time.Hour,
		ShutdownGrace: o.grace,
		OnEvent:       func(e daemon.Event) { h.events <- e },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.done <- h.d.Run(ctx, h.reload) }()
	t.Cleanup(func() {
		cancel()
		if h.sensor.Block != nil {
			select {
			case <-h.sensor.Block:
			default:
				close(h.sensor.Block)
			}
		}
		h.wait()
	})
	return h
}

// next waits for the daemon's next event of the given kind, failing on a
// deadline so a broken daemon cannot hang the suite.
func (h *harness) next(kind daemon.EventKind) daemon.Event {
	h.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case e := <-h.events:
			if e.Kind == kind {
				return e
			}
		case <-deadline:
			h.t.Fatalf("no %s event within the deadline; logs:\n%s", kind, h.logs.String())
		}
	}
}

// fire advances the clock to the daemon's next firing.
func (h *harness) fire() time.Time {
	h.t.Helper()
	w := h.next(daemon.EventWaiting)
	h.clock.Set(w.At)
	return w.At
}

// tick fires the schedule and waits for the tick to finish.
func (h *harness) tick() daemon.Event {
	h.t.Helper()
	h.fire()
	h.next(daemon.EventTickStarted)
	return h.next(daemon.EventTickDone)
}

func (h *harness) counts() (builds, closes int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.builds, h.closes
}

func (h *harness) wait() error {
	select {
	case err := <-h.done:
		h.done <- err
		return err
	case <-time.After(10 * time.Second):
		h.t.Fatal("daemon did not stop")
		return nil
	}
}

func TestTicksOnScheduleAndApplies(t *testing.T) {
	h := start(t, opts{})
	e := h.tick()
	if e.Err != nil {
		t.Fatal(e.Err)
	}
	// At t0+1m only the global group is due: "slow" has its own 5m spec.
	if got := len(e.Result.Records); got != 1 || e.Result.Records[0].Target != "consumer" {
		t.Fatalf("first tick evaluated %d records, want only consumer", got)
	}
	// busy 20 under a limit of 10 is 200% utilization: up.
	if ch := h.act.Changes(); len(ch) != 1 || ch[0].Target != "consumer" || ch[0].To <= 10 {
		t.Fatalf("changes = %+v, want consumer raised above 10", ch)
	}
	for range 3 {
		h.tick()
	}
	e = h.tick() // t0+5m: both groups are due, in one tick
	if got := len(e.Result.Records); got != 2 {
		t.Errorf("at t0+5m the tick evaluated %d targets, want both", got)
	}
	h.cancel()
	if err := h.wait(); err != nil {
		t.Fatal(err)
	}
	snap, err := state.ReadSnapshot(h.statePath)
	if err != nil {
		t.Fatal(err)
	}
	if !snap["consumer"].Actuation.HaveOriginal || snap["consumer"].Actuation.Original != 10 {
		t.Errorf("state does not remember the original value: %+v", snap["consumer"].Actuation)
	}
}

func TestOverlappingTickIsSkipped(t *testing.T) {
	h := start(t, opts{})
	h.sensor.Block = make(chan struct{})
	h.fire()
	h.next(daemon.EventTickStarted)
	at := h.fire() // the next minute comes while the first tick still runs
	sk := h.next(daemon.EventTickSkipped)
	if !sk.At.Equal(at) {
		t.Errorf("skipped at %v, want %v", sk.At, at)
	}
	if !strings.Contains(h.logs.String(), "tick skipped") {
		t.Errorf("no log line for the skipped tick:\n%s", h.logs.String())
	}
	close(h.sensor.Block)
	h.next(daemon.EventTickDone)
	body := scrape(t, h.d)
	for _, want := range []string{`autotuner_ticks_total{outcome="skipped"} 1`, `autotuner_ticks_total{outcome="ok"} 1`} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestStopLetsTheTickInFlightFinishAndSaves(t *testing.T) {
	h := start(t, opts{})
	h.sensor.Block = make(chan struct{})
	h.fire()
	h.next(daemon.EventTickStarted)
	h.cancel()
	h.next(daemon.EventStopping)
	select {
	case err := <-h.done:
		t.Fatalf("Run returned (%v) while a tick was in flight", err)
	default:
	}
	close(h.sensor.Block)
	h.next(daemon.EventTickDone)
	if err := h.wait(); err != nil {
		t.Fatal(err)
	}
	if len(h.act.Changes()) != 1 {
		t.Errorf("the tick in flight did not complete its change: %+v", h.act.Changes())
	}
	snap, err := state.ReadSnapshot(h.statePath)
	if err != nil {
		t.Fatalf("state was not saved: %v", err)
	}
	if _, ok := snap["consumer"]; !ok {
		t.Errorf("saved state lacks the target: %v", snap)
	}
	if _, c := h.counts(); c != 1 {
		t.Errorf("backend closed %d times, want 1", c)
	}
}

func TestStopCancelsATickThatOutlivesTheGrace(t *testing.T) {
	h := start(t, opts{grace: 30 * time.Second})
	h.sensor.Block = make(chan struct{}) // never closed before the grace ends
	h.fire()
	h.next(daemon.EventTickStarted)
	h.cancel()
	h.next(daemon.EventStopping)
	h.next(daemon.EventWaiting) // the grace timer is armed
	h.clock.Advance(30 * time.Second)
	done := h.next(daemon.EventTickDone)
	if done.Result == nil || done.Result.SenseErr == nil {
		t.Errorf("the cancelled tick should report its sensor error, got %+v", done.Result)
	}
	if err := h.wait(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(h.logs.String(), "outlived the grace period") {
		t.Errorf("no log line for the cancelled tick:\n%s", h.logs.String())
	}
}

func TestReloadKeepsRunningConfigWhenInvalid(t *testing.T) {
	h := start(t, opts{})
	h.tick()
	// Break the file in two places: both must be logged.
	bad := `version: 1
targets:
  - name: consumer
    kind: lambda-reserved-concurrency
    function: consumer
    min: 50
    max: 4
    bogus: 1
    signals:
      busy: {namespace: AWS/Lambda, metric: ConcurrentExecutions, stat: Maximum}
    policy: {static: {}}
`
	if err := os.WriteFile(h.cfgPath, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	h.reload <- struct{}{}
	e := h.next(daemon.EventReloadFailed)
	problems := daemon.Problems(e.Err)
	if len(problems) < 2 {
		t.Fatalf("want every problem reported, got %q", problems)
	}
	for _, p := range problems {
		if !strings.Contains(h.logs.String(), p) {
			t.Errorf("problem not logged: %s", p)
		}
	}
	// The running configuration still ticks both targets on their specs.
	for range 3 {
		h.tick()
	}
	if got := len(h.tick().Result.Records); got != 2 {
		t.Errorf("after a failed reload the t0+5m tick evaluated %d targets, want 2", got)
	}
	if !strings.Contains(scrape(t, h.d), `autotuner_config_reloads_total{result="failed"} 1`) {
		t.Error("failed reload not counted")
	}

	// A valid file replaces the running one; the old backend is closed.
	good := strings.Replace(string(mustRead(t, "testdata/policies.yaml")), `schedule: "@every 5m"`, `schedule: "@every 2m"`, 1)
	if err := os.WriteFile(h.cfgPath, []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	h.reload <- struct{}{}
	h.next(daemon.EventReloaded)
	if b, c := h.counts(); b != 2 || c != 1 {
		t.Errorf("builds=%d closes=%d, want 2 and 1", b, c)
	}
	h.tick()
	if got := len(h.tick().Result.Records); got != 2 {
		t.Errorf("with the new 2m spec the second tick evaluated %d targets, want 2", got)
	}
}

func TestReloadDuringATickClosesTheOldBackendAfterIt(t *testing.T) {
	h := start(t, opts{})
	h.sensor.Block = make(chan struct{})
	h.fire()
	h.next(daemon.EventTickStarted)
	h.reload <- struct{}{}
	h.next(daemon.EventReloaded)
	if _, c := h.counts(); c != 0 {
		t.Fatal("the backend of the tick in flight was closed under it")
	}
	close(h.sensor.Block)
	h.next(daemon.EventTickDone)
	h.next(daemon.EventWaiting)
	if _, closes := h.counts(); closes != 1 {
		t.Errorf("old backend closed %d times after its tick, want 1", closes)
	}
}

type fakeLeader struct {
	mu       sync.Mutex
	leader   bool
	released bool
}

func (l *fakeLeader) Campaign(context.Context) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.leader, nil
}

func (l *fakeLeader) Release(context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.released = true
	return nil
}

func TestFollowerOnlyPlans(t *testing.T) {
	l := &fakeLeader{}
	h := start(t, opts{leader: l})
	e := h.tick()
	// A follower stands by: the leader has not touched this target yet,
	// so there is nothing to plan from without a read, and reads are the
	// leader's to spend.
	if r := e.Result.Records[0]; r.Mode != controller.ModeNotLeader || r.Applied || r.ReadActual {
		t.Errorf("follower record mode=%s applied=%v read=%v, want not-leader, nothing applied or read", r.Mode, r.Applied, r.ReadActual)
	}
	if len(h.act.Changes()) != 0 {
		t.Errorf("a follower applied %+v", h.act.Changes())
	}
	if !strings.Contains(scrape(t, h.d), "autotuner_leader 0") {
		t.Error("leader gauge is not 0 for a follower")
	}
	l.mu.Lock()
	l.leader = true
	l.mu.Unlock()
	h.tick()
	if len(h.act.Changes()) != 1 {
		t.Errorf("the new leader applied %d changes, want 1", len(h.act.Changes()))
	}
	if !strings.Contains(scrape(t, h.d), "autotuner_leader 1") {
		t.Error("leader gauge is not 1 for the leader")
	}
	h.cancel()
	h.wait()
	if !l.released {
		t.Error("the lease was not released on stop")
	}
}

func TestHTTPEndpoints(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := start(t, opts{listener: ln})
	base := "http://" + ln.Addr().String()
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
	h.next(daemon.EventWaiting)
	if code, _ := get("/healthz"); code != 200 {
		t.Errorf("/healthz = %d", code)
	}
	if code, body := get("/readyz"); code != 200 {
		t.Errorf("/readyz right after start = %d %s, want 200", code, body)
	}
	h.clock.Set(t0.Add(time.Minute))
	h.next(daemon.EventTickDone)
	_, body := get("/metrics")
	for _, want := range []string{
		`autotuner_ticks_total{outcome="ok"} 1`,
		`autotuner_tick_duration_seconds_count 1`,
		`autotuner_decisions_total{action="up",mode="apply"} 1`,
		`autotuner_changes_applied_total{direction="up",target="consumer"} 1`,
		`autotuner_limit{target="consumer"} 20`,
		`autotuner_signal_value{signal="busy",target="consumer"} 20`,
		`autotuner_leader 1`,
		`autotuner_targets 2`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	// Ticks stop succeeding: readiness goes once the window (3 × 5m) passes.
	h.sensor.SetValue(20)
	h.sensor.Block = make(chan struct{}) // the next tick hangs
	h.fire()
	h.next(daemon.EventTickStarted)
	h.clock.Advance(16 * time.Minute)
	if code, body := get("/readyz"); code != 503 || !strings.Contains(body, "no successful tick within 15m0s") {
		t.Errorf("/readyz with a hung tick = %d %q, want 503", code, body)
	}
	close(h.sensor.Block)
	h.next(daemon.EventTickDone)
	if code, _ := get("/readyz"); code != 200 {
		t.Errorf("/readyz after a good tick = %d, want 200", code)
	}
	h.cancel()
	if err := h.wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("the HTTP server still answers after stop")
	}
}

func scrape(t *testing.T, d *daemon.Daemon) string {
	t.Helper()
	mfs, err := d.Metrics().Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, mf := range mfs {
		writeText(&b, mf)
	}
	return b.String()
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// One target that cannot read its signals makes the tick a failed one,
// however well the others read theirs: the log, the metrics and /readyz
// all say so, and readiness goes once no good tick fell within three
// periods (at least a minute).
func TestBlindTargetFailsTheTick(t *testing.T) {
	h := start(t, opts{})
	h.sensor.SetFail("consumer", "transient")
	td := h.tick()
	if got := td.Result.SenseFailures(); len(got) != 1 || got[0] != "consumer" {
		t.Fatalf("sense failures = %v, want [consumer]", got)
	}
	rec := td.Result.Records[0]
	if !rec.SenseFailed || rec.Stage != "sense" || rec.ErrorClass != controller.ClassTransient || rec.Applied {
		t.Errorf("record %+v: want a transient sensing failure, nothing applied", rec)
	}
	m := scrape(t, h.d)
	for _, want := range []string{
		`autotuner_ticks_total{outcome="failed"} 1`,
		`autotuner_ticks_total{outcome="ok"} 0`,
		`autotuner_sense_errors_total{class="transient",target="consumer"} 1`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if logs := h.logs.String(); !strings.Contains(logs, `msg="tick failed"`) || !strings.Contains(logs, "sense_failures=1") {
		t.Errorf("the tick was not logged as failed:\n%s", logs)
	}
	// Readiness: the daemon started within the window, so it is ready
	// until three of its longest periods (3 × 5m) pass with no good tick.
	if ok, why := h.d.Ready(); !ok {
		t.Fatalf("not ready within the window: %s", why)
	}
	for h.clock.Now().Before(t0.Add(15 * time.Minute)) {
		h.tick()
		if ok, why := h.d.Ready(); !ok {
			t.Fatalf("not ready at %v, within the window: %s", h.clock.Now(), why)
		}
	}
	h.tick()
	ok, why := h.d.Ready()
	if ok || !strings.Contains(why, "1 of 1 targets could not read their signals (consumer:") {
		t.Errorf("Ready() = %v %q; want not ready, saying which target is blind", ok, why)
	}
	h.sensor.SetFail("consumer", "")
	h.tick()
	if ok, why := h.d.Ready(); !ok {
		t.Errorf("not ready after a good tick: %s", why)
	}
}
