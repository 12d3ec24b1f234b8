// Package sim is the offline simulator behind `autotuner simulate`: a model
// of API Gateway, Lambda, SQS, DynamoDB and a downstream dependency at
// 1-second resolution (and, in topology (c), Step Functions executions
// fanning out through a Map to a Lambda, a rate-limited third party and a
// table), a simulated CloudWatch as the controller sees it
// (1-minute periods, reporting delay, sparse metrics), simulated actuators
// that follow each service's rules, scenarios and trace replay, KPIs and
// the comparison report; and the shared rate limiter against a third-party
// API (ratelimit.go).
//
// It runs the product's own controller.Controller, policy engines and
// config unchanged, through the controller's Sensor, Actuator and Store
// interfaces, on a virtual clock. It must never copy or re-implement a
// policy or controller rule: a result of the simulator is a result of the
// product. It never touches AWS, and it never reads the wall clock for a
// simulated decision.
package sim
