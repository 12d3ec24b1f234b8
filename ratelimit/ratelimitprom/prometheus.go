package ratelimitprom

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/autotuner/autotuner/ratelimit"
)

// Recorder publishes the limiter's metrics in a long-running process.
type Recorder struct {
	acquired, denied, degraded *prometheus.CounterVec
	wait                       *prometheus.HistogramVec
}

var _ ratelimit.Recorder = (*Recorder)(nil)

// New registers the limiter's metrics on reg.
func New(reg prometheus.Registerer) *Recorder {
	p := &Recorder{
		acquired: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "autotuner_ratelimit_acquired_tokens_total", Help: "Tokens granted by the shared rate limiter."}, []string{"bucket"}),
		denied:   prometheus.NewCounterVec(prometheus.CounterOpts{Name: "autotuner_ratelimit_denied_tokens_total", Help: "Tokens asked for and denied by the shared rate limiter."}, []string{"bucket"}),
		degraded: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "autotuner_ratelimit_degraded_total", Help: "Acquires answered by the error mode because DynamoDB could not."}, []string{"bucket"}),
		wait: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "autotuner_ratelimit_wait_seconds", Help: "Wait reported with each denial.",
			Buckets: []float64{0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30}}, []string{"bucket"}),
	}
	reg.MustRegister(p.acquired, p.denied, p.degraded, p.wait)
	return p
}

// Record implements ratelimit.Recorder.
func (p *Recorder) Record(bucket string, e ratelimit.Event) {
	if e.Acquired > 0 {
		p.acquired.WithLabelValues(bucket).Add(e.Acquired)
	}
	if e.Denied > 0 {
		p.denied.WithLabelValues(bucket).Add(e.Denied)
		if e.Wait >= 0 {
			p.wait.WithLabelValues(bucket).Observe(e.Wait.Seconds())
		}
	}
	if e.Degraded {
		p.degraded.WithLabelValues(bucket).Inc()
	}
}
