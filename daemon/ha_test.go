package daemon_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/daemon"
	"github.com/autotuner/autotuner/daemon/daemontest"
	"github.com/autotuner/autotuner/internal/testenv"
	"github.com/autotuner/autotuner/state"
)

// crashed is a lease whose holder dies: it never releases.
type crashed struct{ *state.Lease }

func (crashed) Release(context.Context) error { return nil }

// Two daemons on one DynamoDB table and one service: at every tick exactly
// one applies; when the leader dies, the other takes over within two
// lease periods.
func TestTwoDaemonReplicas(t *testing.T) {
	url := testenv.Dynalite(t, testenv.DynaliteOptions{})
	c := dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String(url), Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	if _, err := c.CreateTable(context.Background(), state.CreateTableInput("ha-state")); err != nil {
		t.Fatal(err)
	}
	w := dynamodb.NewTableExistsWaiter(c, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, 200*time.Millisecond
	})
	if err := w.Wait(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String("ha-state")}, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	f, err := config.Load("testdata/policies.yaml")
	if err != nil {
		t.Fatal(err)
	}
	clock := daemontest.NewClock(t0)
	act := &daemontest.Actuator{Initial: 10}
	sensor := &daemontest.Sensor{Value: 20}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))

	type replica struct {
		lease  *state.Lease
		events chan daemon.Event
		cancel context.CancelFunc
		done   chan error
	}
	start := func(owner string) *replica {
		r := &replica{events: make(chan daemon.Event, 64), done: make(chan error, 1)}
		r.lease = &state.Lease{Client: c, Table: "ha-state", Name: "autotuner", Owner: owner, TTL: time.Minute, Now: clock.Now}
		store := state.NewDynamoDB(c, "ha-state")
		store.Fence = r.lease.Token
		d, err := daemon.New(daemon.Options{
			Load: func() (*config.File, error) { return f, nil },
			Build: func(context.Context, *config.File) (*controller.Controller, func(), error) {
				return &controller.Controller{Config: f, Sensor: sensor, Actuators: daemontest.Actuators(act), Store: store, Gate: r.lease, Logger: quiet}, nil, nil
			},
			Leader: crashed{r.lease}, Clock: clock, Logger: quiet,
			OnEvent: func(e daemon.Event) { r.events <- e },
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		r.cancel = cancel
		go func() { r.done <- d.Run(ctx, nil) }()
		t.Cleanup(func() { cancel(); <-r.done; r.done <- nil })
		return r
	}
	next := func(r *replica, kind daemon.EventKind) daemon.Event {
		t.Helper()
		deadline := time.After(20 * time.Second)
		for {
			select {
			case e := <-r.events:
				if e.Kind == kind {
					return e
				}
			case <-deadline:
				t.Fatalf("no %s event", kind)
			}
		}
	}
	// tick fires every live replica's schedule at once and returns how
	// many applied something.
	tick := func(rs ...*replica) (appliers int, leaders []bool) {
		t.Helper()
		var at time.Time
		for _, r := range rs {
			at = next(r, daemon.EventWaiting).At
		}
		clock.Set(at)
		for _, r := range rs {
			done := next(r, daemon.EventTickDone)
			applied := false
			for _, rec := range done.Result.Records {
				applied = applied || rec.Applied
			}
			if applied {
				appliers++
			}
			leaders = append(leaders, r.lease.Leader())
		}
		return appliers, leaders
	}

	a, b := start("a"), start("b")
	for i := range 3 {
		sensor.SetValue(float64(20 * (i + 2))) // keep demand rising so every tick wants a change
		n, leaders := tick(a, b)
		if n != 1 || leaders[0] == leaders[1] {
			t.Fatalf("tick %d: %d replicas applied, leaders %v; want exactly one", i, n, leaders)
		}
	}
	leader, follower := a, b
	if b.lease.Leader() {
		leader, follower = b, a
	}
	leader.cancel() // dies without releasing the lease
	<-leader.done
	leader.done <- nil
	died := clock.Now()
	took := time.Duration(-1)
	for range 4 {
		tick(follower)
		if follower.lease.Leader() {
			took = clock.Since(died)
			break
		}
	}
	if took < 0 || took > 2*time.Minute {
		t.Fatalf("the follower took over after %v; want within two lease periods", took)
	}
	sensor.SetValue(500)
	if n, _ := tick(follower); n != 1 {
		t.Errorf("the new leader applied in %d ticks, want 1", n)
	}
}
