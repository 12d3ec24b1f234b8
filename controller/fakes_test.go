package controller_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/policy"
	"github.com/autotuner/autotuner/state"
)

var t0 = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

// lambdaTarget is a Lambda target whose autotuner proposes exactly
// busy / 70% (kp 1, ki 0) and acts down after one datapoint, so the
// numbers in the tests can be checked by hand.
func lambdaTarget(name, extra string) string {
	return fmt.Sprintf(`  - name: %s
    kind: lambda-reserved-concurrency
    function: %s
    min: 1
    max: 1000
    signals:
      busy: {namespace: AWS/Lambda, metric: ConcurrentExecutions, dimensions: {FunctionName: %s}, stat: Maximum}
      throttles: {namespace: AWS/Lambda, metric: Throttles, dimensions: {FunctionName: %s}, stat: Sum, missing: zero}
    policy:
      autotuner:
        utilization: {signal: busy, target: 70%%}
        throttles: throttles
        pid: {kp: 1, ki: 0}
        down: {after: 1, cooldown: 0s, stabilization: 0s}
%s`, name, name, name, name, extra)
}

func policies(t testing.TB, targets ...string) *config.File {
	t.Helper()
	src := "version: 1\ntargets:\n" + strings.Join(targets, "")
	f, err := config.Parse("test.yaml", []byte(src))
	if err != nil {
		t.Fatalf("policies do not parse:\n%v\n%s", err, src)
	}
	return f
}

// busy is one tick's readings: busy executions, no throttles, in the
// newest complete minute.
func busy(now time.Time, v float64) policy.Signals {
	at := now.Add(-3 * time.Minute).Truncate(time.Minute)
	return policy.Signals{"busy": policy.Reading(v, at), "throttles": policy.Reading(0, at)}
}

// sensor serves readings per target; readings are set per tick.
type sensor struct {
	mu    sync.Mutex
	read  func(now time.Time, target string) policy.Signals
	err   error
	panic bool
	calls int
}

var _ controller.Sensor = (*sensor)(nil)

func (s *sensor) Read(_ context.Context, ts []*config.Target, now time.Time) (map[string]policy.Signals, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.panic {
		panic("sensor exploded")
	}
	if s.err != nil {
		return nil, s.err
	}
	out := map[string]policy.Signals{}
	for _, t := range ts {
		out[t.Name] = s.read(now, t.Name)
	}
	return out, nil
}

type applied struct {
	Target   string
	From, To float64
}

// service is the knobs of every target, as the cloud would hold them.
type service struct {
	mu       sync.Mutex
	value    map[string]float64
	con      map[string]policy.Constraints
	applyErr map[string]error
	panicOn  map[string]string // target → "current" or "apply"
	reads    map[string]int
	applies  []applied
	unset    map[string]bool // knobs with no setting at all
}

var _ controller.Actuator = (*service)(nil)

func newService(values map[string]float64) *service {
	return &service{value: values, con: map[string]policy.Constraints{}, applyErr: map[string]error{}, panicOn: map[string]string{}, reads: map[string]int{}}
}

func (s *service) Current(_ context.Context, t *config.Target, _ time.Time) (controller.State, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.panicOn[t.Name] == "current" {
		panic("actuator exploded on " + t.Name)
	}
	s.reads[t.Name]++
	v, ok := s.value[t.Name]
	if !ok {
		return controller.State{}, controller.WithClass(controller.ClassNotFound, errors.New("no such function "+t.Name))
	}
	return controller.State{Value: v, Constraints: s.con[t.Name], Unset: s.unset[t.Name]}, nil
}

func (s *service) Apply(_ context.Context, t *config.Target, from, to float64, _ time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.panicOn[t.Name] == "apply" {
		panic("apply exploded on " + t.Name)
	}
	if err := s.applyErr[t.Name]; err != nil {
		return err
	}
	s.applies = append(s.applies, applied{t.Name, from, to})
	s.value[t.Name] = to
	return nil
}

func (s *service) get(name string) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.value[name]
}

func (s *service) set(name string, v float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.value[name] = v
}

// store is the in-process store, counting saves and commits; lose makes
// saves vanish, as a crash right after applying would.
type store struct {
	*state.Mem
	mu      sync.Mutex
	saves   int
	commits int
	lose    bool
}

var (
	_ controller.Store     = (*store)(nil)
	_ controller.Committer = (*store)(nil)
)

func newStore() *store { return &store{Mem: state.NewMem()} }

func (s *store) Save(ctx context.Context, target string, m policy.Memory) error {
	s.mu.Lock()
	lose := s.lose
	s.saves++
	s.mu.Unlock()
	if lose {
		return errors.New("process died before saving")
	}
	return s.Mem.Save(ctx, target, m)
}

func (s *store) Commit(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.commits++
	return nil
}

func (s *store) memory(t *testing.T, name string) policy.Memory {
	t.Helper()
	m, err := s.Load(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

type gate struct {
	ok    bool
	err   error
	asked int
	mu    sync.Mutex
}

var _ controller.Gate = (*gate)(nil)

func (g *gate) MayApply(context.Context) (bool, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.asked++
	return g.ok, g.err
}

type rig struct {
	c   *controller.Controller
	sen *sensor
	svc *service
	st  *store
}

func newRig(t testing.TB, f *config.File, values map[string]float64, read func(now time.Time, target string) policy.Signals) *rig {
	r := &rig{sen: &sensor{read: read}, svc: newService(values), st: newStore()}
	r.c = &controller.Controller{
		Config: f, Sensor: r.sen, Store: r.st,
		Actuators: map[config.Kind]controller.Actuator{config.LambdaReservedConcurrency: r.svc},
		Logger:    discard(),
	}
	return r
}

func (r *rig) tick(t *testing.T, now time.Time, opt controller.TickOptions) *controller.Result {
	t.Helper()
	res, err := r.c.Tick(context.Background(), now, opt)
	if err != nil {
		t.Fatalf("tick: %v", err)
	}
	return res
}

func record(t *testing.T, res *controller.Result, name string) *controller.Record {
	t.Helper()
	for _, r := range res.Records {
		if r.Target == name {
			return r
		}
	}
	t.Fatalf("no record for %s", name)
	return nil
}
