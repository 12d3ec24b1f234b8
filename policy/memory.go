package policy

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// MemoryVersion is the schema version of Memory. A stored memory with
// another version is refused rather than misread.
const MemoryVersion = 1

// Memory is everything a target carries from one tick to the next. It is a
// plain value: serializable to JSON, passed in and returned by Decide, so
// that the daemon, the Lambda mode and the simulator can store and replay it.
//
// Decide never changes the Memory it is given, not even the entries of
// Window it can see: it may append to Window's spare capacity, as append
// does, so a caller that branches (calls Decide twice from one Memory and
// keeps both results) must Clone first.
type Memory struct {
	Version int `json:"version"`
	// Since is when autotuner first evaluated the target: a target a
	// selector found runs in dry-run for its probation after it.
	Since time.Time `json:"since,omitzero"`

	// Controller state (the PID engine).
	Integral     float64   `json:"integral"`
	LastRequired float64   `json:"last_required,omitempty"` // required capacity last tick, for the derivative
	DFiltered    float64   `json:"d_filtered,omitempty"`
	LastEval     time.Time `json:"last_eval,omitzero"`
	// PrevEval is the evaluation before LastEval: their distance is how
	// often this target is evaluated, for whoever reads its limit.
	PrevEval  time.Time `json:"prev_eval,omitzero"`
	Saturated bool      `json:"saturated,omitempty"` // last output was cut by a guard: freeze the integral

	// Hysteresis counters and the newest datapoint they have counted, so
	// that a datapoint is never counted twice when ticks outpace periods.
	Above      int       `json:"above"`
	Below      int       `json:"below"`
	LastSample time.Time `json:"last_sample,omitzero"`
	// FloorFactor is the last value of a Floor setpoint's factor signal
	// (a function's duration), used while the signal is missing.
	FloorFactor float64 `json:"floor_factor,omitempty"`
	// LastThrottle is the period of the newest throttle datapoint seen, so
	// that one throttle datapoint drives at most one increase.
	LastThrottle time.Time `json:"last_throttle,omitzero"`
	// Throttled is the period of the newest datapoint that showed
	// throttling: no decrease acts on a datapoint older than it.
	Throttled time.Time `json:"throttled,omitzero"`
	// Dispersion is the measured variance of the demand from one
	// datapoint to the next, relative (an exponential average).
	Dispersion float64 `json:"dispersion,omitempty"`
	// LastBlocked is the last tick at which the service reported the knob
	// still locked by our own last increase (a DynamoDB table UPDATING):
	// until then the change was taking effect, so a period that began
	// before it measured the limit that was, not the limit that is.
	LastBlocked time.Time `json:"last_blocked,omitzero"`

	// Congestion is the limit at which a back-pressure guard last had to
	// cut (downstream critical), and CongestionAt when. For a while
	// afterwards increases approach that level slowly instead of
	// doubling into the same overload again (TCP's slow-start threshold).
	Congestion   float64   `json:"congestion,omitempty"`
	CongestionAt time.Time `json:"congestion_at,omitzero"`
	// ProbeStep is how far above 90% of Congestion the next evaluation
	// may go, as a fraction of it: Probe after a cut, doubling with each
	// evaluation that wants more while the downstream stays healthy, so a
	// backlog held up by back-pressure drains at the rate the recovered
	// downstream sustains (TCP's slow start after a loss).
	ProbeStep float64 `json:"probe_step,omitempty"`

	// Weighed is when a table was last raised only part of the way a
	// throttle boost asked for (the decrease quota weighed against it):
	// throttles under that raise, while it is in force, get the full one.
	Weighed time.Time `json:"weighed,omitzero"`

	// Change history for cooldowns and oscillation accounting.
	LastUp   time.Time `json:"last_up,omitzero"`
	LastDown time.Time `json:"last_down,omitzero"`
	LastDir  Action    `json:"last_dir,omitempty"`

	// Flaps counts recent premature decreases (undone within the
	// stabilization window); each doubles the window, up to the guards'
	// StabilizationMax.
	Flaps int `json:"flaps,omitempty"`
	// LastDownCut: the last decrease was a back-pressure cut, forced by
	// the downstream; undoing it is recovery, not a flap.
	LastDownCut bool `json:"last_down_cut,omitempty"`

	// Profile is the seasonal profile of the capacity this target
	// needed, for predictive pre-scaling (nil until it learns). It is
	// shared between copies of a Memory and replaced, never written, by
	// Decide (copy on write), so a Memory stays cheap to pass by value.
	Profile *Profile `json:"profile,omitempty"`

	// Window holds recent recommendations for the scale-down
	// stabilization window.
	Window []Recommendation `json:"window,omitempty"`

	// Actuation is owned by the controller: what it last set and what the
	// target was before autotuner first touched it.
	Actuation Actuation `json:"actuation"`
}

// underLimitInForce reports whether a period that began at at ran under
// the limit now in force: it began after the last increase and after the
// lock that followed it.
func (m *Memory) underLimitInForce(at time.Time) bool {
	return at.After(m.LastUp) && at.After(m.LastBlocked)
}

