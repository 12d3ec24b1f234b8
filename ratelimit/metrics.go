package ratelimit

import (
	"encoding/json"
	"io"
	"sort"
	"sync"
	"time"
)

// Event is one Acquire as the metrics see it.
type Event struct {
	Acquired float64       // tokens granted
	Denied   float64       // tokens asked for and not granted
	Wait     time.Duration // the wait reported with a denial
	Degraded bool          // DynamoDB could not answer; OnError decided
}

// Recorder receives one Event per Acquire (or per lease spend).
type Recorder interface {
	Record(bucket string, e Event)
}

// MetricNamespace is the CloudWatch namespace the limiter publishes to.
// autotuner reads Acquired, Denied and WaitSeconds from it, dimension
// Bucket, as a ratelimit-bucket target's signals.
const MetricNamespace = "Autotuner/RateLimit"

// EMF gathers events and writes them as CloudWatch Embedded Metric Format
// log lines, one per bucket per Flush: in Lambda, a line on stdout is a
// metric, with no PutMetricData call on the request path.
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
type EMF struct {
	mu sync.Mutex
	m  map[string]*emfAgg
}

var _ Recorder = (*EMF)(nil)

type emfAgg struct {
	acquired, denied, degraded float64
	waits                      []float64
}

// emfMaxValues is EMF's limit of values in one metric array.
const emfMaxValues = 100

func (e *EMF) Record(bucket string, ev Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.m == nil {
		e.m = map[string]*emfAgg{}
	}
	a := e.m[bucket]
	if a == nil {
		a = &emfAgg{}
		e.m[bucket] = a
	}
	a.acquired += ev.Acquired
	a.denied += ev.Denied
	if ev.Degraded {
		a.degraded++
	}
	if ev.Denied > 0 && ev.Wait >= 0 && len(a.waits) < emfMaxValues {
		a.waits = append(a.waits, ev.Wait.Seconds())
	}
}

// Flush writes one EMF line per bucket with events since the last Flush.
func (e *EMF) Flush(w io.Writer, at time.Time) error {
	e.mu.Lock()
	m := e.m
	e.m = nil
	e.mu.Unlock()
	names := make([]string, 0, len(m))
	for b := range m {
		names = append(names, b)
	}
	sort.Strings(names)
	for _, b := range names {
		a := m[b]
		metrics := []map[string]string{{"Name": "Acquired", "Unit": "Count"}, {"Name": "Denied", "Unit": "Count"}, {"Name": "Degraded", "Unit": "Count"}}
		line := map[string]any{"Bucket": b, "Acquired": a.acquired, "Denied": a.denied, "Degraded": a.degraded}
		if len(a.waits) > 0 {
			metrics = append(metrics, map[string]string{"Name": "WaitSeconds", "Unit": "Seconds"})
			line["WaitSeconds"] = a.waits
		}
		line["_aws"] = map[string]any{"Timestamp": at.UnixMilli(), "CloudWatchMetrics": []any{map[string]any{
			"Namespace": MetricNamespace, "Dimensions": [][]string{{"Bucket"}}, "Metrics": metrics}}}
		buf, err := json.Marshal(line)
		if err != nil {
			return err
		}
		if _, err := w.Write(append(buf, '\n')); err != nil {
			return err
		}
	}
	return nil
}
