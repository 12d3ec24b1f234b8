// Package awswire connects the controller to AWS: the CloudWatch sensor,
// every actuator and the selectors' discovery, all built from the SDK's
// usual connection sources. The daemon (cmd/autotuner) and the Lambda
// bootstrap (lambdamode/boot) both wire through it, so the two cannot
// drift apart.
//
// It must stay free of the simulator and of plotting: the Lambda
// bootstrap's import graph is checked for that.
package awswire
