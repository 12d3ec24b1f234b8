package awsclient

import (
	"context"
	"sync"
	"time"

	"github.com/aws/smithy-go/middleware"
	"golang.org/x/time/rate"
)

// Plane names a control plane whose calls share one service quota.
type Plane string

const (
	PlaneLambda          Plane = "lambda"           // every Lambda control-plane call but GetFunction: 15 rps shared
	PlaneLambdaGet       Plane = "lambda-get"       // GetFunction: 100 rps
	PlaneAPIGateway      Plane = "apigateway"       // management calls: 10 rps, burst 40
	PlaneUsagePlanUpdate Plane = "usageplan-update" // UpdateUsagePlan: 1 per 20 s per account
	PlaneDynamoDB        Plane = "dynamodb"         // DescribeTable, UpdateTable
	PlaneCloudWatch      Plane = "cloudwatch"       // GetMetricData: about 50 TPS
	PlaneSQS             Plane = "sqs"
	PlaneAutoScaling     Plane = "autoscaling" // Application Auto Scaling Describe*
	PlaneSTS             Plane = "sts"
	// Step Functions throttles each API action with its own token bucket
	// per account and Region: DescribeStateMachine 200 burst, 20/s;
	// UpdateStateMachine 100 burst, 1/s
	// (https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html).
	// Publishing a version and moving an alias are paced with the update.
	PlaneStates       Plane = "states"        // Describe* calls
	PlaneStatesUpdate Plane = "states-update" // UpdateStateMachine, PublishStateMachineVersion, UpdateStateMachineAlias
	// Parameter Store: GetParameter shares 40 TPS per account and Region
	// at the default throughput (https://docs.aws.amazon.com/general/latest/gr/ssm.html);
	// PutParameter allows 3 TPS at the default throughput (AWS Support, as
	// reported in github.com/github-aws-runners/terraform-aws-github-runner/issues/2944).
	PlaneSSM    Plane = "ssm"
	PlaneSSMPut Plane = "ssm-put"
)

// Rate is one plane's client-side pace: a token bucket.
type Rate struct {
	PerSecond float64
	Burst     int
}

// DefaultRates stay under the documented quotas (AWS-FACTS.md), with small
// bursts and a margin (Lambda: 12 of 15 rps) so that network jitter, which
// bunches calls on arrival, cannot push a second over the quota.
// DynamoDB's control plane allows 2,500 rps; 40% of it describes 1,000
// tables in a second and leaves the rest to other tools.
var DefaultRates = map[Plane]Rate{
	PlaneLambda:          {PerSecond: 12, Burst: 1},
	PlaneLambdaGet:       {PerSecond: 90, Burst: 5},
	PlaneAPIGateway:      {PerSecond: 9, Burst: 20},
	PlaneUsagePlanUpdate: {PerSecond: 1.0 / 20, Burst: 1},
	PlaneDynamoDB:        {PerSecond: 1000, Burst: 100},
	PlaneCloudWatch:      {PerSecond: 40, Burst: 10},
	PlaneSQS:             {PerSecond: 200, Burst: 20},
	PlaneAutoScaling:     {PerSecond: 10, Burst: 5},
	PlaneSTS:             {PerSecond: 10, Burst: 5},
	PlaneStates:          {PerSecond: 15, Burst: 10},
	PlaneStatesUpdate:    {PerSecond: 0.8, Burst: 5},
	PlaneSSM:             {PerSecond: 30, Burst: 5},
	PlaneSSMPut:          {PerSecond: 2, Burst: 1},
}

