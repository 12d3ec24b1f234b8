package lambdamode

import (
	"encoding/json"
	"io"
	"sort"
	"time"

	"github.com/autotuner/autotuner/controller"
)

// DefaultNamespace holds the metrics when AUTOTUNER_METRICS_NAMESPACE is
// unset; MetricNeedsAttention counts what a person must fix (the SAM
// template's alarm watches it).
const (
	DefaultNamespace     = "Autotuner"
	MetricNeedsAttention = "NeedsAttention"
)

// EMF writes CloudWatch Embedded Metric Format lines: one JSON object per
// line that CloudWatch Logs turns into metrics, with no PutMetricData call
// and no extra permission.
type EMF struct {
	W         io.Writer
	Namespace string // DefaultNamespace when empty
}

type emfMetric struct {
	Name string `json:"Name"`
	Unit string `json:"Unit,omitempty"`
}

type emfDirective struct {
	Namespace  string      `json:"Namespace"`
	Dimensions [][]string  `json:"Dimensions"`
	Metrics    []emfMetric `json:"Metrics"`
}

type emfMeta struct {
	Timestamp         int64          `json:"Timestamp"`
	CloudWatchMetrics []emfDirective `json:"CloudWatchMetrics"`
}

func (e *EMF) line(at time.Time, dims []string, metrics []emfMetric, values map[string]any) error {
	ns := e.Namespace
	if ns == "" {
		ns = DefaultNamespace
	}
	if dims == nil {
		dims = []string{}
	}
	values["_aws"] = emfMeta{Timestamp: at.UnixMilli(), CloudWatchMetrics: []emfDirective{{Namespace: ns, Dimensions: [][]string{dims}, Metrics: metrics}}}
	b, err := json.Marshal(values)
	if err != nil {
		return err
	}
	_, err = e.W.Write(append(b, '\n'))
	return err
}

// Tick writes the metrics of one invocation: a summary line, one line per
// target (its limit, whether it changed, its errors, and DynamoDB
// decreases left), and one line per present signal reading.
func (e *EMF) Tick(res *controller.Result, kind Kind, dur time.Duration, now time.Time) error {
	applied, errs, attention := 0, 0, 0
	decisions := map[string]int{}
	for _, r := range res.Records {
		if r.Applied {
			applied++
		}
		if r.Error != "" {
			errs++
			if r.ErrorClass.NeedsHuman() {
				attention++
			}
		}
		if r.Decision != nil {
			decisions[string(r.Decision.Action)]++
		}
	}
	summary := map[string]any{
		"Event": string(kind), "Ticks": 1, "TickDuration": float64(dur.Microseconds()) / 1000,
		"Evaluated": len(res.Records), "Applied": applied, "Errors": errs,
		"DecisionsUp": decisions["up"], "DecisionsDown": decisions["down"], "DecisionsHold": decisions["hold"],
		MetricNeedsAttention: attention,
	}
	// Targets that could not read their signals: every target when the
	// batched read failed, else those the service did not answer.
	summary["SenseFailures"] = len(res.SenseFailures())
	if err := e.line(now, nil, []emfMetric{
		{"Ticks", "Count"}, {"TickDuration", "Milliseconds"}, {"Evaluated", "Count"}, {"Applied", "Count"},
		{"Errors", "Count"}, {"DecisionsUp", "Count"}, {"DecisionsDown", "Count"}, {"DecisionsHold", "Count"},
		{"SenseFailures", "Count"}, {MetricNeedsAttention, "Count"},
	}, summary); err != nil {
		return err
	}
	for _, r := range res.Records {
		v := map[string]any{"Target": r.Target, "Kind": r.Kind, "Mode": string(r.Mode), "Limit": r.Final, "Changed": boolInt(r.Applied), "TargetErrors": boolInt(r.Error != "")}
		ms := []emfMetric{{"Limit", "None"}, {"Changed", "Count"}, {"TargetErrors", "Count"}}
		if r.ErrorClass != "" {
			v["ErrorClass"] = string(r.ErrorClass)
		}
		if q := r.Constraints.Decreases; q.Enforced {
			v["DecreasesRemaining"] = q.Remaining(now)
			ms = append(ms, emfMetric{"DecreasesRemaining", "Count"})
		}
		if err := e.line(now, []string{"Target"}, ms, v); err != nil {
			return err
		}
		names := make([]string, 0, len(r.Signals))
		for n := range r.Signals {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			s := r.Signals[n]
			if !s.Present() {
				continue
			}
			if err := e.line(now, []string{"Target", "Signal"}, []emfMetric{{"SignalValue", "None"}},
				map[string]any{"Target": r.Target, "Signal": n, "SignalValue": s.Value}); err != nil {
				return err
			}
		}
	}
	return nil
}

// PoliciesStale writes the line of an invocation that found the policies
// in S3 or SSM unreadable or invalid and kept the last good file: a
// person must fix the file, so it counts in NeedsAttention too.
func (e *EMF) PoliciesStale(now time.Time) error {
	return e.line(now, nil, []emfMetric{{"PoliciesStale", "Count"}, {MetricNeedsAttention, "Count"}},
		map[string]any{"PoliciesStale": 1, MetricNeedsAttention: 1})
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
