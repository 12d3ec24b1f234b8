package sim

import (
	"context"
	"slices"

	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/policy"
)

// memStore is the simulator's Store: state.Mem's semantics for one run's
// controller (Parallelism 1), without its copies. The seasonal profile
// is shared, as the policy never writes one it was given, and a profile
// the policy replaced is recycled after the tick, once no stored memory
// refers to it: within the run nothing else keeps a Memory across ticks.
type memStore struct {
	m        map[string]policy.Memory
	scratch  map[string][]policy.Recommendation
	replaced []*policy.Profile
	seen     map[*policy.Profile]bool
	free     func(*policy.Profile) // policy.RecycleProfile
}

var _ controller.Store = (*memStore)(nil)

func newMemStore() *memStore {
	return &memStore{m: map[string]policy.Memory{}, scratch: map[string][]policy.Recommendation{}, seen: map[*policy.Profile]bool{}, free: policy.RecycleProfile}
}

func (s *memStore) Load(_ context.Context, target string) (policy.Memory, error) {
	m, ok := s.m[target]
	if !ok {
		return policy.NewMemory(), nil
	}
	// The window is copied into the target's scratch array, reused from
	// tick to tick with room for the entry Decide appends: last tick's
	// loaded memory is dead by now, and the stored window is apart.
	w := m.Window
	m = cloneSharingProfile(m)
	sc := append(s.scratch[target][:0], w...)
	if cap(sc)-len(sc) < 2 {
		sc = slices.Grow(sc, 8)
	}
	s.scratch[target] = sc
	m.Window = sc
	return m, nil
}

func (s *memStore) Save(_ context.Context, target string, m policy.Memory) error {
	old := s.m[target]
	if old.Profile != nil && old.Profile != m.Profile {
		s.replaced = append(s.replaced, old.Profile)
	}
	// The caller may keep using its copy: the window is copied, into the
	// stored one's array, which no caller ever sees.
	w := append(old.Window[:0], m.Window...)
	m = cloneSharingProfile(m)
	m.Window = w
	s.m[target] = m
	return nil
}

// recycle hands back the profiles replaced during the tick that no
// stored memory refers to, each once. Called between ticks only.
func (s *memStore) recycle() {
	if len(s.replaced) == 0 {
		return
	}
	clear(s.seen)
	for _, m := range s.m {
		if m.Profile != nil {
			s.seen[m.Profile] = true
		}
	}
	for _, p := range s.replaced {
		if !s.seen[p] {
			s.seen[p] = true
			s.free(p)
		}
	}
	clear(s.replaced)
	s.replaced = s.replaced[:0]
}

// cloneSharingProfile is m.Clone but for the profile, which is shared,
// and the window, left to the caller.
func cloneSharingProfile(m policy.Memory) policy.Memory {
	p := m.Profile
	m.Profile, m.Window = nil, nil
	m = m.Clone()
	m.Profile = p
	return m
}
