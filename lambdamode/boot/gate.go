package boot

import (
	"context"

	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/state"
)

// CampaignGate makes a lease usable from a function: each change first
// campaigns for (or renews) the lease, since no daemon loop does it.
type CampaignGate struct{ Lease *state.Lease }

var _ controller.Gate = CampaignGate{}

// MayApply implements controller.Gate.
func (g CampaignGate) MayApply(ctx context.Context) (bool, error) {
	if !g.Lease.Leader() {
		if _, err := g.Lease.Campaign(ctx); err != nil {
			return false, err
		}
	}
	return g.Lease.MayApply(ctx)
}
