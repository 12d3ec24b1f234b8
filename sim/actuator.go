package sim

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/controller"
)

// ServiceError is a call the simulated service rejects, with the error
// code AWS would return and the same class as the real actuators give it
// (read by controller.Classify through ErrorClass).
type ServiceError struct {
	Service, Code, Message string
	Class                  controller.Class
}

func (e *ServiceError) Error() string {
	return fmt.Sprintf("%s: %s: %s", e.Service, e.Code, e.Message)
}

func (e *ServiceError) ErrorClass() string { return string(e.Class) }

// Service rules the simulated actuators enforce.
const (
	lambdaUnreservedFloor = 100              // executions that must stay unreserved
	planUpdateSpacing     = 20 * time.Second // UpdateUsagePlan: 1 call per 20 s
	maxAPIRate            = 10000
	maxAPIBurst           = 5000
	maxTableCapacity      = 40000
)

// Actuator moves the simulated knobs as the AWS services would: Lambda
// changes are near-instant, DynamoDB changes go through UPDATING and the
// decrease quota, API Gateway usage plans take one update per 20 s.
// One Actuator serves every kind.
type Actuator struct {
	p     *plant
	start time.Time
	notes *notes

	lastPlanUpdate time.Time
	// Violations counts calls rejected for breaking a quota (the DynamoDB
	// decrease quota, the usage-plan update rate). A policy that obeys
	// the constraints it is given causes none.
	Violations int
}

func (a *Actuator) sec(now time.Time) int64 { return int64(now.Sub(a.start) / time.Second) }

// bind finds the knob a target turns.
func (a *Actuator) bind(t *config.Target) (knob, error) {
	p, tp := a.p, &a.p.sc.Topology
	missing := func(what string) error {
		return &ServiceError{Service: "sim", Code: "ResourceNotFoundException", Message: fmt.Sprintf("target %s: the scenario has no %s", t.Name, what), Class: controller.ClassNotFound}
	}
	switch t.Kind {
	case config.LambdaReservedConcurrency:
		if t.Function != tp.Lambda.Name {
			a.notes.add("function %q is simulated by the scenario's function %q", t.Function, tp.Lambda.Name)
		}
		return kReserved, nil
	case config.LambdaSQSMaxConcurrency:
		if p.q == nil {
			return 0, missing("SQS event source mapping")
		}
		return kESM, nil
	case config.APIGatewayUsagePlan, config.APIGatewayStage, config.APIGatewayV2Stage:
		if p.api == nil {
			return 0, missing("API Gateway")
		}
		if t.Kind == config.APIGatewayV2Stage {
			// An HTTP API stage throttles by the same token bucket as a
			// REST stage; the simulated API has one route, so the default
			// route and any one route turn the stage's throttle.
			a.notes.add("target %s: the HTTP API stage is simulated by the scenario's stage throttle", t.Name)
		}
		// A usage-plan target turns the plan's throttle (each key's), a
		// stage target the stage's (each method's); a scenario with only
		// one throttle lets either kind turn it.
		plan := t.Kind == config.APIGatewayUsagePlan
		if plan && !p.api.plan || !plan && !p.api.stage {
			a.notes.add("target %s: the scenario's API has no %s throttle; the target turns its %s throttle", t.Name, map[bool]string{true: "usage-plan", false: "stage"}[plan], map[bool]string{true: "stage", false: "usage-plan"}[plan])
			plan = !plan
		}
		switch {
		case plan && t.Limit == "burst":
			return kAPIBurst, nil
		case plan:
			return kAPIRate, nil
		case t.Limit == "burst":
			return kStageBurst, nil
		}
		return kStageRate, nil
	case config.DynamoDBProvisioned, config.DynamoDBOnDemandMax:
		if p.table == nil {
			return 0, missing("DynamoDB table")
		}
		if t.Table != tp.Table.Name {
			a.notes.add("table %q is simulated by the scenario's table %q", t.Table, tp.Table.Name)
		}
		if t.Index != "" {
			a.notes.add("index %q of table %q is simulated as the table itself", t.Index, t.Table)
		}
		if od := p.table.read.onDemand; od != (t.Kind == config.DynamoDBOnDemandMax) {
			mode := "provisioned"
			if od {
				mode = "on-demand"
			}
			return 0, &ServiceError{Service: "dynamodb", Code: "ValidationException", Message: fmt.Sprintf("target %s: the table is in %s mode", t.Name, mode), Class: controller.ClassInvalid}
		}
		if t.Capacity == "read" {
			return kRead, nil
		}
		return kWrite, nil
	}
	return 0, &ServiceError{Service: "sim", Code: "Unsupported", Message: fmt.Sprintf("kind %s is not simulated", t.Kind), Class: controller.ClassInvalid}
}

