package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/controller"
)

// Build wires a controller for a loaded policies file. close releases what
// it opened (clients, the state file's lock) once no tick uses it.
type Build func(ctx context.Context, f *config.File) (c *controller.Controller, close func(), err error)

// Leader is the lease of the high-availability mode, as the daemon sees
// it: campaigned for at the start of every tick (a follower then only
// plans) and released on a clean stop so a follower takes over at once.
type Leader interface {
	Campaign(ctx context.Context) (bool, error)
	Release(ctx context.Context) error
}

// EventKind names what the daemon just did, for tests and debugging.
type EventKind string

const (
	EventWaiting      EventKind = "waiting"       // armed the timer for At
	EventTickStarted  EventKind = "tick-started"  //
	EventTickDone     EventKind = "tick-done"     //
	EventTickSkipped  EventKind = "tick-skipped"  // the previous tick was still running
	EventReloaded     EventKind = "reloaded"      //
	EventReloadFailed EventKind = "reload-failed" // the running configuration was kept
	EventStopping     EventKind = "stopping"      //
)

// Event is one step of the daemon's loop.
type Event struct {
	Kind    EventKind
	At      time.Time
	Targets []string           // for tick events; nil means all
	Result  *controller.Result // for EventTickDone
	Err     error              // for EventTickDone and EventReloadFailed
}

// Options configure a daemon. Load and Build are required.
type Options struct {
	// Load reads and validates the policies file, at start and on reload.
	Load  func() (*config.File, error)
	Build Build
	// Leader, when set, makes the daemon one replica of several: it
	// applies only while it holds the lease.
	Leader Leader
	Clock  Clock
	Logger *slog.Logger
	// Metrics defaults to NewMetrics().
	Metrics *Metrics
	// Listener serves /healthz, /readyz and /metrics when set.
	Listener net.Listener
	// MaxConns caps the endpoint's connections (see ConnCap); 0 means
	// DefaultMaxConns.
	MaxConns int
	// TickTimeout bounds one tick. 0 means 5 minutes.
	TickTimeout time.Duration
	// ShutdownGrace is how long a stop waits for the tick in flight
	// before cancelling it. 0 means TickTimeout.
	ShutdownGrace time.Duration
	// ReadyWindow is how recent the last good tick must be for /readyz.
	// 0 means three schedule periods, at least a minute.
	ReadyWindow time.Duration
	// DryRun forces dry-run for every target.
	DryRun bool
	// OnEvent, when set, is called from the loop after each step.
	OnEvent func(Event)
}

// generation is one loaded configuration and the controller built for it.
type generation struct {
	file  *config.File
	ctl   *controller.Controller
	close func()
	plan  *plan
	busy  bool // a tick is using it
}

// Daemon is the long-running mode.
type Daemon struct {
	o Options
	m *Metrics

	mu          sync.Mutex // guards the fields read by the HTTP handlers
	loaded      bool
	started     time.Time
	lastOK      time.Time
	lastErr     error
	readyWindow time.Duration

	conns *capListener // the endpoint's connections; nil without a listener
}

// New checks the options and fills in defaults.
func New(o Options) (*Daemon, error) {
	if o.Load == nil || o.Build == nil {
		return nil, errors.New("daemon: Load and Build are required")
	}
	if o.Clock == nil {
		o.Clock = RealClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics()
	}
	if o.TickTimeout <= 0 {
		o.TickTimeout = 5 * time.Minute
	}
	if o.ShutdownGrace <= 0 {
		o.ShutdownGrace = o.TickTimeout
	}
	d := &Daemon{o: o, m: o.Metrics}
	if o.Listener != nil {
		d.conns = newCapListener(o.Listener, ConnCap(o.MaxConns))
	}
	return d, nil
}

// Metrics returns the daemon's metrics.
func (d *Daemon) Metrics() *Metrics { return d.m }

type tickDone struct {
	gen *generation
	res *controller.Result
	err error
	dur time.Duration
}

