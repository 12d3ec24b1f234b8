package actuators

import (
	"testing"
	"time"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/internal/awsclient"
	"github.com/autotuner/autotuner/internal/awsfake"
	"github.com/autotuner/autotuner/sensors"
	"github.com/autotuner/autotuner/state"
)

// TestFailedChangeHoldsAndRetriesNextTick runs the controller over the
// fakes: a change AWS refuses is recorded with its class, the target holds,
// and the next tick applies it.
func TestFailedChangeHoldsAndRetriesNextTick(t *testing.T) {
	fake, conn := connect(t, awsclient.Options{})
	fake.Lambda.AddFunction("fn0", ptr(100))
	fake.CloudWatch.Value = func(q awsfake.MetricDataQuery, ts time.Time) (float64, bool) {
		if q.Metric().Name == "ConcurrentExecutions" {
			return 100, true // saturated: wants more
		}
		return 0, false
	}
	f, err := config.Parse("one.yaml", []byte(fleetFile(1, config.LambdaReservedConcurrency)))
	if err != nil {
		t.Fatal(err)
	}
	fac := func(region, role string) (sensors.Clients, error) {
		c, err := conn(region, role)
		if err != nil {
			return sensors.Clients{}, err
		}
		return sensors.Clients{Metrics: c.CloudWatch, Queues: c.SQS}, nil
	}
	ctl := &controller.Controller{Config: f, Sensor: &sensors.CloudWatch{Clients: fac}, Actuators: All(conn), Store: state.NewMem()}
	conflict := awsfake.APIError{Status: 409, Code: "ResourceConflictException", Message: "An update is in progress"}
	fake.Fail("PutFunctionConcurrency", conflict) // not retried by the SDK: a 409

	res, err := ctl.Tick(ctx, t0, controller.TickOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r := res.Records[0]
	if r.Applied || r.ErrorClass != controller.ClassConflict || r.Stage != "apply" || r.Final != 100 {
		t.Fatalf("first tick: applied=%v class=%q stage=%q final=%v", r.Applied, r.ErrorClass, r.Stage, r.Final)
	}
	res, err = ctl.Tick(ctx, t0.Add(time.Minute), controller.TickOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r = res.Records[0]
	if !r.Applied || r.Error != "" || r.Final <= 100 {
		t.Fatalf("second tick: applied=%v error=%q final=%v", r.Applied, r.Error, r.Final)
	}
	if got := fake.Lambda.Reserved("fn0"); got == nil || float64(*got) != r.Final {
		t.Errorf("reservation = %v, want %v", got, r.Final)
	}
}
