// Package awsfake is an HTTP-level fake of the AWS services autotuner
// uses, speaking their real wire protocols on 127.0.0.1: CloudWatch
// (Smithy RPC v2 CBOR), Lambda and API Gateway, REST and HTTP APIs
// (REST-JSON), DynamoDB,
// SQS and Step Functions (AWS JSON 1.0), Application Auto Scaling and SSM
// Parameter Store (AWS JSON 1.1) and STS (AWS query). The real SDK clients are pointed at it through their
// endpoint overrides, so their serializers, retries and error decoding
// run for real.
//
// It models the service rules that matter for safety (DynamoDB's decrease
// quota, UPDATING, no-op updates; Lambda's unreserved floor; Step
// Functions' definition check and revision-guarded publishing; SSM's
// Overwrite rule; control-plane quotas) independently of the product's own code, so that a test checks
// one against the other. It is for tests and benchmarks only: it must
// never listen beyond loopback.
package awsfake
