package controller

import (
	"context"
	"errors"
	"time"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/policy"
)

// Sensor reads the signals of many targets in one batch. The result maps a
// target name to its readings; a signal with no data is absent or
// invalid, never zero (sensors apply each signal's missing-data rule).
// An error means no target got data; all of them hold.
type Sensor interface {
	Read(ctx context.Context, targets []*config.Target, now time.Time) (map[string]policy.Signals, error)
}

// State is a knob's value as the service reports it, with the service's
// rules that bound the next change.
type State struct {
	Value       float64
	Constraints policy.Constraints
	// Unset says the knob has no setting at all, and Value is what the
	// service allows without one: the account's unreserved pool for a
	// function with no reservation, 1000 for an uncapped event source
	// mapping, the table maximum for an uncapped on-demand table. Going
	// back to "no setting" is not the same as setting Value.
	Unset bool
	// Burst is the burst in force beside a rate (API Gateway, when the
	// target's burst follows its rate), so that revert can restore it;
	// HaveBurst says it was read.
	Burst     float64
	HaveBurst bool
}

// Actuator reads and sets one kind of knob.
type Actuator interface {
	Current(ctx context.Context, t *config.Target, now time.Time) (State, error)
	// Apply sets the knob to `to`. from is the value the decision was
	// made against, so an actuator can refuse a stale change.
	Apply(ctx context.Context, t *config.Target, from, to float64, now time.Time) error
}

// Change is one target's decided change, as a Coalescer applies it.
type Change struct {
	Target   *config.Target
	From, To float64
}

// Coalescer is an Actuator whose knobs can share one call: a table's
// read and write capacity are both set by one UpdateTable. Targets with
// the same non-empty CoalesceKey are evaluated together each tick; when
// more than one of them changes, ApplyGroup applies all their changes at
// once instead of one Apply each. So the second change is not refused
// because the first left the resource locked, and the changes spend one
// call (and for DynamoDB one of the table's daily decreases) instead of
// several.
type Coalescer interface {
	Actuator
	// CoalesceKey names the resource a target's knob lives on, or ""
	// when it never shares a call.
	CoalesceKey(t *config.Target) string
	// ApplyGroup applies changes of targets with one key and returns one
	// error per change, in order. A change the service's rules refuse
	// (checked before the call) fails alone, and the others still go; a
	// call the service refuses for its values is tried again change by
	// change; one refused for the moment (throttling, a network error)
	// fails every change in it, to be tried again next tick.
	ApplyGroup(ctx context.Context, changes []Change, now time.Time) []error
}

// Store keeps each target's memory between ticks.
type Store interface {
	// Load returns the target's memory, or policy.NewMemory() when there
	// is none yet. A corrupt record is an error, never a silent reset.
	Load(ctx context.Context, target string) (policy.Memory, error)
	Save(ctx context.Context, target string, m policy.Memory) error
}

// Committer is implemented by stores that batch writes: Commit is called
// once at the end of every tick that saved anything.
type Committer interface {
	Commit(ctx context.Context) error
}

// Gate says whether this process may change anything now: the lease of the
// high-availability mode. A follower must neither apply nor save (its
// memory would overwrite the leader's), and a leader that loses its
// lease mid-tick must act no more, so it is asked once per target when
// the target has decided, once more for each Coalescer's group before
// the group's intents are written, and once more right before each
// unit's changes go out: answer from a cached lease, not with a call per
// question.
type Gate interface {
	MayApply(ctx context.Context) (bool, error)
}

// BoundedGate is a Gate whose permission runs out: ValidFor is how long it
// still holds. The controller gives each change no longer than that, so a
// change delayed by rate limits or retries cannot land after the lease is
// gone.
type BoundedGate interface {
	Gate
	ValidFor() time.Duration
}

// AuditSink receives one record per target per tick.
type AuditSink interface {
	Write(r *Record) error
}

// AuditLookup is an AuditSink that can tell whether a line settling a
// change (its applied outcome, or a recovered line) was written: a
// process that died after writing it, before saving the memory that
// forgets the intent, would otherwise audit the change twice when the
// next tick settles it. A sink that cannot tell (or
// overwrites by key, as the DynamoDB audit does) need not implement it.
type AuditLookup interface {
	HasOutcome(change string) (bool, error)
}

// Class sorts errors so the audit says what kind of trouble a target is in.
type Class string

const (
	ClassNone       Class = ""
	ClassThrottled  Class = "throttled"  // the service's rate limit
	ClassTransient  Class = "transient"  // network, 5xx: try again next tick
	ClassConflict   Class = "conflict"   // ResourceInUse, a concurrent change
	ClassQuota      Class = "quota"      // LimitExceeded, a decrease quota
	ClassInvalid    Class = "invalid"    // the service refused the value
	ClassPermission Class = "permission" // AccessDenied
	ClassNotFound   Class = "not_found"  // the resource does not exist
	ClassRefused    Class = "refused"    // autotuner itself refused (Application Auto Scaling present, ...)
	ClassInternal   Class = "internal"   // a bug (a panic in a target's evaluation), or the host is exhausted (file descriptors, disk)
)

// Classify finds the class of err. Errors carry it by implementing
// ErrorClass() string, so packages need not import this one to classify.
func Classify(err error) Class {
	if err == nil {
		return ClassNone
	}
	var c interface{ ErrorClass() string }
	if errors.As(err, &c) {
		return Class(c.ErrorClass())
	}
	if lc, ok := LocalClass(err); ok {
		return lc
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return ClassTransient
	}
	return ClassTransient
}

// ClassError attaches a class to an error.
type ClassError struct {
	C   Class
	Err error
}

func (e *ClassError) Error() string      { return e.Err.Error() }
func (e *ClassError) Unwrap() error      { return e.Err }
func (e *ClassError) ErrorClass() string { return string(e.C) }

// Errorf is shorthand for a classified error.
func WithClass(c Class, err error) error { return &ClassError{C: c, Err: err} }
