package daemon

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/internal/buildinfo"
)

// newBuildInfo is autotuner_build_info: always 1, the build in its labels,
// so a dashboard can join on it and an upgrade shows as a label change.
func newBuildInfo() prometheus.Collector {
	in := buildinfo.Get()
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "autotuner_build_info",
		Help: "Always 1; the labels say which build is running."}, []string{"version", "commit", "goversion"})
	g.WithLabelValues(in.Version, in.Commit, in.GoVersion).Set(1)
	return g
}

// observeGuards counts the guards that shaped a decision and a limit
// changed outside autotuner, for the alert rules in deploy/prometheus.
func (m *Metrics) observeGuards(r *controller.Record) {
	if r.Drift != nil {
		m.drift.WithLabelValues(r.Target).Inc()
	}
	if r.Decision == nil {
		return
	}
	for _, g := range r.Decision.Steps() {
		m.guarded.WithLabelValues(r.Target, g.Guard).Inc()
	}
}