// Run loads the configuration, then ticks until ctx is cancelled. A value
// on reload reloads the policies file. Run returns nil after a clean stop:
// the tick in flight finished (or timed out), state was saved, and the
// lease was released. It returns an error only when the first load fails
// or the HTTP listener breaks.
func (d *Daemon) Run(ctx context.Context, reload <-chan struct{}) error {
	now := d.o.Clock.Now()
	gen, err := d.load(ctx, now)
	if err != nil {
		return err
	}
	d.mu.Lock()
	d.started = now
	d.mu.Unlock()

	var srvErr chan error
	var srv *http.Server
	if d.o.Listener != nil {
		srv = newServer(d.Handler(), d.o.Logger, d.conns)
		srvErr = make(chan error, 1)
		go func() { srvErr <- srv.Serve(d.conns) }()
	}

	var (
		running  *generation // the generation of the tick in flight
		retired  []*generation
		done     = make(chan tickDone, 1)
		tickStop = context.CancelFunc(func() {})
		fatal    error
	)
	release := func(g *generation) {
		g.busy = false
		if g != gen {
			g.close()
		}
	}
	gen.plan.start(now)
loop:
	for {
		next := gen.plan.nextFiring()
		timer := d.o.Clock.NewTimer(next.Sub(d.o.Clock.Now()))
		d.emit(Event{Kind: EventWaiting, At: next})
		select {
		case <-ctx.Done():
			timer.Stop()
			break loop
		case err := <-srvErr:
			timer.Stop()
			fatal = fmt.Errorf("daemon: serving HTTP: %w", err)
			break loop
		case <-reload:
			timer.Stop()
			if g, ok := d.reload(ctx); ok {
				if gen.busy {
					retired = append(retired, gen)
				} else {
					gen.close()
				}
				gen = g
				gen.plan.start(d.o.Clock.Now())
				d.emit(Event{Kind: EventReloaded, At: d.o.Clock.Now()})
			}
		case td := <-done:
			timer.Stop()
			d.finish(td)
			running = nil
			tickStop()
			release(td.gen)
			retired = slicesDelete(retired, td.gen)
		case <-timer.C():
			now := d.o.Clock.Now()
			targets := gen.plan.due(now)
			if len(targets) == 0 {
				continue
			}
			if running != nil {
				d.m.skipped()
				d.o.Logger.Warn("tick skipped: the previous tick is still running", "targets", len(targets), "at", now)
				d.emit(Event{Kind: EventTickSkipped, At: now, Targets: targets})
				continue
			}
			only := targets
			if len(targets) == len(gen.file.Targets) {
				only = nil
			}
			running, gen.busy = gen, true
			tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.o.TickTimeout)
			tickStop = cancel
			d.emit(Event{Kind: EventTickStarted, At: now, Targets: only})
			go func(g *generation, only []string) {
				defer cancel()
				done <- d.tick(tctx, g, only)
			}(gen, only)
		}
	}

	return d.stop(ctx, stopping{gen: gen, running: running, retired: retired, done: done,
		tickStop: tickStop, release: release, srv: srv, srvErr: srvErr, fatal: fatal})
}

// stopping is what Run hands to its stopping stage: the generation in
// force, the tick in flight and its channel, generations retired by a
// reload, the HTTP server, and the error that ended the loop, if any.
type stopping struct {
	gen, running *generation
	retired      []*generation
	done         chan tickDone
	tickStop     context.CancelFunc
	release      func(*generation)
	srv          *http.Server
	srvErr       chan error
	fatal        error
}

