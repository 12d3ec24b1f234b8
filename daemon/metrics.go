package daemon

import (
	"math"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/policy"
)

// Metrics are the daemon's Prometheus series, on a registry of their own so
// that tests and several daemons in one process never collide.
type Metrics struct {
	Registry *prometheus.Registry

	ticks        *prometheus.CounterVec // outcome: ok, failed, skipped
	tickDuration prometheus.Histogram   //
	decisions    *prometheus.CounterVec // action
	applied      *prometheus.CounterVec // target, direction
	errors       *prometheus.CounterVec // class, stage
	senseErrors  *prometheus.CounterVec // target, class
	limit        *prometheus.GaugeVec   // target
	signal       *prometheus.GaugeVec   // target, signal
	decreases    *prometheus.GaugeVec   // target
	leader       prometheus.Gauge       //
	reloads      *prometheus.CounterVec // result
	lastSuccess  prometheus.Gauge       //
	configTime   prometheus.Gauge       //
	targets      prometheus.Gauge       //
	guarded      *prometheus.CounterVec // target, guard
	drift        *prometheus.CounterVec // target
	readyWindow  prometheus.Gauge       //
}

// NewMetrics registers every series on a fresh registry, with the Go and
// process collectors.
func NewMetrics() *Metrics {
	r := prometheus.NewRegistry()
	m := &Metrics{
		Registry: r,
		ticks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "autotuner_ticks_total",
			Help: "Ticks by outcome: ok, failed (the tick itself failed, or any target could not read its signals) or skipped (the previous tick was still running)."}, []string{"outcome"}),
		tickDuration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "autotuner_tick_duration_seconds",
			Help: "Wall time of a tick.", Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300}}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "autotuner_decisions_total",
			Help: "Decisions by action (up, down, hold) and mode (apply, dry-run, plan, not-leader)."}, []string{"action", "mode"}),
		applied: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "autotuner_changes_applied_total",
			Help: "Changes applied to a service, by target and direction."}, []string{"target", "direction"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "autotuner_errors_total",
			Help: "Per-target errors by class (throttled, transient, conflict, quota, invalid, permission, not_found, refused, internal) and stage."}, []string{"class", "stage"}),
		senseErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "autotuner_sense_errors_total",
			Help: "Evaluations of a target some of whose signals could not be read (the service did not answer), by target and the class of the first failure."}, []string{"target", "class"}),
		limit: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "autotuner_limit",
			Help: "The target's limit after the last tick (what is in force, or would be in dry-run)."}, []string{"target"}),
		signal: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "autotuner_signal_value",
			Help: "The last reading of each signal; NaN when the signal had no data."}, []string{"target", "signal"}),
		decreases: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "autotuner_dynamodb_decreases_remaining",
			Help: "DynamoDB capacity decreases still possible today (UTC) for the target's table or index."}, []string{"target"}),
		leader: prometheus.NewGauge(prometheus.GaugeOpts{Name: "autotuner_leader",
			Help: "1 when this replica holds the lease (or runs alone) and may apply changes."}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "autotuner_config_reloads_total",
			Help: "Policies-file reloads by result: ok or failed (the running configuration was kept)."}, []string{"result"}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{Name: "autotuner_last_successful_tick_timestamp_seconds",
			Help: "Unix time of the last tick that read its signals and finished."}),
		configTime: prometheus.NewGauge(prometheus.GaugeOpts{Name: "autotuner_config_loaded_timestamp_seconds",
			Help: "Unix time the running policies file was loaded."}),
		targets: prometheus.NewGauge(prometheus.GaugeOpts{Name: "autotuner_targets",
			Help: "Targets in the running policies file."}),
		guarded: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "autotuner_guard_limited_total",
			Help: "Decisions a guard changed, by target and guard (bounds, service, max_step_up, cooldown_down, ...): bounds and service are the min/max and service-quota refusals."}, []string{"target", "guard"}),
		readyWindow: prometheus.NewGauge(prometheus.GaugeOpts{Name: "autotuner_ready_window_seconds",
			Help: "How recent the last good tick must be for /readyz: three periods of the slowest schedule, at least a minute."}),
		drift: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "autotuner_drift_total",
			Help: "Times the service reported a limit other than the one autotuner last set (changed by hand or by another tool), by target."}, []string{"target"}),
	}
	r.MustRegister(m.collectors()...)
	for _, o := range []string{"ok", "failed", "skipped"} {
		m.ticks.WithLabelValues(o)
	}
	for _, o := range []string{"ok", "failed"} {
		m.reloads.WithLabelValues(o)
	}
	return m
}

