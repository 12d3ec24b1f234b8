package ratelimit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"time"
)

// TaskRequest asks for tokens: the input of the Step Functions task and
// the body of the HTTP handler.
type TaskRequest struct {
	Bucket string  `json:"bucket"`
	Tokens float64 `json:"tokens,omitempty"` // default 1
}

// TaskResponse is {"granted": true} or {"wait_seconds": s}: a workflow
// Waits wait_seconds and asks again. wait_seconds is a whole number of
// seconds, at least 1, as a Wait state's SecondsPath needs
// (https://docs.aws.amazon.com/step-functions/latest/dg/state-wait.html).
type TaskResponse struct {
	Granted     bool  `json:"granted,omitempty"`
	WaitSeconds int64 `json:"wait_seconds,omitempty"`
}

// ErrTooMany is returned for a request the bucket can never grant: more
// tokens than its burst, or a rate of 0.
var ErrTooMany = errors.New("ratelimit: the request can never be granted (more tokens than the burst, or a rate of 0)")

// maxRequest bounds the tokens of one request from outside.
const maxRequest = 1e6

// Validate checks a request from outside and fills its default.
func (r *TaskRequest) Validate() error {
	if r.Bucket == "" || len(r.Bucket) > 128 {
		return fmt.Errorf("ratelimit: bucket must be 1-128 characters, got %q", r.Bucket)
	}
	if r.Tokens == 0 {
		r.Tokens = 1
	}
	if !(r.Tokens > 0) || r.Tokens > maxRequest {
		return fmt.Errorf("ratelimit: tokens must be in (0, %v], got %v", maxRequest, r.Tokens)
	}
	return nil
}

// Task answers one request with the limiter: the Lambda handler behind a
// Step Functions task, and the core of the HTTP handler.
type Task struct {
	L *Limiter
	// Flush, when set, is called after every request: the Lambda task
	// writes its EMF metrics there, one line per bucket per invocation.
	Flush func(at time.Time)
	// Adaptive sets the fast loop the HTTP handler's POST /report steps;
	// nil is DefaultAdaptive.
	Adaptive *AdaptiveConfig
}

// Handle is the Lambda handler (aws-lambda-go calls it with the decoded
// event). A request that can never succeed is an error, so the workflow's
// Catch sees it instead of waiting for ever.
func (t *Task) Handle(ctx context.Context, req TaskRequest) (TaskResponse, error) {
	if t.Flush != nil {
		defer func() { t.Flush(t.L.Now()) }()
	}
	if err := req.Validate(); err != nil {
		return TaskResponse{}, err
	}
	r, err := t.L.Acquire(ctx, req.Bucket, req.Tokens)
	if err != nil {
		return TaskResponse{}, err
	}
	if r.Granted > 0 {
		return TaskResponse{Granted: true}, nil
	}
	if r.Wait < 0 {
		return TaskResponse{}, fmt.Errorf("%w: %v tokens from %q", ErrTooMany, req.Tokens, req.Bucket)
	}
	return TaskResponse{WaitSeconds: max(1, int64(math.Ceil(r.Wait.Seconds())))}, nil
}

// HTTP serves POST /acquire with a TaskRequest body: 200 with
// {"granted": true}, or 429 with {"wait_seconds": s} and Retry-After, for
// callers not written in Go. POST /report takes a ReportRequest and steps
// the bucket's fast loop (see Limiter.Report). GET /healthz answers ok.
func (t *Task) HTTP() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /acquire", func(w http.ResponseWriter, r *http.Request) {
		var req TaskRequest
		dec := json.NewDecoder(io.LimitReader(r.Body, 4096))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			httpError(w, http.StatusBadRequest, fmt.Errorf("ratelimit: the body must be {\"bucket\": name, \"tokens\": n}: %v", err))
			return
		}
		res, err := t.Handle(r.Context(), req)
		switch {
		case errors.Is(err, ErrNoBucket):
			httpError(w, http.StatusNotFound, err)
		case errors.Is(err, ErrTooMany):
			httpError(w, http.StatusUnprocessableEntity, err)
		case err != nil && r.Context().Err() != nil:
			return // the caller went away
		case err != nil:
			httpError(w, http.StatusBadRequest, err)
		case res.Granted:
			writeJSON(w, http.StatusOK, res)
		default:
			w.Header().Set("Retry-After", strconv.FormatInt(res.WaitSeconds, 10))
			writeJSON(w, http.StatusTooManyRequests, res)
		}
	})
	mux.HandleFunc("POST /report", t.report)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	return mux
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func httpError(w http.ResponseWriter, code int, err error) {
	writeJSON(w, code, map[string]string{"error": err.Error()})
}
