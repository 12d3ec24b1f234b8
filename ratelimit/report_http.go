package ratelimit

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"time"
)

// ReportRequest is what a caller not written in Go saw of the protected
// service in its last second: the body of POST /report.
type ReportRequest struct {
	Bucket    string  `json:"bucket"`
	Calls     float64 `json:"calls"`      // calls per second the service answered
	Throttled float64 `json:"throttled"`  // of them, answered 429
	LatencyMs float64 `json:"latency_ms"` // the slowest answer (or a high percentile)
}

// maxReportLatency bounds a reported latency: a day is already a service
// that does not answer.
const maxReportLatency = 24 * 3600 * 1000

// Validate checks a report from outside.
func (r *ReportRequest) Validate() error {
	if r.Bucket == "" || len(r.Bucket) > 128 {
		return fmt.Errorf("ratelimit: bucket must be 1-128 characters, got %q", r.Bucket)
	}
	for _, f := range []struct {
		name  string
		v, hi float64
	}{{"calls", r.Calls, maxRequest}, {"throttled", r.Throttled, maxRequest}, {"latency_ms", r.LatencyMs, maxReportLatency}} {
		if !(f.v >= 0) || f.v > f.hi || math.IsInf(f.v, 0) {
			return fmt.Errorf("ratelimit: %s must be in [0, %v], got %v", f.name, f.hi, f.v)
		}
	}
	return nil
}

// Feedback is the report as the fast loop reads it.
func (r *ReportRequest) Feedback() Feedback {
	return Feedback{Calls: r.Calls, Throttled: r.Throttled, Latency: time.Duration(r.LatencyMs * float64(time.Millisecond))}
}

// report serves POST /report: 200 with {"stepped": n}, the shards whose
// fast loop this report moved (0 when another caller's report of the same
// second already had).
func (t *Task) report(w http.ResponseWriter, r *http.Request) {
	var req ReportRequest
	dec := json.NewDecoder(io.LimitReader(r.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		httpError(w, http.StatusBadRequest, fmt.Errorf("ratelimit: the body must be {\"bucket\": name, \"calls\": n, \"throttled\": n, \"latency_ms\": ms}: %v", err))
		return
	}
	if err := req.Validate(); err != nil {
		httpError(w, http.StatusBadRequest, err)
		return
	}
	cfg := DefaultAdaptive
	if t.Adaptive != nil {
		cfg = *t.Adaptive
	}
	n, err := t.L.Report(r.Context(), req.Bucket, req.Feedback(), cfg)
	switch {
	case errors.Is(err, ErrNoBucket):
		httpError(w, http.StatusNotFound, err)
	case err != nil && r.Context().Err() != nil:
		return
	case err != nil:
		httpError(w, http.StatusServiceUnavailable, err)
	default:
		writeJSON(w, http.StatusOK, map[string]int{"stepped": n})
	}
}
