package controller

import (
	"encoding/json"
	"io"
	"sync"
	"time"

	"github.com/autotuner/autotuner/policy"
)

// AuditVersion is the schema version of Record, written in every line.
const AuditVersion = 1

// Mode says what a tick was allowed to do.
type Mode string

const (
	ModeApply     Mode = "apply"      // changes are applied
	ModeDryRun    Mode = "dry-run"    // decided and remembered, nothing applied
	ModePlan      Mode = "plan"       // decided only: nothing applied, nothing saved
	ModeNotLeader Mode = "not-leader" // another replica holds the lease
)

// Record is the audit line of one target in one tick. docs/audit.md
// documents every field; keep the two in step.
type Record struct {
	V        int       `json:"v"`
	Time     time.Time `json:"time"`
	Target   string    `json:"target"`
	Kind     string    `json:"kind"`
	Resource string    `json:"resource"`
	Mode     Mode      `json:"mode"`
	Alarm    bool      `json:"alarm,omitempty"`
	// Probation is set while a target a selector found is still new:
	// it runs in dry-run until then.
	Probation   time.Time                `json:"probation_until,omitzero"`
	Signals     map[string]policy.Signal `json:"signals"`
	Current     float64                  `json:"current"`
	ReadActual  bool                     `json:"read_actual"` // the current value was read from the service this tick
	Drift       *Drift                   `json:"drift,omitempty"`
	Constraints policy.Constraints       `json:"constraints"`
	Decision    *policy.Decision         `json:"decision,omitempty"`
	Final       float64                  `json:"final"`
	Applied     bool                     `json:"applied"`
	Error       string                   `json:"error,omitempty"`
	ErrorClass  Class                    `json:"error_class,omitempty"`
	Stage       string                   `json:"stage,omitempty"` // where the error happened: sense, read, decide, apply, save
}

// Drift is a difference between what autotuner last set and what the
// service reports: someone changed the limit by hand.
type Drift struct {
	Expected float64 `json:"expected"`
	Actual   float64 `json:"actual"`
}

// JSONLines writes records as one JSON object per line. It is safe for
// concurrent use.
type JSONLines struct {
	mu sync.Mutex
	w  io.Writer
}

// NewJSONLines returns a sink writing to w.
func NewJSONLines(w io.Writer) *JSONLines { return &JSONLines{w: w} }

func (j *JSONLines) Write(r *Record) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	j.mu.Lock()
	defer j.mu.Unlock()
	_, err = j.w.Write(b)
	return err
}
