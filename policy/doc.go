// Package policy is the pure decision core of autotuner.
//
// Given the signals of one target, its current limit, its bounds, the
// service's constraints and the memory carried from the previous tick, a
// policy proposes a new limit; the guard chain then damps and bounds that
// proposal and records, step by step, which guard changed it and why.
//
// This package never does I/O and never reads a clock: the time of the
// decision arrives in Input.Now, and all state between ticks travels in an
// explicit Memory value. That is what lets the daemon, the Lambda mode and
// the simulator run the very same decisions.
//
// The default policy, Autotuner, reads as a sequence of stages: estimate
// the demand (demand.go), take the datapoint's time step, size the band by
// the noise (noise.go), debounce, run the PID and propose (autotuner.go),
// then apply the floors and the forecast of its seasonal profile
// (season.go).
package policy
