// Package state keeps each target's memory between ticks: integrals,
// hysteresis counters, cooldown times, the stabilization window and what
// autotuner last set (and what the target was before it first touched it).
//
// File is the embedded default: one JSON file, written atomically and
// locked against a second process. Mem is for the simulator and tests.
// A store never resets corrupt state silently: it reports it.
package state
