package controller

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"os"
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
	Stage       string                   `json:"stage,omitempty"` // where the error happened: sense, load, read, lease, intent, audit, apply, save
	// SenseFailed: some of the target's signals could not be read this
	// tick (the service did not answer), so it decided partly blind.
	// Stays set when a later stage's error takes Error.
	SenseFailed bool `json:"sense_failed,omitempty"`
	// Change names a change sent (or about to be sent) to the service:
	// its intent line, its outcome line and any line that settles it
	// after a crash carry the same name.
	Change string `json:"change,omitempty"`
	// Intent marks the line written before the change is sent: it says
	// what is about to happen, not what happened.
	Intent bool `json:"intent,omitempty"`
	// Recovered marks the line that settles a change a crashed run left
	// without an outcome, after reading the knob back.
	Recovered bool `json:"recovered,omitempty"`
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
	// ReadBack, when set, reads what was written so far (the audit
	// file from its start), so that HasOutcome can find a line written
	// before a crash.
	ReadBack func() (io.ReadCloser, error)
}

var (
	_ AuditSink   = (*JSONLines)(nil)
	_ AuditLookup = (*JSONLines)(nil)
)

// OpenAuditFile opens (or creates) an audit file for appending. A line
// torn by a crash mid-write is ended first, so the next line stands
// alone.
func OpenAuditFile(path string) (*JSONLines, *os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_RDWR, 0o644)
	if err != nil {
		return nil, nil, err
	}
	if st, err := f.Stat(); err == nil && st.Size() > 0 {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, st.Size()-1); err == nil && last[0] != '\n' {
			if _, err := f.Write([]byte("\n")); err != nil {
				f.Close()
				return nil, nil, err
			}
		}
	}
	j := NewJSONLines(f)
	j.ReadBack = func() (io.ReadCloser, error) { return os.Open(path) }
	return j, f, nil
}

// HasOutcome reports whether a line that settles change was written: its
// outcome, applied, or a recovered line. A failed outcome whose change
// may still have landed (a lost answer) settles nothing. Without
// ReadBack it cannot know, and says no.
func (j *JSONLines) HasOutcome(change string) (bool, error) {
	if j.ReadBack == nil {
		return false, nil
	}
	r, err := j.ReadBack()
	if err != nil {
		return false, err
	}
	defer r.Close()
	quoted, err := json.Marshal(change) // as Write encodes it
	if err != nil {
		return false, err
	}
	needle := append([]byte(`"change":`), quoted...)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if !bytes.Contains(line, needle) {
			continue
		}
		var l struct {
			Change    string `json:"change"`
			Intent    bool   `json:"intent"`
			Applied   bool   `json:"applied"`
			Recovered bool   `json:"recovered"`
		}
		if json.Unmarshal(line, &l) == nil && l.Change == change && !l.Intent && (l.Applied || l.Recovered) {
			return true, nil
		}
	}
	return false, sc.Err()
}

// NewJSONLines returns a sink writing to w.
func NewJSONLines(w io.Writer) *JSONLines { return &JSONLines{w: w} }

// Sync flushes the underlying writer to stable storage when it can (a
// file), so an intent line survives a crash of the machine too.
func (j *JSONLines) Sync() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if s, ok := j.w.(interface{ Sync() error }); ok {
		return s.Sync()
	}
	return nil
}

func (j *JSONLines) Write(r *Record) error {
	// The line is encoded outside the lock, into a buffer reused from
	// line to line (the writer does not keep it).
	buf := lineBufs.Get().(*[]byte)
	defer lineBufs.Put(buf)
	b, err := r.AppendJSON((*buf)[:0])
	if err != nil {
		return err
	}
	b = append(b, '\n')
	*buf = b
	j.mu.Lock()
	defer j.mu.Unlock()
	_, err = j.w.Write(b)
	return err
}
