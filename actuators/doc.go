// Package actuators reads and sets the knobs autotuner turns, one file per
// kind: Lambda reserved concurrency and SQS event-source-mapping maximum
// concurrency, API Gateway usage-plan and stage throttles and HTTP API
// stage and route throttles (apigatewayv2-stage), DynamoDB
// provisioned capacity and on-demand maximum throughput, a Step Functions
// Map state's MaxConcurrency (edited in the definition, or published for
// MaxConcurrencyPath to read), and a number published in an SSM parameter
// or a DynamoDB item for anything else to read, and the rate of a shared
// token bucket of package ratelimit (ratelimit-bucket).
//
// Each actuator knows its service's rules and enforces them before AWS
// would refuse a call: Lambda's 100-unreserved floor, DynamoDB's decrease
// quota, UPDATING state and no-op rule, API Gateway's one usage-plan update
// per 20 s, Step Functions' UpdateStateMachine bucket and Map bounds. It
// reports them to the policy as controller.State.Constraints.
// It never decides a value and never sends a change equal to the current
// value.
//
// Both DynamoDB actuators are controller.Coalescers: a table's (or an
// index's) read and write changes of one tick go in one UpdateTable, so the
// second is not refused by the first one's UPDATING, and two decreases
// spend one of the day's. A pair DynamoDB refuses for its values is sent
// again change by change. An API Gateway throttle that is not set at all
// reads as the account's limit and is reported Unset.
package actuators
