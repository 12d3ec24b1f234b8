package actuators

import (
	"math"
	"strconv"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/controller"
)

// An API Gateway rate target moves its burst with it (burst_ratio). Two
// rules keep that from doing harm:
//   - an increase never lowers the burst in force: a plan at 100/333
//     raised to 150 keeps 333, not ceil(150 × 2) = 300;
//   - revert restores the burst as well as the rate, since autotuner
//     changed both.
//
// The burst in force is read with the rate (Current) and remembered per
// knob; the controller always reads a knob before it changes it, so Apply
// finds the burst of the same tick.

// burstMemo remembers the burst in force of each knob, as last read or set.
type burstMemo struct {
	mu sync.Mutex
	m  map[string]int64
}

func burstKey(t *config.Target) string {
	return t.Region + "|" + t.RoleARN + "|" + string(t.Kind) + "|" + t.Identity()
}

func (b *burstMemo) note(t *config.Target, burst int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m == nil {
		b.m = map[string]int64{}
	}
	b.m[burstKey(t)] = burst
}

func (b *burstMemo) get(t *config.Target) (int64, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	v, ok := b.m[burstKey(t)]
	return v, ok
}

// tiesBurst says whether the target's burst follows its rate.
func tiesBurst(t *config.Target) bool { return t.Limit != "burst" && t.BurstRatio > 0 }

// withBurst adds the burst in force to a rate knob's state and remembers it.
func (b *burstMemo) withBurst(t *config.Target, st controller.State, burst int32) controller.State {
	if tiesBurst(t) && !st.Unset {
		st.Burst, st.HaveBurst = float64(burst), true
		b.note(t, int64(burst))
	}
	return st
}

// nextBurst is the burst to set with a rate change from → to: it follows
// the ratio, but an increase keeps a larger burst in force.
func (b *burstMemo) nextBurst(t *config.Target, from, to float64) (int64, bool) {
	next, ok := followBurst(t, to)
	if !ok {
		return 0, false
	}
	if inForce, known := b.get(t); known && to > from && inForce > next {
		next = min(inForce, AccountBurst)
	}
	return next, true
}

// rateOps sets a rate and, when tied, the given burst.
func rateOps(prefix string, rate float64, burst int64, setBurst bool) []types.PatchOperation {
	replace := func(field, v string) types.PatchOperation {
		return types.PatchOperation{Op: types.OpReplace, Path: aws.String(prefix + "/" + field), Value: aws.String(v)}
	}
	ops := []types.PatchOperation{replace("rateLimit", formatRate(rate))}
	if setBurst {
		ops = append(ops, replace("burstLimit", strconv.FormatInt(burst, 10)))
	}
	return ops
}

// burstOps sets a burst target's value.
func burstOps(prefix string, to float64) []types.PatchOperation {
	return []types.PatchOperation{{Op: types.OpReplace, Path: aws.String(prefix + "/burstLimit"), Value: aws.String(strconv.FormatInt(int64(math.Round(to)), 10))}}
}

// noteOps remembers the burst a successful update set.
func (b *burstMemo) noteOps(t *config.Target, ops []types.PatchOperation) {
	if !tiesBurst(t) {
		return
	}
	for _, op := range ops {
		path := aws.ToString(op.Path)
		if len(path) >= len("/burstLimit") && path[len(path)-len("/burstLimit"):] == "/burstLimit" {
			if v, err := strconv.ParseInt(aws.ToString(op.Value), 10, 64); err == nil {
				b.note(t, v)
			}
		}
	}
}
