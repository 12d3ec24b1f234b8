// Package controller runs one tick of the feedback loop: read every
// target's signals in one batch, read the limits actually in force, let
// the policy decide, apply (or only plan), persist memory, and write one
// audit record per target.
//
// A tick is a sequence of stages over one per-tick value (tick.go):
// decide (prepare.go), record intents durably (intent.go), apply
// (apply.go), audit outcomes, save. No change goes out before its intent
// is in the store and the audit, and a change a crash left unsettled is
// settled by the next evaluation from the knob's actual value, so no
// change is lost, audited twice or taken for the original.
//
// It reaches the outside world only through the small interfaces declared
// here (Sensor, Actuator, Store, Gate), so the daemon, the Lambda mode and
// the simulator run the very same tick. Time arrives as an argument; the
// controller never reads a clock for its decisions. One target's error or
// panic never touches another's, with two links by design. Targets whose
// knobs one call sets (a table's read and write capacity: an Actuator that
// is also a Coalescer) decide alone but change together: a change the
// rules refuse fails alone, but a call refused for the moment fails for
// both. And a signal of source target is filled in from another target's
// memory before the evaluation: a target that stops being evaluated takes
// that signal away from its readers.
package controller
