package actuators

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/internal/awsclient"
)

// Conn returns the clients of a region and role ("" for the defaults).
type Conn func(region, role string) (*awsclient.Clients, error)

// All returns an actuator for every kind, sharing conn.
func All(conn Conn) map[config.Kind]controller.Actuator {
	tables := newTableCache()
	params := NewParameter(conn)
	return map[config.Kind]controller.Actuator{
		config.StepFunctionsMap:          NewStepFunctionsMap(conn, params),
		config.Parameter:                 params,
		config.LambdaReservedConcurrency: NewLambdaReserved(conn),
		config.LambdaSQSMaxConcurrency:   &LambdaSQS{Conn: conn},
		config.APIGatewayUsagePlan:       NewUsagePlan(conn),
		config.APIGatewayStage:           &Stage{Conn: conn},
		config.APIGatewayV2Stage:         &HTTPStage{Conn: conn},
		config.DynamoDBProvisioned:       &DynamoDBProvisioned{Conn: conn, tables: tables, scaling: newScalingCache()},
		config.DynamoDBOnDemandMax:       &DynamoDBOnDemand{Conn: conn, tables: tables},
		config.RateLimitBucket:           &RateLimitBucket{Conn: conn},
	}
}

// spend takes n calls of plane p from the tick's budget, or explains why
// the target must wait for a later tick.
func spend(c *awsclient.Clients, p awsclient.Plane, n int, now time.Time, op, resource string) error {
	if c.Budget.Take(p, n, now) {
		return nil
	}
	return awsclient.Refuse(awsclient.ClassThrottled, op, resource,
		"deferred: this tick's budget of %d %s control-plane calls in %s is spent; the target holds and is read on a later tick", c.Budget.Cap(p), p, c.Key)
}

// whole converts a decided value to the integer a service takes.
func whole(v float64, op, resource string) (int64, error) {
	n := math.Round(v)
	if math.IsNaN(v) || math.IsInf(v, 0) || n < 0 || n > math.MaxInt32 {
		return 0, awsclient.Refuse(awsclient.ClassInvalid, op, resource, "value %v is not a valid count", v)
	}
	return int64(n), nil
}

// keyed is a mutex per key, so that calls about one resource (or one
// account's ledger) are serialized while others run in parallel.
type keyed struct {
	mu sync.Mutex
	m  map[string]*sync.Mutex
}

func (k *keyed) lock(key string) func() {
	k.mu.Lock()
	if k.m == nil {
		k.m = map[string]*sync.Mutex{}
	}
	m := k.m[key]
	if m == nil {
		m = &sync.Mutex{}
		k.m[key] = m
	}
	k.mu.Unlock()
	m.Lock()
	return m.Unlock
}

func i32(v int64) *int32 { x := int32(v); return &x }

func resourceKey(c *awsclient.Clients, parts ...string) string {
	return fmt.Sprint(c.Key.String(), parts)
}

// asError is errors.As for tests and callers that want the AWS details.
func asError(err error, target **awsclient.Error) bool { return errors.As(err, target) }
