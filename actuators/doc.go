// Package actuators reads and sets the knobs autotuner turns, one file per
// kind: Lambda reserved concurrency and SQS event-source-mapping maximum
// concurrency, API Gateway usage-plan and stage throttles, DynamoDB
// provisioned capacity and on-demand maximum throughput.
//
// Each actuator knows its service's rules and enforces them before AWS
// would refuse a call: Lambda's 100-unreserved floor, DynamoDB's decrease
// quota, UPDATING state and no-op rule, API Gateway's one usage-plan update
// per 20 s. It reports them to the policy as controller.State.Constraints.
// It never decides a value and never sends a change equal to the current
// value.
package actuators
