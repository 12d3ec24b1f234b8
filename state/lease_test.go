package state_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/daemon/daemontest"
	"github.com/autotuner/autotuner/state"
)

const leasePolicies = `version: 1
targets:
  - name: a
    kind: lambda-reserved-concurrency
    function: a
    min: 5
    max: 400
    signals:
      busy: {namespace: AWS/Lambda, metric: ConcurrentExecutions, stat: Maximum}
    policy:
      autotuner:
        utilization: {signal: busy, target: 70%}
        up: {max_step: 100%, cooldown: 0s, after: 1}
  - name: b
    kind: lambda-reserved-concurrency
    function: b
    min: 5
    max: 400
    signals:
      busy: {namespace: AWS/Lambda, metric: ConcurrentExecutions, stat: Maximum}
    policy:
      autotuner:
        utilization: {signal: busy, target: 70%}
        up: {max_step: 100%, cooldown: 0s, after: 1}
`

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// replica is one daemon's worth of HA machinery: a lease, a fenced store
// and a controller, all sharing one table and one (fake) service.
type replica struct {
	lease *state.Lease
	ctl   *controller.Controller
}

func newReplica(t *testing.T, f *config.File, c state.DynamoDBAPI, table, owner string, clock *daemontest.Clock, act controller.Actuator) *replica {
	l := &state.Lease{Client: c, Table: table, Name: "autotuner", Owner: owner, TTL: time.Minute, Now: clock.Now}
	store := state.NewDynamoDB(c, table)
	store.Fence = l.Token
	return &replica{lease: l, ctl: &controller.Controller{
		Config: f, Sensor: &daemontest.Sensor{Value: 20}, Actuators: daemontest.Actuators(act),
		Store: store, Gate: l, Parallelism: 1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}}
}

