// Package lambdamode serves autotuner as an AWS Lambda function: it
// classifies each event (an EventBridge schedule, a CloudWatch alarm state
// change delivered by EventBridge or wrapped in SNS, or a direct invoke
// naming targets), runs the matching tick of the controller, writes
// CloudWatch Embedded Metric Format lines, and answers with a JSON summary
// of the decisions.
//
// It must never run a tick for an event it does not understand, never
// panic out of a handler, and never keep state in the process: memory
// lives in the store the controller is given (DynamoDB in production).
package lambdamode
