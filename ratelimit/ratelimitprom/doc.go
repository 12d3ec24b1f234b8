// Package ratelimitprom publishes the shared rate limiter's metrics
// (package ratelimit) as Prometheus counters and a histogram, for
// long-running processes such as `autotuner limiter serve`.
//
// It lives apart from ratelimit so that a caller who does not serve
// Prometheus metrics (a Lambda function, autotuner's own Lambda bootstrap)
// does not link the Prometheus client, which adds about 1.7 MB to a
// binary; see docs/operations.md.
package ratelimitprom
