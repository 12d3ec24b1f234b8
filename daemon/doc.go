// Package daemon runs the controller as a long-lived process: it ticks on
// a cron schedule (one global spec, optionally overridden per target),
// never lets two ticks overlap, reloads the policies file on request
// without ever dropping a working configuration for a broken one, stops
// gracefully, and serves /healthz, /readyz and Prometheus /metrics.
//
// It never reads the wall clock directly (a Clock is injected, so tests
// drive time), never decides anything itself (the controller does), and
// never talks to AWS except through the controller it is given.
package daemon
