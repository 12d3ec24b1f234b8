package main

import (
	"context"
	"fmt"
	"io"

	"github.com/autotuner/autotuner/sim"
)

// writeRateLimitBakeoff appends the shared rate limiter's section: the
// example's partner-api-bucket, tuned with and without the limiter's fast
// loop and fixed, against a partner API whose capacity changes.
func writeRateLimitBakeoff(ctx context.Context, w io.Writer, seed uint64) error {
	rows, err := sim.RateLimitBakeoff(ctx, seed)
	if err != nil {
		return fmt.Errorf("rate limiter: %w", err)
	}
	fmt.Fprint(w, "\n## The shared rate limiter\n\n")
	fmt.Fprint(w, "A ratelimit bucket in front of a partner API (docs/ratelimit.md): 600 requests/s wanted; the API's capacity is 500/s, 300/s from minute 20 and 450/s from minute 40; one hour. Callers Wait and ask again when denied. The fast loop (`ratelimit.Adaptive`, docs/ratelimit.md) sets the rate each second from the callers' answers, under the ceiling autotuner sets. Goal: no 429 after the first minute, and within 10% of the API's capacity. *Efficiency* is what the API served after the first minute over what it could have served.\n\n")
	fmt.Fprint(w, "| policy | offered | granted | served | 429s | 429s after minute 1 | efficiency | actuations |\n|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(w, "| %s | %.0f | %.0f | %.0f | %.0f | %.0f | %.3f | %d |\n",
			r.Policy, r.R.Offered, r.R.Granted, r.R.Served, r.R.Throttled, r.R.ThrottledAfterFirstMinute, r.R.Efficiency, r.R.Actuations)
	}
	return nil
}
