// Package state keeps each target's memory between ticks: integrals,
// hysteresis counters, cooldown times, the stabilization window and what
// autotuner last set (and what the target was before it first touched it).
//
// File is the embedded default: one JSON file, written atomically and
// locked against a second process. Mem is for the simulator and tests.
// DynamoDB is for the Lambda mode and for replicas: every write is
// conditional on the version read, so two writers never silently
// overwrite each other. Lease, on the same table, lets only one replica
// apply changes.
// A store never resets corrupt state silently: it reports it.
package state