// Current reads the knob and the service's rules as they stand.
func (a *Actuator) Current(_ context.Context, t *config.Target, now time.Time) (controller.State, error) {
	k, err := a.bind(t)
	if err != nil {
		return controller.State{}, err
	}
	st := controller.State{Value: a.p.knobValue(k)}
	c := &st.Constraints
	switch k {
	case kReserved:
		l := &a.p.sc.Topology.Lambda
		c.Ceiling = max(0, l.AccountConcurrency-lambdaUnreservedFloor-l.OtherReserved)
		st.Unset = a.p.fn.unreserved // Value is then the unreserved pool it may use
	case kESM:
		c.Floor, c.Ceiling = 2, 1000
		if st.Value == 0 {
			st.Value, st.Unset = 1000, true // no maximum set: the mapping scales to its own limit
		}
	case kAPIRate, kAPIBurst, kStageRate, kStageBurst:
		c.Ceiling = maxAPIRate
		if k == kAPIBurst || k == kStageBurst {
			c.Ceiling = maxAPIBurst
		}
		if t.Kind == config.APIGatewayUsagePlan && !a.lastPlanUpdate.IsZero() {
			if nb := a.lastPlanUpdate.Add(planUpdateSpacing); now.Before(nb) {
				c.NotBefore = nb
			}
		}
	case kRead, kWrite:
		c.Floor, c.Ceiling = 1, maxTableCapacity
		tb := a.p.table
		c.Decreases = tb.quota
		if a.sec(now) < tb.updatingUntil {
			c.Blocked = "table is UPDATING"
		}
	}
	return st, nil
}

// Apply sets the knob, or rejects the call as the service would.
func (a *Actuator) Apply(_ context.Context, t *config.Target, from, to float64, now time.Time) error {
	k, err := a.bind(t)
	if err != nil {
		return err
	}
	cur := a.p.knobValue(k)
	if k == kESM && cur == 0 {
		cur = 1000
	}
	if math.IsNaN(to) || math.IsInf(to, 0) {
		return &ServiceError{Service: "sim", Code: "ValidationException", Message: "value is not a number", Class: controller.ClassInvalid}
	}
	if cur != from {
		return &ServiceError{Service: "sim", Code: "ConflictException", Message: fmt.Sprintf("%s changed from %v to %v since it was read", t.Identity(), from, cur), Class: controller.ClassConflict}
	}
	// The product promises never to leave a target's bounds, nor to stop
	// a function (0) unless allowed. The simulated world checks it with
	// its own eyes and counts a breach as a violation, like a quota.
	if t.Max > 0 && (to > t.Max+1e-9 || to < t.Min-1e-9 || (k == kReserved && to == 0 && !t.AllowZero)) {
		a.Violations++
		return &ServiceError{Service: "sim", Code: "BoundsViolation", Message: fmt.Sprintf("%s: %v is outside the target's bounds [%v, %v]", t.Identity(), to, t.Min, t.Max), Class: controller.ClassInvalid}
	}
	return a.set(t, k, cur, to, now)
}

// set moves knob k from cur to to, by the service's rules.
func (a *Actuator) set(t *config.Target, k knob, cur, to float64, now time.Time) error {
	p, s := a.p, a.sec(now)
	switch k {
	case kReserved:
		l := &p.sc.Topology.Lambda
		ceil := l.AccountConcurrency - lambdaUnreservedFloor - l.OtherReserved
		if to < 0 || to > ceil || to != math.Trunc(to) {
			return &ServiceError{Service: "lambda", Code: "InvalidParameterValueException", Message: fmt.Sprintf("Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [%d]: asked %v", lambdaUnreservedFloor, to), Class: controller.ClassInvalid}
		}
		p.schedule(s+p.sc.Actuation.Lambda.Seconds(), k, to)
	case kESM:
		if to < 2 || to > 1000 || to != math.Trunc(to) {
			return &ServiceError{Service: "lambda", Code: "InvalidParameterValueException", Message: fmt.Sprintf("MaximumConcurrency must be between 2 and 1000, got %v", to), Class: controller.ClassInvalid}
		}
		p.schedule(s+p.sc.Actuation.Lambda.Seconds(), k, to)
	case kAPIRate, kAPIBurst, kStageRate, kStageBurst:
		ceil := float64(maxAPIRate)
		if k == kAPIBurst || k == kStageBurst {
			ceil = maxAPIBurst
		}
		if to < 0 || to > ceil {
			return &ServiceError{Service: "apigateway", Code: "BadRequestException", Message: fmt.Sprintf("throttle must be between 0 and %v, got %v", ceil, to), Class: controller.ClassInvalid}
		}
		if t.Kind == config.APIGatewayUsagePlan {
			if !a.lastPlanUpdate.IsZero() && now.Before(a.lastPlanUpdate.Add(planUpdateSpacing)) {
				a.Violations++
				return &ServiceError{Service: "apigateway", Code: "TooManyRequestsException", Message: "UpdateUsagePlan is limited to 1 call every 20 seconds", Class: controller.ClassThrottled}
			}
			a.lastPlanUpdate = now
		}
		p.schedule(s, k, to)
		if (k == kAPIRate || k == kStageRate) && t.BurstRatio > 0 {
			p.schedule(s, k+1, math.Min(maxAPIBurst, math.Max(1, math.Round(to*t.BurstRatio))))
		}
	case kRead, kWrite:
		tb := p.table
		if to < 1 || to > maxTableCapacity || to != math.Trunc(to) {
			return &ServiceError{Service: "dynamodb", Code: "ValidationException", Message: fmt.Sprintf("capacity units must be whole numbers between 1 and %d, got %v", maxTableCapacity, to), Class: controller.ClassInvalid}
		}
		if tb.read.onDemand {
			p.schedule(s, k, to) // an on-demand maximum applies at once
			return nil
		}
		if s < tb.updatingUntil {
			return &ServiceError{Service: "dynamodb", Code: "ResourceInUseException", Message: "Attempt to change a resource which is still in use: Table is being updated", Class: controller.ClassConflict}
		}
		if to == cur {
			return &ServiceError{Service: "dynamodb", Code: "ValidationException", Message: "The provisioned throughput for the table will not change", Class: controller.ClassInvalid}
		}
		delay := p.sc.Actuation.DynamoDBUpdating.Seconds()
		if to < cur {
			if ok, _ := tb.quota.Allowed(now); !ok {
				a.Violations++
				return &ServiceError{Service: "dynamodb", Code: "LimitExceededException", Message: fmt.Sprintf("Subscriber limit exceeded: Provisioned throughput decreases are limited within a given UTC day (decreases today: %d)", tb.quota.Today), Class: controller.ClassQuota}
			}
			tb.quota = tb.quota.Spend(now)
			delay = p.sc.Actuation.DynamoDBDecrease.Seconds()
		}
		tb.updatingUntil = s + delay
		p.schedule(s+delay, k, to)
	}
	return nil
}

