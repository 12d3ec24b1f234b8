package lambdamode

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/controller"
)

// Build wires a controller for a policies file; the handler keeps it while
// the file stays the same.
type Build func(ctx context.Context, f *config.File) (*controller.Controller, error)

// Handler answers Lambda invocations.
type Handler struct {
	Policies *Policies
	Build    Build
	Metrics  *EMF // may be nil
	Logger   *slog.Logger
	Now      func() time.Time
	// DryRun forces dry-run for every invocation.
	DryRun bool

	mu   sync.Mutex
	file *config.File
	ctl  *controller.Controller
}

// Response is the JSON summary an invocation returns.
type Response struct {
	Event     Kind          `json:"event"`
	Alarms    []AlarmChange `json:"alarms,omitempty"`
	At        time.Time     `json:"at"`
	Evaluated int           `json:"evaluated"`
	Applied   int           `json:"applied"`
	Errors    int           `json:"errors"`
	Note      string        `json:"note,omitempty"`
	Decisions []Decision    `json:"decisions"`
}

// Decision is one target's line in the summary.
type Decision struct {
	Target     string  `json:"target"`
	Mode       string  `json:"mode"`
	Action     string  `json:"action"`
	Alarm      bool    `json:"alarm,omitempty"`
	Current    float64 `json:"current"`
	Final      float64 `json:"final"`
	Applied    bool    `json:"applied"`
	Error      string  `json:"error,omitempty"`
	ErrorClass string  `json:"error_class,omitempty"`
	Explain    string  `json:"explain,omitempty"`
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func (h *Handler) logger() *slog.Logger {
	if h.Logger != nil {
		return h.Logger
	}
	return slog.Default()
}

// Invoke handles one event. It returns an error, and runs no tick, for an
// event it does not understand, and when the policies cannot be loaded.
// Per-target errors are in the summary, not an invocation error: retrying
// the whole invocation would re-run targets that succeeded.
func (h *Handler) Invoke(ctx context.Context, raw json.RawMessage) (resp *Response, err error) {
	defer func() {
		if p := recover(); p != nil {
			h.logger().Error("handler panic", "panic", p, "stack", string(debug.Stack()))
			resp, err = nil, fmt.Errorf("internal error: %v", p)
		}
	}()
	req, err := Parse(raw)
	if err != nil {
		h.logger().Error("rejected event", "err", err)
		return nil, err
	}
	f, ctl, err := h.controller(ctx)
	if err != nil {
		return nil, err
	}
	now := h.now()
	resp = &Response{Event: req.Kind, Alarms: req.Alarms, At: now, Decisions: []Decision{}}
	alarmed, ok, err := req.Resolve(f)
	if err != nil {
		h.logger().Error("rejected event", "err", err)
		return nil, err
	}
	if !ok {
		names := make([]string, len(req.Alarms))
		for i, a := range req.Alarms {
			names[i] = a.Name
		}
		resp.Note = fmt.Sprintf("no target lists alarm %q in its alarms; nothing evaluated", names)
		h.logger().Info(resp.Note)
		return resp, nil
	}
	opt := controller.TickOptions{Only: req.Only, Alarm: alarmed, DryRun: req.DryRun || h.DryRun, Plan: req.Plan}
	res, err := ctl.Tick(ctx, now, opt)
	if err != nil && res == nil {
		return nil, fmt.Errorf("tick: %w", err)
	}
	if err != nil {
		resp.Note = err.Error() // state could not be committed; the decisions stand
		h.logger().Error("tick finished with an error", "err", err)
	}
	dur := h.now().Sub(now)
	for _, r := range res.Records {
		d := Decision{Target: r.Target, Mode: string(r.Mode), Action: "hold", Alarm: r.Alarm, Current: r.Current, Final: r.Final, Applied: r.Applied, Error: r.Error, ErrorClass: string(r.ErrorClass)}
		if r.Decision != nil {
			d.Action = string(r.Decision.Action)
			d.Explain = r.Decision.Explain()
		}
		if r.Applied {
			resp.Applied++
		}
		if r.Error != "" {
			resp.Errors++
		}
		resp.Decisions = append(resp.Decisions, d)
	}
	resp.Evaluated = len(res.Records)
	if h.Metrics != nil {
		if err := h.Metrics.Tick(res, req.Kind, dur, now); err != nil {
			h.logger().Warn("writing metrics", "err", err)
		}
	}
	h.logger().Info("invocation done", "event", req.Kind, "evaluated", resp.Evaluated, "applied", resp.Applied, "errors", resp.Errors)
	return resp, nil
}

// controller returns the controller for the policies in force, building a
// new one when the file changed.
func (h *Handler) controller(ctx context.Context) (*config.File, *controller.Controller, error) {
	f, stale, err := h.Policies.Get(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("loading policies: %w", err)
	}
	if stale != nil {
		h.logger().Error("refreshing policies failed; keeping the last good file", "err", stale)
		if h.Metrics != nil {
			if err := h.Metrics.PoliciesStale(h.now()); err != nil {
				h.logger().Warn("writing metrics", "err", err)
			}
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ctl != nil && h.file == f {
		return f, h.ctl, nil
	}
	ctl, err := h.Build(ctx, f)
	if err != nil {
		return nil, nil, fmt.Errorf("connecting: %w", err)
	}
	if ctl == nil {
		return nil, nil, errors.New("connecting: no controller")
	}
	h.file, h.ctl = f, ctl
	return f, ctl, nil
}

// Runtime adapts a Handler to the Lambda runtime's raw interface
// (lambda.Handler in aws-lambda-go), so that the event bytes reach Parse
// as they came: malformed JSON then gets autotuner's own clear error
// rather than the runtime's decoding error.
type Runtime struct{ H *Handler }

// Invoke implements lambda.Handler.
func (r Runtime) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	resp, err := r.H.Invoke(ctx, payload)
	if err != nil {
		return nil, err
	}
	return json.Marshal(resp)
}
