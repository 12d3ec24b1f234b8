package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/daemon"
	"github.com/autotuner/autotuner/state"
)

func init() {
	register(command{name: "run", summary: "run as a daemon: tick on the schedule, serve /healthz, /readyz and /metrics", run: runDaemon})
}

// Hooks that tests replace: the daemon's clock, the SIGHUP source, and a
// callback with the HTTP listener's address.
var (
	daemonClock daemon.Clock = daemon.RealClock{}
	notifyHUP                = func() (<-chan os.Signal, func()) {
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGHUP)
		return ch, func() { signal.Stop(ch) }
	}
	onListen = func(net.Addr) {}
	// discoverTicks paces the evaluation of selector entries.
	discoverTicks = func(d time.Duration) (<-chan time.Time, func()) {
		t := time.NewTicker(d)
		return t.C, t.Stop
	}
	daemonEvents func(daemon.Event)
)

// defaultListen is loopback: metrics and health are for a local agent or a
// sidecar; exposing them wider is a choice the operator makes.
const defaultListen = "127.0.0.1:9107"

func runDaemon(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "run", "[-c policies.yaml] [flags]")
	rf := newRunFlags(fs)
	cfgPath, listen, dry, tickTimeout, grace, auditPath, sf := rf.cfgPath, rf.listen, rf.dry, rf.tickTimeout, rf.grace, rf.auditPath, rf.state
	// Flags > AUTOTUNER_* variables > defaults: containers and units set
	// the daemon up without a command line.
	if err := bindEnv(fs, e.getenv); err != nil {
		fmt.Fprintf(e.stderr, "autotuner run: %v\n", err)
		return exitUsage
	}
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(e.stderr, "autotuner run: unexpected arguments %q\n", fs.Args())
		return exitUsage
	}
	// Validate once up front so a broken file exits 2 with every error.
	f0, err := loadPolicies(ctx, e, *cfgPath, false)
	if err != nil {
		fmt.Fprintln(e.stderr, err)
		return exitUsage
	}

	// The lease is renewed once per tick: a shorter one lapses between
	// ticks, and a follower (or revert --lease) would take the leader for
	// gone. Checked at start and on every reload.
	leaseFits := func(f *config.File) error {
		if *sf.lease == "" {
			return nil
		}
		if gap, err := daemon.LongestGap(f, daemonClock.Now()); err == nil && *sf.leaseTTL <= gap {
			return fmt.Errorf("--lease-ttl %s must be longer than the longest wait between ticks, %s: the lease is renewed once per tick", *sf.leaseTTL, gap)
		}
		return nil
	}
	if err := leaseFits(f0); err != nil {
		fmt.Fprintf(e.stderr, "autotuner run: %v\n", err)
		return exitUsage
	}
	st, err := sf.open(ctx, f0.Defaults.Region)
	if err != nil {
		fmt.Fprintf(e.stderr, "autotuner run: %v\n", err)
		return exitFailure
	}
	defer st.close()

	var audit controller.AuditSink = st.audit
	var af *auditFile
	if *auditPath != "" {
		af, err = openAuditFile(*auditPath)
		if err != nil {
			fmt.Fprintf(e.stderr, "autotuner run: %v\n", err)
			return exitFailure
		}
		defer af.Close()
		audit = teeAudit(audit, af)
	}

	var ln net.Listener
	if *listen != "" && *listen != "off" {
		if err := checkListen(*listen, *rf.listenPublic, e.logger); err != nil {
			fmt.Fprintf(e.stderr, "autotuner run: %v\n", err)
			return exitUsage
		}
		ln, err = net.Listen("tcp", *listen)
		if err != nil {
			fmt.Fprintf(e.stderr, "autotuner run: listening on %s: %v\n", *listen, err)
			return exitFailure
		}
		onListen(ln.Addr())
		e.logger.Info("serving health and metrics", "addr", ln.Addr().String())
	}

	build := func(ctx context.Context, f *config.File) (*controller.Controller, func(), error) {
		be, err := newBackend(ctx, e, f)
		if err != nil {
			return nil, nil, err
		}
		c := &controller.Controller{Config: f, Sensor: be.sensor, Actuators: be.actuators, Store: st.store, Audit: audit, Logger: e.logger, CheckEvery: be.checkEvery}
		if st.lease != nil {
			c.Gate = st.lease
		}
		return c, be.close, nil
	}
	o := daemon.Options{
		Load: func() (*config.File, error) {
			f, err := loadPolicies(ctx, e, *cfgPath, false)
			if err == nil {
				err = leaseFits(f)
			}
			if err != nil {
				return nil, err
			}
			return f, nil
		},
		Build:         build,
		Clock:         daemonClock,
		Logger:        e.logger,
		Listener:      ln,
		MaxConns:      *rf.maxConns,
		TickTimeout:   *tickTimeout,
		ShutdownGrace: *grace,
		DryRun:        *dry,
		OnEvent:       daemonEvents,
	}
	if st.lease != nil {
		o.Leader = st.lease
	}
	d, err := daemon.New(o)
	if err != nil {
		fmt.Fprintf(e.stderr, "autotuner run: %v\n", err)
		return exitFailure
	}

	hup, stopHUP := notifyHUP()
	defer stopHUP()
	reload := make(chan struct{})
	fwdCtx, stopFwd := context.WithCancel(ctx)
	defer stopFwd()
	// Selector entries are evaluated again every defaults.discover_every,
	// by a reload: a failed one keeps the running configuration.
	var discover <-chan time.Time
	if f0.Selectors > 0 {
		ch, stop := discoverTicks(f0.Defaults.DiscoverEvery)
		defer stop()
		discover = ch
	}
	go func() {
		for {
			select {
			case <-fwdCtx.Done():
				return
			case <-discover:
				e.logger.Info("evaluating selector entries again", "every", f0.Defaults.DiscoverEvery.String())
				select {
				case reload <- struct{}{}:
				case <-fwdCtx.Done():
					return
				}
			case <-hup:
				if af != nil {
					// logrotate's postrotate sends SIGHUP: write on at the path.
					if err := af.Reopen(); err != nil {
						e.logger.Error("SIGHUP: reopening the audit file failed; still writing to the old one", "path", *auditPath, "err", err)
					} else {
						e.logger.Info("SIGHUP: audit file reopened", "path", *auditPath)
					}
				}
				e.logger.Info("SIGHUP: reloading the policies file", "path", *cfgPath)
				select {
				case reload <- struct{}{}:
				case <-fwdCtx.Done():
					return
				}
			}
		}
	}()

	e.logger.Info("autotuner daemon starting", "version", versionString(), "config", *cfgPath, "state", sf.describe())
	if err := d.Run(ctx, reload); err != nil {
		fmt.Fprintf(e.stderr, "autotuner run: %s\n", strings.Join(daemon.Problems(err), "\n"))
		if errors.As(err, new(config.Errors)) {
			return exitUsage
		}
		return exitFailure
	}
	return exitOK
}

