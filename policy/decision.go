package policy

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Reason explains a recommendation in structured form. It is rendered to
// text only when someone reads it, so deciding allocates nothing.
type Reason struct {
	Code   string    `json:"code"`
	Signal string    `json:"signal,omitempty"`
	Value  float64   `json:"value,omitempty"`
	Param  float64   `json:"param,omitempty"`
	Until  time.Time `json:"until,omitzero"`
}

// Reason codes shared by the policies.
const (
	ReasonAboveBand  = "above_band"
	ReasonBelowBand  = "below_band"
	ReasonInBand     = "in_band"
	ReasonThrottled  = "throttled"
	ReasonAlarm      = "alarm"
	ReasonDebounceUp = "debounce_up"
	ReasonDebounceDn = "debounce_down"
	ReasonMissing    = "missing_data"
	ReasonStale      = "no_new_datapoint"
	ReasonNoSignals  = "no_two_sided_signal"
	ReasonStatic     = "static"
	ReasonScaleOut   = "scale_out"
	ReasonScaleIn    = "scale_in"
	ReasonBlocked    = "blocked"
	ReasonCongestion = "congestion"
	// ReasonStillThrottled: below the band, but the newest throttle
	// datapoint shows throttling, so nothing counts towards a decrease.
	ReasonStillThrottled = "still_throttled"
	// ReasonAdmitted: raised to serve the rate the API in front admits
	// (a Floor setpoint), before any metric shows that traffic here.
	ReasonAdmitted = "admitted"
	ReasonOracle   = "oracle"
	// ReasonStaleEvidence: below the band, but on a datapoint no newer
	// than the last one that showed throttling: it describes the load
	// before that throttling, so no decrease acts on it.
	ReasonStaleEvidence = "stale_evidence"
	// ReasonForecast: raised ahead of load that recurs (the seasonal
	// profile), or a decrease held at what it expects within the lead
	// time (Param, seconds).
	ReasonForecast = "forecast"
)

func (r Reason) String() string {
	var b strings.Builder
	b.WriteString(strings.ReplaceAll(r.Code, "_", " "))
	switch {
	case r.Signal != "" && r.Code == ReasonMissing:
		// No datapoint: there is no value to show, and 0 would read
		// as a reading of zero.
		b.WriteString(" (")
		b.WriteString(r.Signal)
		b.WriteString(")")
	case r.Signal != "":
		b.WriteString(" (")
		b.WriteString(r.Signal)
		b.WriteString(" = ")
		b.WriteString(num(r.Value))
		switch {
		case r.Param == 0:
		case r.Code == ReasonDebounceUp || r.Code == ReasonDebounceDn:
			// Param is the count of evaluations in a row it waits for.
			b.WriteString(", acts after ")
			b.WriteString(num(r.Param))
			b.WriteString(" in a row")
		default:
			b.WriteString(", setpoint ")
			b.WriteString(num(r.Param))
		}
		b.WriteString(")")
	case r.Param != 0:
		b.WriteString(" ")
		b.WriteString(num(r.Param))
	}
	if !r.Until.IsZero() {
		b.WriteString(" until ")
		b.WriteString(r.Until.UTC().Format(time.RFC3339))
	}
	return b.String()
}

// Guard names, in the order the chain applies them.
const (
	GuardBounds        = "bounds"
	GuardStabilization = "stabilization"
	GuardStepUp        = "max_step_up"
	GuardStepDown      = "max_step_down"
	GuardCooldownUp    = "cooldown_up"
	GuardCooldownDown  = "cooldown_down"
	GuardDeadBand      = "dead_band"
	GuardBackPressure  = "back_pressure"
	GuardRounding      = "rounding"
	GuardService       = "service"
	GuardNoZero        = "no_zero"
	GuardMissingData   = "missing_data"
)

// GuardStep records one guard that changed the value.
type GuardStep struct {
	Guard  string    `json:"guard"`
	From   float64   `json:"from"`
	To     float64   `json:"to"`
	Rule   string    `json:"rule"`             // what the guard enforced, a constant phrase
	Param  float64   `json:"param,omitempty"`  // the guard's parameter (cap, threshold, window in seconds)
	Until  time.Time `json:"until,omitzero"`   // when the guard lets go, where that is known
	Signal string    `json:"signal,omitempty"` // the signal that triggered it, for back-pressure
}

func (g GuardStep) String() string {
	s := fmt.Sprintf("%s → %s by %s (%s", num(g.From), num(g.To), g.Guard, g.Rule)
	if g.Signal != "" {
		s += " on " + g.Signal
	}
	if g.Param != 0 {
		s += " " + num(g.Param)
	}
	s += ")"
	if !g.Until.IsZero() {
		s += " until " + g.Until.UTC().Format(time.RFC3339)
	}
	return s
}

// maxSteps bounds the guard chain; each guard records at most once, the
// bounds guard twice (first and last).
const maxSteps = 12

// Decision is the outcome of one Decide call.
type Decision struct {
	Policy   string
	Current  float64 // the limit in force when deciding
	Proposed float64 // what the policy wanted before guards
	Final    float64 // what the guards allow; equals Current on hold
	Action   Action
	Reason   Reason
	Terms    Terms

	steps [maxSteps]GuardStep
	n     int
}

// Steps lists the guards that changed the value, in order.
func (d *Decision) Steps() []GuardStep { return d.steps[:d.n] }

func (d *Decision) record(g GuardStep) {
	if d.n < maxSteps {
		d.steps[d.n] = g
		d.n++
	}
}

// Changed reports whether the decision moves the limit.
func (d *Decision) Changed() bool { return d.Action != Hold }

// Explain renders the decision as one sentence, as `autotuner plan` prints
// it: "proposed 180 (above band …) → 150 by max_step_up (…) → final 150".
func (d *Decision) Explain() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s → proposed %s (%s)", d.Action, num(d.Current), num(d.Proposed), d.Reason)
	for _, s := range d.Steps() {
		b.WriteString("; ")
		b.WriteString(s.String())
	}
	fmt.Fprintf(&b, "; final %s", num(d.Final))
	return b.String()
}

// MarshalJSON writes the decision with its guard steps and explanation.
func (d Decision) MarshalJSON() ([]byte, error) {
	steps := d.Steps()
	if steps == nil {
		steps = []GuardStep{}
	}
	return json.Marshal(DecisionJSON{d.Policy, d.Current, d.Proposed, d.Final, d.Action, d.Reason, d.Terms, steps, d.Explain()})
}

// DecisionJSON is a decision as the audit record writes it; the audit
// record's JSON Schema is derived from it.
type DecisionJSON struct {
	Policy   string      `json:"policy"`
	Current  float64     `json:"current"`
	Proposed float64     `json:"proposed"`
	Final    float64     `json:"final"`
	Action   Action      `json:"action"`
	Reason   Reason      `json:"reason"`
	Terms    Terms       `json:"terms"`
	Guards   []GuardStep `json:"guards"`
	Explain  string      `json:"explain"`
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
