// Package ratelimit is a token bucket shared by every caller of a rate-
// limited resource (a third-party API, a legacy database), kept in
// DynamoDB so that Lambda functions, Step Functions workflows and long-
// running services in any number of processes draw from one limit.
//
// One bucket shard is one DynamoDB item: its tokens, the time of its last
// refill, its rate and its burst. Acquire refills the shard from the time
// elapsed on the caller's clock and takes the tokens in one conditional
// UpdateItem; a lost race retries, a bounded number of times. A bucket
// whose rate exceeds what one item sustains is split into shards, each with
// an equal share of the rate. Leases let a caller take a batch of tokens
// and spend it locally; unspent tokens expire and are never returned.
//
// A fast loop (adaptive.go, fastloop.go) lowers a shard's rate second by
// second from what callers report of the protected service (its latency
// and 429s), never above the rate configured for it.
//
// The arithmetic (bucket.go) is pure and property-tested. The package is a
// library: it knows nothing of the controller that tunes its rate. It must
// never grant more than rate × time + burst, whatever the interleaving of
// callers or the skew of their clocks within the documented tolerance.
// See docs/ratelimit.md.
package ratelimit
