// Package sensors reads every target's signals for one tick: CloudWatch
// GetMetricData batched across all targets (≤ 500 queries a call, paged,
// each metric asked for once), and SQS GetQueueAttributes as a real-time
// fast path.
//
// It must never invent data: a datapoint that AWS did not return is
// missing, and only a signal's own missing-data rule (config.Signal.Apply)
// may turn that into a number. It never decides or changes anything.
package sensors
