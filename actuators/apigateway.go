package actuators

import (
	"math"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"

	"github.com/autotuner/autotuner/config"
)

// The account-level API Gateway throttle, which applies where no plan or
// stage throttle is set (lower in some regions).
const (
	AccountRate  = 10000
	AccountBurst = 5000
)

// escapePointer escapes a resource path for a JSON-Pointer-like patch path:
// "~" as "~0" and "/" as "~1".
func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// splitMethod splits "/resource/GET" into "/resource" and "GET".
func splitMethod(m string) (resource, verb string) {
	i := strings.LastIndex(m, "/")
	if i <= 0 {
		return m, ""
	}
	return m[:i], m[i+1:]
}

// throttleOps are the patch operations that change a rate or a burst
// from → to, with the burst following the rate by the target's ratio
// (burst.go). prefix is the path up to the field, e.g. "/throttle" or
// "/*/*/throttling".
func (b *burstMemo) throttleOps(t *config.Target, prefix string, from, to float64) []types.PatchOperation {
	if t.Limit == "burst" {
		return burstOps(prefix, to)
	}
	burst, tied := b.nextBurst(t, from, to)
	return rateOps(prefix, to, burst, tied)
}

// followBurst is the burst that goes with rate, when the target ties them.
func followBurst(t *config.Target, rate float64) (int64, bool) {
	if t.Limit == "burst" || t.BurstRatio <= 0 {
		return 0, false
	}
	b := int64(math.Ceil(rate * t.BurstRatio))
	return min(max(b, 1), AccountBurst), true
}

// formatRate writes a rate as the decimal API Gateway takes, to the
// hundredth (the knob's resolution).
func formatRate(v float64) string {
	return strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64)
}
