// Package awsclient builds the AWS SDK clients autotuner talks through:
// the SDK's default credential chain and endpoint overrides
// (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>), a region and optional
// assumed role per target with clients cached per region+role, client-side
// rate limits per service control plane on top of the SDK's retries, a
// per-tick call budget, and the classification of AWS errors.
//
// It must never decide anything about a limit and never read a target's
// policy: it only connects and paces.
package awsclient
