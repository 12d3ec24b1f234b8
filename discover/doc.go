// Package discover finds the throttling limits an AWS account already
// has: Lambda reserved concurrency, SQS event-source maximum concurrency,
// API Gateway usage-plan and stage throttles (REST and HTTP APIs), DynamoDB provisioned and
// on-demand maximum capacity, each with its tags and whether Application
// Auto Scaling manages it, and reads their last days of load from
// CloudWatch. `autotuner init` writes a policies file from it, and
// selectors expand into one target per resource found. It only reads:
// it never changes a limit.
package discover
