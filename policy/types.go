package policy

import (
	"math"
	"time"
)

// Signal is one reading of a named signal: the value of its newest complete
// period. The zero Signal is missing data, so a reading that was never filled
// in can never be mistaken for "all is well".
type Signal struct {
	Value float64   `json:"value"`
	At    time.Time `json:"at,omitzero"` // start of the period the value describes
	Valid bool      `json:"valid"`
	// Filled marks a 0 that no datapoint backs: a sparse counter's
	// missing-data rule read an empty period as zero.
	Filled bool `json:"filled,omitempty"`
	// Why says, for a missing reading, why it is missing when the sensor
	// knows: the status CloudWatch gave the query (Forbidden, a missing
	// permission, holds the target for ever until fixed), the call that
	// failed, or why another target's limit is not trusted. The policy
	// never reads it; the audit record shows it.
	Why string `json:"why,omitempty"`
	// Failed, for a missing reading, is the class of the error that kept
	// it from being read (throttled, transient, permission, ...): the
	// service did not answer. Empty when the service answered, even with
	// no data. A target with a failed signal is running blind, and its
	// tick says so.
	Failed string `json:"failed,omitempty"`
}

// Present reports whether s carries a usable number. NaN and ±Inf, which a
// broken metric-math expression can produce, count as missing.
func (s Signal) Present() bool {
	return s.Valid && !math.IsNaN(s.Value) && !math.IsInf(s.Value, 0)
}

// Reading returns a valid Signal.
func Reading(v float64, at time.Time) Signal { return Signal{Value: v, At: at, Valid: true} }

// Signals maps a target's signal names to their readings for one tick.
type Signals map[string]Signal

// Constraints are the service's rules as the actuator sees them right now.
// The caller fills them in; the policy only obeys them.
type Constraints struct {
	// Ceiling, when positive, is the highest value the service accepts now,
	// for example the Lambda reservation that keeps 100 executions
	// unreserved in the account.
	Ceiling float64 `json:"ceiling,omitempty"`
	// CeilingRule names the service rule behind Ceiling when it is not
	// the plain maximum the service accepts (an account quota shared with
	// other resources, say), so the audit record says which quota held
	// the value.
	CeilingRule string `json:"ceiling_rule,omitempty"`
	// Floor is the lowest value the service accepts (1 RCU, 2 for an SQS
	// event source mapping). It never lowers the target's own min.
	Floor float64 `json:"floor,omitempty"`
	// NotBefore is the earliest time the service allows the next change
	// (the API Gateway usage-plan quota, a pending update).
	NotBefore time.Time `json:"not_before,omitzero"`
	// Blocked, when set, holds the target and freezes the integrator, for
	// example while a DynamoDB table is UPDATING.
	Blocked string `json:"blocked,omitempty"`
	// Decreases is the DynamoDB decrease quota of the table or index.
	Decreases DecreaseQuota `json:"decreases,omitzero"`
}

// Input is everything a policy may look at for one decision.
type Input struct {
	Now         time.Time
	Current     float64 // the limit actually in force
	Min, Max    float64
	Signals     Signals
	Constraints Constraints
	// Alarm is set when the tick was started by a CloudWatch alarm entering
	// ALARM for this target.
	Alarm bool
}

// Action is the direction of a decision.
type Action string

const (
	Hold Action = "hold"
	Up   Action = "up"
	Down Action = "down"
)

// Terms are the inner workings of a recommendation, for the audit record.
type Terms struct {
	Demand   float64 `json:"demand"`             // required / current; 1 means "just right"
	Error    float64 `json:"error"`              // normalized error fed to the controller
	P        float64 `json:"p"`                  // proportional term
	I        float64 `json:"i"`                  // integral term
	D        float64 `json:"d"`                  // derivative term
	InBand   bool    `json:"in_band"`            // inside the hysteresis band
	Above    int     `json:"above"`              // consecutive evaluations above the band
	Below    int     `json:"below"`              // consecutive evaluations below the band
	Driver   string  `json:"driver,omitempty"`   // the signal that set the demand
	Missing  string  `json:"missing,omitempty"`  // a signal the policy needed but had no data for
	Throttle float64 `json:"throttle,omitempty"` // throttle count seen this tick
	Frozen   bool    `json:"frozen,omitempty"`   // integrator frozen (saturated or blocked)
	// Band is the hysteresis band in force, relative; Noise says what
	// widened it beyond the configured one (NoisePoisson, NoiseMeasured,
	// NoiseSmallLimit), and Count is the events the driver counted.
	Band  float64 `json:"band,omitempty"`
	Noise string  `json:"noise,omitempty"`
	Count float64 `json:"count,omitempty"`
	// Forecast is the capacity the seasonal profile expects within the
	// lead time (0: no recurring pattern known).
	Forecast float64 `json:"forecast,omitempty"`
	// Evidence is the limit the measured share of throttled requests
	// asks for (Proposal.Evidence): the up step cap let it through.
	Evidence float64 `json:"evidence,omitempty"`
}

// What widened the band (Terms.Noise).
const (
	NoisePoisson    = "poisson"     // counting noise of the driver: NoiseK/√N
	NoiseMeasured   = "measured"    // the demand's measured datapoint-to-datapoint variation
	NoiseSmallLimit = "small_limit" // a load of a handful of units
)

// Proposal is what a Recommender wants before any guard has had its say.
type Proposal struct {
	Value  float64
	Terms  Terms
	Reason Reason
	// Window says what the scale-down stabilization window records for
	// this evaluation. By default it records Value; a policy with its own
	// debounce records what the data alone asks for (WindowValue), so a
	// held proposal does not pin the window at the current limit, and
	// records nothing when it had no new datapoint.
	Window      WindowMode
	WindowValue float64
	// Evidence, when above the current value, is the limit that measured
	// evidence (the share of requests turned away) asks for: an increase
	// may go there in one step, whatever the step cap, which damps
	// noise, not evidence. Bounds and service rules still apply.
	Evidence float64
}

// WindowMode chooses what the stabilization window records.
type WindowMode uint8

const (
	WindowProposal  WindowMode = iota // record the proposal (the default)
	WindowRecommend                   // record WindowValue
	WindowNone                        // record nothing: no new information
)

// Recommender is one policy's raw decision rule. It reads the input and
// its own memory and proposes a value; guards come afterwards.
// A Recommender must be pure: the same input and memory give the same
// proposal and memory.
type Recommender interface {
	Name() string
	Recommend(in *Input, mem *Memory) Proposal
}

// Policy decides a target's next limit.
type Policy interface {
	Decide(in Input, mem Memory) (Decision, Memory)
}