var _ controller.Coalescer = (*Actuator)(nil)

// CoalesceKey pairs a provisioned table's read and write targets, which
// one UpdateTable sets, as the real actuator does.
func (a *Actuator) CoalesceKey(t *config.Target) string {
	if t.Kind != config.DynamoDBProvisioned {
		return ""
	}
	return t.Table + "|" + t.Index
}

// ApplyGroup applies a table's read and write changes as one UpdateTable:
// one UPDATING, and one of the day's decreases for both. Anything else
// applies change by change.
func (a *Actuator) ApplyGroup(ctx context.Context, changes []controller.Change, now time.Time) []error {
	errs := make([]error, len(changes))
	each := func(idx ...int) []error {
		for _, i := range idx {
			errs[i] = a.Apply(ctx, changes[i].Target, changes[i].From, changes[i].To, now)
		}
		return errs
	}
	if len(changes) != 2 || a.p.table == nil || a.p.table.read.onDemand {
		for i, ch := range changes {
			errs[i] = a.Apply(ctx, ch.Target, ch.From, ch.To, now)
		}
		return errs
	}
	ks := [2]knob{}
	for i, ch := range changes {
		k, err := a.bind(ch.Target)
		if err != nil {
			return each(0, 1)
		}
		ks[i] = k
	}
	if ks[0] == ks[1] || (ks[0] != kRead && ks[0] != kWrite) || (ks[1] != kRead && ks[1] != kWrite) {
		return each(0, 1)
	}
	p, tb, s := a.p, a.p.table, a.sec(now)
	var pair []int
	for i, ch := range changes {
		cur := p.knobValue(ks[i])
		switch {
		case ch.To == cur:
			// no change: not part of the call
		case math.IsNaN(ch.To) || cur != ch.From || ch.To < ch.Target.Min-1e-9 || ch.To > ch.Target.Max+1e-9 ||
			ch.To < 1 || ch.To > maxTableCapacity || ch.To != math.Trunc(ch.To):
			errs[i] = a.Apply(ctx, ch.Target, ch.From, ch.To, now) // its own, precise refusal
		default:
			pair = append(pair, i)
		}
	}
	if len(pair) < 2 {
		return each(pair...)
	}
	if s < tb.updatingUntil {
		return each(pair...) // both refused: the table is UPDATING
	}
	delay := p.sc.Actuation.DynamoDBUpdating.Seconds()
	decrease := false
	for _, i := range pair {
		decrease = decrease || changes[i].To < p.knobValue(ks[i])
	}
	if decrease {
		if ok, _ := tb.quota.Allowed(now); !ok {
			return each(pair...) // the decrease is refused, the other goes alone
		}
		tb.quota = tb.quota.Spend(now)
		delay = p.sc.Actuation.DynamoDBDecrease.Seconds()
	}
	tb.updatingUntil = s + delay
	for _, i := range pair {
		p.schedule(s+delay, ks[i], changes[i].To)
	}
	return errs
}