// collectors is every collector the registry serves; the deploy/ checks
// read the exported names from it.
func (m *Metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.ticks, m.tickDuration, m.decisions, m.applied, m.errors, m.senseErrors, m.limit, m.signal,
		m.decreases, m.leader, m.reloads, m.lastSuccess, m.configTime, m.targets, m.guarded, m.drift, m.readyWindow, newBuildInfo(),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})}
}

func (m *Metrics) skipped() { m.ticks.WithLabelValues("skipped").Inc() }

func (m *Metrics) setLeader(ok bool) {
	if ok {
		m.leader.Set(1)
	} else {
		m.leader.Set(0)
	}
}

// configLoaded resets per-target series, so targets removed from the file
// stop being reported.
func (m *Metrics) configLoaded(now time.Time, targets int) {
	m.limit.Reset()
	m.signal.Reset()
	m.decreases.Reset()
	m.configTime.Set(float64(now.UnixNano()) / 1e9)
	m.targets.Set(float64(targets))
}

// observe records a finished tick.
func (m *Metrics) observe(res *controller.Result, err error, dur time.Duration, now time.Time) {
	m.tickDuration.Observe(dur.Seconds())
	if !tickOK(res, err) {
		m.ticks.WithLabelValues("failed").Inc()
	} else {
		m.ticks.WithLabelValues("ok").Inc()
		m.lastSuccess.Set(float64(now.UnixNano()) / 1e9)
	}
	if res == nil {
		return
	}
	for _, r := range res.Recovered {
		if r.Applied {
			dir := policy.Up
			if r.Final < r.Current {
				dir = policy.Down
			}
			m.applied.WithLabelValues(r.Target, string(dir)).Inc()
		}
	}
	for _, r := range res.Records {
		action := policy.Hold
		if r.Decision != nil {
			action = r.Decision.Action
		}
		m.decisions.WithLabelValues(string(action), string(r.Mode)).Inc()
		if r.Applied {
			m.applied.WithLabelValues(r.Target, string(action)).Inc()
		}
		m.observeGuards(r)
		if r.SenseFailed {
			m.senseErrors.WithLabelValues(r.Target, string(r.ErrorClass)).Inc()
		}
		if r.Error != "" {
			m.errors.WithLabelValues(string(r.ErrorClass), r.Stage).Inc()
		}
		if r.Decision != nil || r.ReadActual {
			m.limit.WithLabelValues(r.Target).Set(r.Final)
		}
		for name, s := range r.Signals {
			v := math.NaN()
			if s.Present() {
				v = s.Value
			}
			m.signal.WithLabelValues(r.Target, name).Set(v)
		}
		if q := r.Constraints.Decreases; q.Enforced {
			m.decreases.WithLabelValues(r.Target).Set(float64(q.Remaining(now)))
		}
	}
}

// tickOK is the one rule for a good tick, shared by the metrics, the
// log and /readyz: the tick finished, and every target it evaluated read
// its signals. A target running blind makes the tick a failed one,
// however many others read theirs.
func tickOK(res *controller.Result, err error) bool {
	return err == nil && res != nil && res.SenseErr == nil && len(res.SenseFailures()) == 0
}

// reloaded counts a reload attempt.
func (m *Metrics) reloaded(ok bool) {
	if ok {
		m.reloads.WithLabelValues("ok").Inc()
	} else {
		m.reloads.WithLabelValues("failed").Inc()
	}
}
