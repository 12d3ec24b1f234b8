// Package boot builds the Lambda mode's handler from the function's
// environment (AUTOTUNER_* variables, the SDK's usual AWS sources) and
// serves it. The slim Lambda bootstrap (cmd/autotuner-lambda) and the full
// CLI's `autotuner lambda` both start here.
//
// It must never import the simulator or plotting code: a test checks the
// bootstrap's import graph, which keeps the deployment package small and
// the cold start short. Nothing here touches the network before the first
// event, except reading a policies file's selectors.
package boot