// LockPending reports whether the knob may still be locked by the last
// increase: no tick has evaluated it since, or every tick since found it
// locked. The controller reads the knob on such ticks whatever its
// rotation, so that the lock is seen without a gap.
func (m *Memory) LockPending() bool {
	prev := m.LastEval // the last tick that evaluated the knob
	return !m.LastUp.IsZero() && (prev.IsZero() || !prev.After(m.LastUp) || (!m.LastBlocked.IsZero() && m.LastBlocked.Equal(prev)))
}

// Recommendation is one entry of the stabilization window.
type Recommendation struct {
	At    time.Time `json:"at"`
	Value float64   `json:"value"`
}

// Actuation is the controller's record of its own changes.
type Actuation struct {
	LastSet     float64   `json:"last_set,omitempty"`
	HaveLastSet bool      `json:"have_last_set,omitempty"`
	LastSetAt   time.Time `json:"last_set_at,omitzero"`
	// LastUnset: when last read, the knob had no setting at all, and
	// LastSet is only what the service allows without one (an API with
	// no throttle reads as the account's rate).
	LastUnset    bool    `json:"last_unset,omitempty"`
	Original     float64 `json:"original,omitempty"`
	HaveOriginal bool    `json:"have_original,omitempty"`
	// OriginalUnset: before autotuner the knob had no setting at all
	// (Original is then only what the service allowed without one).
	OriginalUnset bool      `json:"original_unset,omitempty"`
	OriginalAt    time.Time `json:"original_at,omitzero"`
	// OriginalBurst is the API Gateway burst in force before autotuner
	// first changed a rate its burst follows; revert restores both.
	OriginalBurst     float64 `json:"original_burst,omitempty"`
	HaveOriginalBurst bool    `json:"have_original_burst,omitempty"`
	// Pending is a change recorded durably before it was sent to the
	// service, and not yet known to have landed or failed: a process
	// that died in between left it. The next evaluation reads the knob
	// and settles it.
	Pending *Intent `json:"pending,omitempty"`
}

// Intent is a change about to be applied. The memory that carries it
// already holds the change's cooldown stamps, so a crash never lets a
// cooldown lapse; Undo holds the stamps from before, restored when the
// change turns out not to have happened.
type Intent struct {
	// ID names the change in the audit: its intent line, its outcome
	// line and any line that settles it after a crash share it.
	ID        string    `json:"id"`
	At        time.Time `json:"at"`
	From      float64   `json:"from"`
	FromUnset bool      `json:"from_unset,omitempty"`
	To        float64   `json:"to"`
	Undo      History   `json:"undo"`
}

// History is the part of Memory that says when the limit last changed
// and how: what a change that did not happen must not leave behind.
type History struct {
	LastUp      time.Time `json:"last_up,omitzero"`
	LastDown    time.Time `json:"last_down,omitzero"`
	LastDir     Action    `json:"last_dir,omitempty"`
	Flaps       int       `json:"flaps,omitempty"`
	LastDownCut bool      `json:"last_down_cut,omitempty"`
}

// History returns m's change history.
func (m *Memory) History() History {
	return History{LastUp: m.LastUp, LastDown: m.LastDown, LastDir: m.LastDir, Flaps: m.Flaps, LastDownCut: m.LastDownCut}
}

// SetHistory puts h back as m's change history.
func (m *Memory) SetHistory(h History) {
	m.LastUp, m.LastDown, m.LastDir, m.Flaps, m.LastDownCut = h.LastUp, h.LastDown, h.LastDir, h.Flaps, h.LastDownCut
}

// NewMemory is the memory of a target that has never been evaluated.
func NewMemory() Memory { return Memory{Version: MemoryVersion} }

// Clone returns a copy of m that shares nothing with it.
func (m Memory) Clone() Memory {
	m.Window = slices.Clone(m.Window)
	if m.Actuation.Pending != nil {
		p := *m.Actuation.Pending
		m.Actuation.Pending = &p
	}
	if m.Profile != nil {
		p := *m.Profile
		m.Profile = &p
	}
	return m
}

// Check verifies that a loaded memory can be used.
func (m Memory) Check() error {
	if m.Version != MemoryVersion {
		return fmt.Errorf("memory version %d is not supported (want %d)", m.Version, MemoryVersion)
	}
	return nil
}

// finite reports whether v is an ordinary number.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// sanitized returns m with every non-finite number zeroed: a NaN that
// entered through a hand-edited or corrupt state must not spread into the
// decision, and JSON cannot even store one.
func (m Memory) sanitized() Memory {
	if !finite(m.Integral) {
		m.Integral = 0
	}
	if !finite(m.LastRequired) {
		m.LastRequired = 0
	}
	if !finite(m.DFiltered) {
		m.DFiltered = 0
	}
	m.Flaps = min(max(m.Flaps, 0), maxFlaps)
	if !finite(m.Dispersion) || m.Dispersion < 0 {
		m.Dispersion = 0
	}
	if !finite(m.FloorFactor) || m.FloorFactor < 0 {
		m.FloorFactor = 0
	}
	if !finite(m.Congestion) || m.Congestion < 0 {
		m.Congestion = 0
	}
	if !finite(m.ProbeStep) || m.ProbeStep < 0 || m.ProbeStep > 1 {
		m.ProbeStep = 0
	}
	for _, r := range m.Window {
		if !finite(r.Value) {
			m.Window = slices.DeleteFunc(slices.Clone(m.Window), func(r Recommendation) bool { return !finite(r.Value) })
			break
		}
	}
	return m
}