// tick is what the daemon does: campaign, then tick (a follower only plans).
func (r *replica) tick(t *testing.T, now time.Time) *controller.Result {
	t.Helper()
	ctx := context.Background()
	leader, err := r.lease.Campaign(ctx)
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.ctl.Tick(ctx, now, controller.TickOptions{Plan: !leader})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func policies(t *testing.T) *config.File {
	t.Helper()
	f, err := config.Parse("p.yaml", []byte(leasePolicies))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestTwoReplicasExactlyOneAppliesAndTheOtherTakesOver(t *testing.T) {
	c, table := dynamoTable(t)
	f := policies(t)
	clock := daemontest.NewClock(t0)
	act := &daemontest.Actuator{Initial: 10}
	r1 := newReplica(t, f, c, table, "r1", clock, act)
	r2 := newReplica(t, f, c, table, "r2", clock, act)

	// Both tick at the same instant: exactly one applies.
	res1, res2 := r1.tick(t, clock.Now()), r2.tick(t, clock.Now())
	if got := len(act.Changes()); got != 2 {
		t.Fatalf("%d changes applied, want 2 (both targets, by one replica)", got)
	}
	for _, r := range res2.Records {
		if r.Applied || r.Mode != controller.ModePlan {
			t.Errorf("follower record %s: mode %s applied %v, want plan", r.Target, r.Mode, r.Applied)
		}
	}
	for _, r := range res1.Records {
		if !r.Applied {
			t.Errorf("leader record %s not applied: %+v", r.Target, r)
		}
	}
	h, err := r1.lease.Holder(context.Background())
	if err != nil || h.Owner != "r1" || h.Token != 1 {
		t.Fatalf("holder = %+v, %v; want r1 with token 1", h, err)
	}

	// The leader renews on every tick and keeps the lease.
	for i := 1; i <= 3; i++ {
		clock.Advance(30 * time.Second)
		r1.tick(t, clock.Now())
		r2.tick(t, clock.Now())
		if r2.lease.Leader() || !r1.lease.Leader() {
			t.Fatalf("tick %d: the lease moved while its holder renewed", i)
		}
	}

	// r1 dies. r2 keeps ticking every 30 s and must lead within two
	// lease periods.
	died := clock.Now()
	took := time.Duration(-1)
	for range 8 {
		clock.Advance(30 * time.Second)
		r2.tick(t, clock.Now())
		if r2.lease.Leader() {
			took = clock.Since(died)
			break
		}
	}
	if took < 0 || took > 2*time.Minute {
		t.Fatalf("follower took over after %v, want within 2 lease periods (2m)", took)
	}
	if r1.lease.Leader() {
		t.Error("the dead leader still believes it leads")
	}
	if ok, _ := r1.ctl.Gate.MayApply(context.Background()); ok {
		t.Error("the dead leader's gate still opens")
	}
	h, _ = r2.lease.Holder(context.Background())
	if h.Owner != "r2" || h.Token != 2 {
		t.Errorf("holder after takeover = %+v, want r2 with token 2", h)
	}
}

// A leader whose lease ends in the middle of a tick applies nothing more.
func TestLeaderThatLosesTheLeaseMidTickAppliesNothingMore(t *testing.T) {
	c, table := dynamoTable(t)
	f := policies(t)
	clock := daemontest.NewClock(t0)
	act := &slowActuator{Actuator: daemontest.Actuator{Initial: 10}, clock: clock, step: 61 * time.Second}
	r := newReplica(t, f, c, table, "r1", clock, act)
	act.rival = &state.Lease{Client: c, Table: table, Name: "autotuner", Owner: "rival", TTL: time.Minute, Now: clock.Now}
	res := r.tick(t, clock.Now())
	applied := 0
	for _, rec := range res.Records {
		if rec.Applied {
			applied++
		} else if rec.Mode != controller.ModeNotLeader {
			t.Errorf("record %s: mode %s, want not-leader", rec.Target, rec.Mode)
		}
	}
	if applied != 1 {
		t.Fatalf("%d targets applied; the first apply ran past the lease, so want exactly 1", applied)
	}
}

// slowActuator takes step of (fake) time per change, long enough for the
// lease to expire, and a rival replica takes the lease meanwhile.
type slowActuator struct {
	daemontest.Actuator
	clock *daemontest.Clock
	step  time.Duration
	rival *state.Lease
}

func (a *slowActuator) Apply(ctx context.Context, t *config.Target, from, to float64, now time.Time) error {
	a.clock.Advance(a.step)
	if ok, err := a.rival.Campaign(ctx); !ok || err != nil {
		return fmt.Errorf("the rival could not take the expired lease: %v %v", ok, err)
	}
	return a.Actuator.Apply(ctx, t, from, to, now)
}

func TestLeaseReleaseHandsOverAtOnce(t *testing.T) {
	c, table := dynamoTable(t)
	clock := daemontest.NewClock(t0)
	ctx := context.Background()
	l1 := &state.Lease{Client: c, Table: table, Name: "x", Owner: "one", TTL: time.Hour, Now: clock.Now}
	l2 := &state.Lease{Client: c, Table: table, Name: "x", Owner: "two", TTL: time.Hour, Now: clock.Now}
	if ok, err := l1.Campaign(ctx); !ok || err != nil {
		t.Fatalf("first campaign: %v %v", ok, err)
	}
	if ok, _ := l2.Campaign(ctx); ok {
		t.Fatal("two leaders")
	}
	if err := l1.Release(ctx); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Millisecond)
	if ok, err := l2.Campaign(ctx); !ok || err != nil {
		t.Fatalf("campaign after release: %v %v", ok, err)
	}
	if l2.Token() != 2 {
		t.Errorf("token after hand-over = %d, want 2", l2.Token())
	}
}

// Property: whatever the replicas do and however time moves, at most one
// of them may apply at any instant, and tokens only grow.
func TestLeaseAtMostOneHolder(t *testing.T) {
	c, table := dynamoTable(t)
	n := 0
	rapid.Check(t, func(rt *rapid.T) {
		n++
		clock := daemontest.NewClock(t0)
		ctx := context.Background()
		name := fmt.Sprintf("prop-%d", n)
		var ls []*state.Lease
		for i := range 3 {
			ls = append(ls, &state.Lease{Client: c, Table: table, Name: name, Owner: fmt.Sprint("r", i), TTL: time.Minute, Now: clock.Now})
		}
		var last int64
		steps := rapid.IntRange(1, 25).Draw(rt, "steps")
		for range steps {
			i := rapid.IntRange(0, 2).Draw(rt, "replica")
			switch rapid.IntRange(0, 3).Draw(rt, "op") {
			case 0, 1:
				if _, err := ls[i].Campaign(ctx); err != nil {
					rt.Fatal(err)
				}
			case 2:
				if err := ls[i].Release(ctx); err != nil {
					rt.Fatal(err)
				}
			case 3:
				clock.Advance(time.Duration(rapid.IntRange(1, 90).Draw(rt, "seconds")) * time.Second)
			}
			leaders := 0
			for _, l := range ls {
				if ok, _ := l.MayApply(ctx); ok {
					leaders++
					if tok := l.Token(); tok < last {
						rt.Fatalf("token went back from %d to %d", last, tok)
					} else {
						last = tok
					}
				}
			}
			if leaders > 1 {
				rt.Fatalf("%d replicas may apply at once", leaders)
			}
		}
	})
}
