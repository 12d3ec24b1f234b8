package policy

import (
	"encoding/json"
	"strconv"
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

func (r Reason) String() string { return string(r.appendTo(nil)) }

// appendTo appends String's text to b: the audit writes one per target
// per tick, so it builds no strings on the way.
func (r Reason) appendTo(b []byte) []byte {
	for i := 0; i < len(r.Code); i++ {
		if c := r.Code[i]; c == '_' {
			b = append(b, ' ')
		} else {
			b = append(b, c)
		}
	}
	switch {
	case r.Signal != "" && r.Code == ReasonMissing:
		// No datapoint: there is no value to show, and 0 would read
		// as a reading of zero.
		b = append(b, " ("...)
		b = append(b, r.Signal...)
		b = append(b, ")"...)
	case r.Signal != "":
		b = append(b, " ("...)
		b = append(b, r.Signal...)
		b = append(b, " = "...)
		b = appendNum(b, r.Value)
		switch {
		case r.Param == 0:
		case r.Code == ReasonDebounceUp || r.Code == ReasonDebounceDn:
			// Param is the count of evaluations in a row it waits for.
			b = append(b, ", acts after "...)
			b = appendNum(b, r.Param)
			b = append(b, " in a row"...)
		default:
			b = append(b, ", setpoint "...)
			b = appendNum(b, r.Param)
		}
		b = append(b, ")"...)
	case r.Param != 0:
		b = append(b, " "...)
		b = appendNum(b, r.Param)
	}
	if !r.Until.IsZero() {
		b = append(b, " until "...)
		b = r.Until.UTC().AppendFormat(b, time.RFC3339)
	}
	return b
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

func (g GuardStep) String() string { return string(g.appendTo(nil)) }

// appendTo appends String's text to b.
func (g *GuardStep) appendTo(b []byte) []byte {
	b = appendNum(b, g.From)
	b = append(b, " → "...)
	b = appendNum(b, g.To)
	b = append(b, " by "...)
	b = append(b, g.Guard...)
	b = append(b, " ("...)
	b = append(b, g.Rule...)
	if g.Signal != "" {
		b = append(b, " on "...)
		b = append(b, g.Signal...)
	}
	if g.Param != 0 {
		b = append(b, ' ')
		b = appendNum(b, g.Param)
	}
	b = append(b, ')')
	if !g.Until.IsZero() {
		b = append(b, " until "...)
		b = g.Until.UTC().AppendFormat(b, time.RFC3339)
	}
	return b
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
func (d *Decision) Explain() string { return string(d.AppendExplain(nil)) }

// AppendExplain appends Explain's sentence to b, for an encoder that
// writes one per target per tick without building strings.
func (d *Decision) AppendExplain(b []byte) []byte {
	b = append(b, d.Action...)
	b = append(b, ": "...)
	b = appendNum(b, d.Current)
	b = append(b, " → proposed "...)
	b = appendNum(b, d.Proposed)
	b = append(b, " ("...)
	b = d.Reason.appendTo(b)
	b = append(b, ')')
	for i := range d.Steps() {
		b = append(b, "; "...)
		b = d.steps[i].appendTo(b)
	}
	b = append(b, "; final "...)
	return appendNum(b, d.Final)
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

func appendNum(b []byte, v float64) []byte { return strconv.AppendFloat(b, v, 'f', -1, 64) }
