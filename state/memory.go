package state

import (
	"context"
	"maps"
	"slices"
	"sync"

	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/policy"
)

// Mem keeps memory in process only: for the simulator, plan mode and tests.
type Mem struct {
	mu sync.Mutex
	m  map[string]policy.Memory
}

var (
	_ controller.Store     = (*Mem)(nil)
	_ controller.Forgetter = (*Mem)(nil)
)

// NewMem returns an empty in-process store.
func NewMem() *Mem { return &Mem{m: map[string]policy.Memory{}} }

func (s *Mem) Load(_ context.Context, target string) (policy.Memory, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.m[target]
	if !ok {
		return policy.NewMemory(), nil
	}
	return shareProfile(m), nil
}

func (s *Mem) Save(_ context.Context, target string, m policy.Memory) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	// The caller may keep using its copy: the window is copied, into the
	// stored one's array, which no caller ever sees.
	w := append(s.m[target].Window[:0], m.Window...)
	m = shareProfile(m)
	m.Window = w
	s.m[target] = m
	return nil
}

// Targets lists the targets with memory.
func (s *Mem) Targets() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.m))
}

// Forget drops a target's memory.
func (s *Mem) Forget(target string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, target)
}

// shareProfile is m.Clone but for the seasonal profile, which is shared:
// the policy never writes into a Profile it was given (it replaces it,
// copy on write), and copying its 4 KB twice a tick per target was most
// of the simulator's allocation.
func shareProfile(m policy.Memory) policy.Memory {
	p := m.Profile
	m.Profile = nil
	m = m.Clone()
	m.Profile = p
	return m
}
