package controller_test

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/controller"
)

// Ticks start no goroutine that outlives them.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// crowd counts how many targets are being read at once.
type crowd struct {
	*service
	now, most atomic.Int32
}

func (c *crowd) Current(ctx context.Context, t *config.Target, now time.Time) (controller.State, error) {
	n := c.now.Add(1)
	for {
		m := c.most.Load()
		if n <= m || c.most.CompareAndSwap(m, n) {
			break
		}
	}
	for range 50 {
		runtime.Gosched() // give the other workers every chance to crowd in
	}
	defer c.now.Add(-1)
	return c.service.Current(ctx, t, now)
}

func TestParallelismIsBounded(t *testing.T) {
	var targets []string
	values := map[string]float64{}
	for i := range 40 {
		name := fmt.Sprintf("fn-%02d", i)
		targets = append(targets, lambdaTarget(name, ""))
		values[name] = 100
	}
	for _, par := range []int{1, 3} {
		r := newRig(t, policies(t, targets...), values, steady(70))
		c := &crowd{service: r.svc}
		r.c.Actuators[config.LambdaReservedConcurrency] = c
		r.c.Parallelism = par
		res := r.tick(t, t0, controller.TickOptions{})
		if got := int(c.most.Load()); got > par || got < 1 {
			t.Errorf("parallelism %d: %d targets read at once", par, got)
		}
		if len(res.Records) != 40 || res.Errors() != 0 {
			t.Errorf("parallelism %d: %d records, %d errors", par, len(res.Records), res.Errors())
		}
	}
}