// planeOf maps an operation of a service to the plane it counts against.
func planeOf(service, op string) Plane {
	switch service {
	case "lambda":
		if op == "GetFunction" {
			return PlaneLambdaGet
		}
		return PlaneLambda
	case "apigateway", "apigatewayv2":
		// REST and HTTP API management calls share one quota: "total
		// operations", 10 rps with a burst of 40, across every API type
		// (https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html).
		return PlaneAPIGateway
	case "dynamodb":
		return PlaneDynamoDB
	case "cloudwatch":
		return PlaneCloudWatch
	case "sqs":
		return PlaneSQS
	case "autoscaling":
		return PlaneAutoScaling
	case "sts":
		return PlaneSTS
	case "states":
		switch op {
		case "UpdateStateMachine", "PublishStateMachineVersion", "UpdateStateMachineAlias":
			return PlaneStatesUpdate
		}
		return PlaneStates
	case "ssm":
		if op == "PutParameter" {
			return PlaneSSMPut
		}
		return PlaneSSM
	}
	return ""
}

// limiters holds one token bucket per plane for one account key. The
// buckets are real-time: they pace real network calls.
type limiters struct {
	mu sync.Mutex
	m  map[Plane]*rate.Limiter
	r  map[Plane]Rate
}

func newLimiters(rates map[Plane]Rate) *limiters {
	return &limiters{m: map[Plane]*rate.Limiter{}, r: rates}
}

func (l *limiters) get(p Plane) *rate.Limiter {
	if l == nil || p == "" {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if lim, ok := l.m[p]; ok {
		return lim
	}
	r, ok := l.r[p]
	if !ok {
		l.m[p] = nil
		return nil
	}
	lim := rate.NewLimiter(rate.Limit(r.PerSecond), max(r.Burst, 1))
	l.m[p] = lim
	return lim
}

// middleware paces every attempt, retries included: a retry spends the
// same quota as the first try.
func (l *limiters) middleware(service string) func(*middleware.Stack) error {
	return func(s *middleware.Stack) error {
		mw := middleware.FinalizeMiddlewareFunc("autotuner.RateLimit", func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			op := middleware.GetOperationName(ctx)
			if lim := l.get(planeOf(service, op)); lim != nil {
				if err := lim.Wait(ctx); err != nil {
					return middleware.FinalizeOutput{}, middleware.Metadata{}, &Error{Op: op, Class: ClassTransient, Err: err}
				}
			}
			if service == "apigateway" && op == "UpdateUsagePlan" {
				if lim := l.get(PlaneUsagePlanUpdate); lim != nil {
					if err := lim.Wait(ctx); err != nil {
						return middleware.FinalizeOutput{}, middleware.Metadata{}, &Error{Op: op, Class: ClassThrottled, Err: err}
					}
				}
			}
			return next.HandleFinalize(ctx, in)
		})
		if _, ok := s.Finalize.Get("Retry"); ok {
			return s.Finalize.Insert(mw, "Retry", middleware.After)
		}
		return s.Finalize.Add(mw, middleware.Before)
	}
}

// Budget caps the control-plane calls one tick may make per plane, so that
// a fleet of thousands finishes its tick well inside the interval instead
// of queueing behind the rate limiter. A target that finds the budget
// spent holds and is read on a later tick.
type Budget struct {
	mu   sync.Mutex
	tick time.Time
	used map[Plane]int
	caps map[Plane]int
}

// NewBudget gives each plane rate × window + burst calls per tick.
func NewBudget(rates map[Plane]Rate, window time.Duration) *Budget {
	caps := map[Plane]int{}
	for p, r := range rates {
		caps[p] = int(r.PerSecond*window.Seconds()) + r.Burst
	}
	return &Budget{caps: caps, used: map[Plane]int{}}
}

// Take spends n calls of plane p in the tick at now. It reports false, and
// spends nothing, when the tick's budget cannot cover them.
func (b *Budget) Take(p Plane, n int, now time.Time) bool {
	if b == nil {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !now.Equal(b.tick) {
		b.tick, b.used = now, map[Plane]int{}
	}
	c, ok := b.caps[p]
	if !ok {
		return true
	}
	if b.used[p]+n > c {
		return false
	}
	b.used[p] += n
	return true
}

// Cap is the number of calls plane p may make per tick.
func (b *Budget) Cap(p Plane) int {
	if b == nil {
		return 0
	}
	return b.caps[p]
}