// runFlags are the daemon's flags.
type runFlags struct {
	cfgPath, listen, auditPath *string
	dry, listenPublic          *bool
	maxConns                   *int
	tickTimeout, grace         *time.Duration
	state                      *stateOpts
}

func newRunFlags(fs *flag.FlagSet) *runFlags {
	return &runFlags{
		cfgPath:      configFlag(fs),
		listen:       fs.String("listen", defaultListen, `address for /healthz, /readyz and /metrics ("off" to disable)`),
		listenPublic: fs.Bool("listen-public", false, "allow --listen on an address other than loopback (logs a warning)"),
		maxConns:     fs.Int("max-connections", daemon.DefaultMaxConns, "most connections the endpoint holds; idle ones are evicted first (lowered to a quarter of the descriptor limit)"),
		dry:          fs.Bool("dry-run", false, "decide and remember, apply nothing, for every target"),
		tickTimeout:  fs.Duration("tick-timeout", 5*time.Minute, "longest a tick may run before it is cancelled"),
		grace:        fs.Duration("shutdown-grace", 0, "on SIGTERM, how long to wait for the tick in flight (default: --tick-timeout)"),
		auditPath:    fs.String("audit", "", "append audit records (JSON lines) to this file"),
		state:        stateFlags(fs),
	}
}

// teeAudit writes every record to each sink that is set.
func teeAudit(sinks ...controller.AuditSink) controller.AuditSink {
	var live []controller.AuditSink
	for _, s := range sinks {
		if s != nil {
			live = append(live, s)
		}
	}
	if len(live) == 1 {
		return live[0]
	}
	return auditTee(live)
}

type auditTee []controller.AuditSink

// HasOutcome: a change's line is written if any sink that can tell has it.
func (t auditTee) HasOutcome(change string) (bool, error) {
	for _, s := range t {
		if l, ok := s.(controller.AuditLookup); ok {
			if found, err := l.HasOutcome(change); found || err != nil {
				return found, err
			}
		}
	}
	return false, nil
}

// Sync makes every sink that can durable.
func (t auditTee) Sync() error {
	var errs []error
	for _, s := range t {
		if y, ok := s.(interface{ Sync() error }); ok {
			errs = append(errs, y.Sync())
		}
	}
	return errors.Join(errs...)
}

func (t auditTee) Write(r *controller.Record) error {
	var errs []error
	for _, s := range t {
		errs = append(errs, s.Write(r))
	}
	return errors.Join(errs...)
}

// stateOpts are the flags that choose where state lives.
type stateOpts struct {
	path     *string
	table    *string
	lease    *string
	leaseTTL *time.Duration
	owner    *string
	auditTTL *time.Duration
}

func stateFlags(fs interface {
	String(string, string, string) *string
	Duration(string, time.Duration, string) *time.Duration
}) *stateOpts {
	return &stateOpts{
		path:     fs.String("state", "autotuner-state.json", "state file (the default store)"),
		table:    fs.String("state-table", "", "keep state in this DynamoDB table instead of the file"),
		lease:    fs.String("lease", "", "with --state-table: run as one of several replicas; only the holder of this lease applies"),
		leaseTTL: fs.Duration("lease-ttl", 3*time.Minute, "how long the lease lasts without renewal; a follower takes over within twice this"),
		owner:    fs.String("owner", "", "this replica's name in the lease (default: host name and process id)"),
		auditTTL: fs.Duration("audit-ttl", 0, "with --state-table: also write each audit record to the table, kept this long"),
	}
}

func (s *stateOpts) describe() string {
	if *s.table != "" {
		d := "dynamodb table " + *s.table
		if *s.lease != "" {
			d += ", lease " + *s.lease
		}
		return d
	}
	return "file " + *s.path
}

// openState is what a command gets from stateOpts.open.
type openState struct {
	store controller.Store
	ddb   state.DynamoDBAPI // the state table's client; nil for a file
	lease *state.Lease      // nil without --lease
	audit controller.AuditSink
	close func()
}