// stop starts no new tick, lets the one in flight finish (or cancels it
// after the grace period), saves state, releases the lease and closes
// the HTTP server. It returns the first error that needs reporting.
func (d *Daemon) stop(ctx context.Context, st stopping) error {
	gen, running, retired, done, tickStop, release, srv, srvErr, fatal :=
		st.gen, st.running, st.retired, st.done, st.tickStop, st.release, st.srv, st.srvErr, st.fatal
	// Stopping: no new ticks; let the one in flight finish or time out.
	d.emit(Event{Kind: EventStopping, At: d.o.Clock.Now()})
	if running != nil {
		d.o.Logger.Info("stopping: waiting for the tick in flight", "grace", d.o.ShutdownGrace)
		grace := d.o.Clock.NewTimer(d.o.ShutdownGrace)
		d.emit(Event{Kind: EventWaiting, At: d.o.Clock.Now().Add(d.o.ShutdownGrace)})
		var td tickDone
		select {
		case td = <-done:
		case <-grace.C():
			d.o.Logger.Warn("stopping: the tick in flight outlived the grace period; cancelling it")
			tickStop()
			td = <-done
		}
		grace.Stop()
		tickStop()
		d.finish(td)
		release(td.gen)
		retired = slicesDelete(retired, td.gen)
	}
	for _, g := range retired {
		g.close()
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := d.save(sctx, gen); err != nil {
		d.o.Logger.Error("stopping: saving state failed", "err", err)
		if fatal == nil {
			fatal = err
		}
	}
	gen.close()
	if d.o.Leader != nil {
		if err := d.o.Leader.Release(sctx); err != nil {
			d.o.Logger.Warn("stopping: releasing the lease failed; a follower takes over when it expires", "err", err)
		}
		d.m.setLeader(false)
	}
	if srv != nil {
		if err := srv.Shutdown(sctx); err != nil {
			srv.Close()
		}
		if err := <-srvErr; err != nil && !errors.Is(err, http.ErrServerClosed) && fatal == nil {
			fatal = fmt.Errorf("daemon: serving HTTP: %w", err)
		}
	}
	d.o.Logger.Info("stopped")
	return fatal
}

func slicesDelete(gs []*generation, g *generation) []*generation {
	out := gs[:0]
	for _, x := range gs {
		if x != g {
			out = append(out, x)
		}
	}
	return out
}

// save commits a batching store, so nothing decided is lost on exit.
func (d *Daemon) save(ctx context.Context, g *generation) error {
	if cm, ok := g.ctl.Store.(controller.Committer); ok {
		if err := cm.Commit(ctx); err != nil {
			return fmt.Errorf("saving state: %w", err)
		}
	}
	return nil
}

// tick runs one tick; it is the only code that runs off the loop goroutine.
func (d *Daemon) tick(ctx context.Context, g *generation, only []string) tickDone {
	start := d.o.Clock.Now()
	opt := controller.TickOptions{Only: only}
	if d.o.Leader != nil {
		ok, err := d.o.Leader.Campaign(ctx)
		if err != nil {
			d.o.Logger.Warn("lease campaign failed; planning only", "err", err)
		}
		d.m.setLeader(ok)
		opt.Plan = !ok    // a follower may plan, never apply or save
		opt.Standby = !ok // and it leaves the control-plane quota to the leader
	}
	res, err := g.ctl.Tick(ctx, start, opt)
	return tickDone{gen: g, res: res, err: err, dur: d.o.Clock.Now().Sub(start)}
}

// finish accounts for a tick that ended.
func (d *Daemon) finish(td tickDone) {
	now := d.o.Clock.Now()
	d.m.observe(td.res, td.err, td.dur, now)
	err := tickErr(td.res, td.err)
	d.mu.Lock()
	d.lastErr = err
	if err == nil {
		d.lastOK = now
	}
	d.mu.Unlock()
	attrs := []any{"duration", td.dur}
	if td.res != nil {
		applied := 0
		for _, r := range td.res.Records {
			if r.Applied {
				applied++
			}
		}
		for _, r := range td.res.Recovered {
			if r.Applied {
				applied++
			}
		}
		attrs = append(attrs, "targets", len(td.res.Records), "applied", applied, "errors", td.res.Errors(),
			"sense_failures", len(td.res.SenseFailures()), "recovered", len(td.res.Recovered))
	}
	if err != nil {
		d.o.Logger.Error("tick failed", append(attrs, "err", err)...)
	} else {
		d.o.Logger.Info("tick done", attrs...)
	}
	d.emit(Event{Kind: EventTickDone, At: now, Result: td.res, Err: td.err})
}

// tickErr is why a tick is not a good one (see tickOK), or nil.
func tickErr(res *controller.Result, err error) error {
	switch {
	case err != nil:
		return err
	case res == nil:
		return errors.New("the tick returned no result")
	case res.SenseErr != nil:
		return res.SenseErr
	}
	if blind := res.SenseFailures(); len(blind) > 0 {
		first := ""
		for _, r := range res.Records {
			if r.Target == blind[0] {
				first = r.Error
			}
		}
		return fmt.Errorf("%d of %d targets could not read their signals (%s: %s)", len(blind), len(res.Records), blind[0], first)
	}
	return nil
}

// load reads the policies file and builds its controller.
func (d *Daemon) load(ctx context.Context, now time.Time) (*generation, error) {
	f, err := d.o.Load()
	if err != nil {
		return nil, err
	}
	p, err := newPlan(f)
	if err != nil {
		return nil, err
	}
	ctl, closeFn, err := d.o.Build(ctx, f)
	if err != nil {
		return nil, err
	}
	if closeFn == nil {
		closeFn = func() {}
	}
	if d.o.DryRun {
		ctl.DryRun = true
	}
	if d.o.Leader == nil {
		d.m.setLeader(true)
	}
	d.m.configLoaded(now, len(f.Targets))
	d.mu.Lock()
	d.loaded = true
	d.readyWindow = d.o.ReadyWindow
	if d.readyWindow <= 0 {
		d.readyWindow = max(3*p.period(now), time.Minute)
	}
	d.m.readyWindow.Set(d.readyWindow.Seconds())
	d.mu.Unlock()
	return &generation{file: f, ctl: ctl, close: closeFn, plan: p}, nil
}

// reload loads the policies file again. When anything is wrong, every
// problem is logged and the running configuration stays.
func (d *Daemon) reload(ctx context.Context) (*generation, bool) {
	now := d.o.Clock.Now()
	g, err := d.load(ctx, now)
	if err != nil {
		// Log first, then count: whoever sees the counter move finds
		// the reasons already written.
		problems := Problems(err)
		d.o.Logger.Error("reload failed; keeping the running configuration", "problems", len(problems))
		for _, p := range problems {
			d.o.Logger.Error("reload: " + p)
		}
		d.m.reloaded(false)
		d.emit(Event{Kind: EventReloadFailed, At: now, Err: err})
		return nil, false
	}
	d.o.Logger.Info("reloaded the policies file", "path", g.file.Path, "targets", len(g.file.Targets))
	d.m.reloaded(true)
	return g, true
}

// Problems flattens an error into one message per problem: a policies
// file's positioned errors, or the parts of a joined error.
func Problems(err error) []string {
	var ce config.Errors
	if errors.As(err, &ce) {
		out := make([]string, len(ce))
		for i, e := range ce {
			out[i] = e.Error()
		}
		return out
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []string
		for _, e := range j.Unwrap() {
			out = append(out, Problems(e)...)
		}
		return out
	}
	return []string{err.Error()}
}

func (d *Daemon) emit(e Event) {
	if d.o.OnEvent != nil {
		d.o.OnEvent(e)
	}
}
