package actuators

import (
	"context"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/internal/awsclient"
)

// MinUnreserved is the account concurrency Lambda keeps unreserved.
const MinUnreserved = 100

// LambdaReserved sets a function's reserved concurrency
// (lambda-reserved-concurrency).
//
// A function without a reservation draws on the account's unreserved pool,
// so its current value is that pool's size: the most it can run now. The
// first change then sets a reservation within the target's bounds.
type LambdaReserved struct {
	Conn Conn

	accounts keyed // serializes the account ledger: check the floor, put, update
	mu       sync.Mutex
	ledger   map[awsclient.Key]*accountTick
	reserved map[string]reservation // function → its reservation as read this tick
}

// accountTick is GetAccountSettings as read in one tick, adjusted by the
// changes made since, so that two functions changed in one tick cannot
// together break the floor.
type accountTick struct {
	tick       time.Time
	limit      int64
	unreserved int64
}

type reservation struct {
	tick time.Time
	n    *int32
}

var _ controller.Actuator = (*LambdaReserved)(nil)

// NewLambdaReserved returns the actuator.
func NewLambdaReserved(conn Conn) *LambdaReserved {
	return &LambdaReserved{Conn: conn, ledger: map[awsclient.Key]*accountTick{}, reserved: map[string]reservation{}}
}

// account returns the account settings of this tick, reading them once per
// tick: the floor is account-wide, so one read serves every function.
func (l *LambdaReserved) account(ctx context.Context, c *awsclient.Clients, now time.Time) (*accountTick, error) {
	unlock := l.accounts.lock(c.Key.String())
	defer unlock()
	l.mu.Lock()
	a := l.ledger[c.Key]
	l.mu.Unlock()
	if a != nil && a.tick.Equal(now) {
		return a, nil
	}
	if err := spend(c, awsclient.PlaneLambda, 1, now, "GetAccountSettings", "account"); err != nil {
		return nil, err
	}
	out, err := c.Lambda.GetAccountSettings(ctx, &lambda.GetAccountSettingsInput{})
	if err != nil {
		return nil, awsclient.Wrap("GetAccountSettings", "account", err)
	}
	a = &accountTick{tick: now}
	if out.AccountLimit != nil {
		a.limit = int64(out.AccountLimit.ConcurrentExecutions)
		a.unreserved = int64(aws.ToInt32(out.AccountLimit.UnreservedConcurrentExecutions))
	}
	l.mu.Lock()
	l.ledger[c.Key] = a
	l.mu.Unlock()
	return a, nil
}

func (l *LambdaReserved) Current(ctx context.Context, t *config.Target, now time.Time) (controller.State, error) {
	res := "function " + t.Function
	c, err := l.Conn(t.Region, t.RoleARN)
	if err != nil {
		return controller.State{}, err
	}
	// GetFunction returns the reservation too, and has its own quota of
	// 100 requests/s, apart from the 15 requests/s every other control-plane
	// call shares (GetFunctionConcurrency among them): a fleet's reads no
	// longer crowd out its changes, and a first tick reads every function.
	// https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
	// ("GetFunction API requests: 100 requests per second").
	if err := spend(c, awsclient.PlaneLambdaGet, 1, now, "GetFunction", res); err != nil {
		return controller.State{}, err
	}
	out, err := c.Lambda.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(t.Function)})
	if err != nil {
		return controller.State{}, awsclient.Wrap("GetFunction", res, err)
	}
	var reserved *int32
	if out.Concurrency != nil {
		reserved = out.Concurrency.ReservedConcurrentExecutions
	}
	acct, err := l.account(ctx, c, now)
	if err != nil {
		return controller.State{}, err
	}
	l.mu.Lock()
	l.reserved[resourceKey(c, t.Function)] = reservation{tick: now, n: reserved}
	unreserved := acct.unreserved
	l.mu.Unlock()

	var own int64
	st := controller.State{}
	if reserved != nil {
		own = int64(*reserved)
		st.Value = float64(own)
	} else {
		st.Value = float64(unreserved)
		st.Unset = true
	}
	st.Constraints.Floor = 1
	if t.AllowZero {
		st.Constraints.Floor = 0
	}
	// The most this function may reserve: what is unreserved now plus its
	// own reservation, less the floor the account must keep.
	if ceiling := Ceiling(unreserved, own); ceiling >= 1 {
		st.Constraints.Ceiling = float64(ceiling)
	} else {
		st.Constraints.Blocked = "the account's unreserved concurrency is at Lambda's floor of 100; nothing is left to reserve"
	}
	if reserved != nil && own == 0 && !t.AllowZero {
		// A reservation of 0 that autotuner may not set was set by a
		// person: an emergency stop. Raising it back to min would undo it.
		st.Constraints.Blocked = "the reservation is 0: the function was stopped by hand, and autotuner leaves it stopped (allow_zero lets autotuner manage 0)"
	}
	return st, nil
}

func (l *LambdaReserved) Apply(ctx context.Context, t *config.Target, from, to float64, now time.Time) error {
	res := "function " + t.Function
	n, err := whole(to, "PutFunctionConcurrency", res)
	if err != nil {
		return err
	}
	if n == 0 && !t.AllowZero {
		return awsclient.Refuse(awsclient.ClassInvalid, "PutFunctionConcurrency", res, "a reservation of 0 stops the function; the target does not set allow_zero")
	}
	c, err := l.Conn(t.Region, t.RoleARN)
	if err != nil {
		return err
	}
	key := resourceKey(c, t.Function)
	l.mu.Lock()
	r, ok := l.reserved[key]
	l.mu.Unlock()
	if !ok || !r.tick.Equal(now) {
		// The controller reads before it changes, so this is only a
		// safety net: never change against an unknown reservation.
		if _, err := l.Current(ctx, t, now); err != nil {
			return err
		}
		l.mu.Lock()
		r = l.reserved[key]
		l.mu.Unlock()
	}
	if r.n != nil && int64(*r.n) == n {
		return nil // already so: sending it would only spend quota
	}
	acct, err := l.account(ctx, c, now)
	if err != nil {
		return err
	}
	unlock := l.accounts.lock(c.Key.String())
	defer unlock()
	var own int64
	if r.n != nil {
		own = int64(*r.n)
	}
	l.mu.Lock()
	left := acct.unreserved + own - n
	l.mu.Unlock()
	if left < MinUnreserved {
		return awsclient.Refuse(awsclient.ClassInvalid, "PutFunctionConcurrency", res,
			"reserving %d would leave %d unreserved in the account, below Lambda's minimum of %d", n, left, MinUnreserved)
	}
	if err := spend(c, awsclient.PlaneLambda, 1, now, "PutFunctionConcurrency", res); err != nil {
		return err
	}
	if _, err := c.Lambda.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String(t.Function), ReservedConcurrentExecutions: i32(n)}); err != nil {
		return awsclient.Wrap("PutFunctionConcurrency", res, err)
	}
	l.mu.Lock()
	acct.unreserved = left
	l.reserved[key] = reservation{tick: now, n: i32(n)}
	l.mu.Unlock()
	return nil
}

// Ceiling reports the highest reservation the floor allows for a function
// that holds own now, given the account's unreserved concurrency: a pure
// helper for documentation and tests.
func Ceiling(unreserved, own int64) int64 { return unreserved + own - MinUnreserved }
