package actuators

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	aastypes "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/internal/awsclient"
)

// ScalingCheckEvery is how long a check for an Application Auto Scaling
// scalable target stays good: registrations are rare, and the check costs
// a call per target.
const ScalingCheckEvery = 10 * time.Minute

// DynamoDBProvisioned sets a table's or GSI's provisioned read or write
// capacity (dynamodb-provisioned).
type DynamoDBProvisioned struct {
	Conn    Conn
	tables  *tableCache
	scaling *scalingCache
}

var _ controller.Coalescer = (*DynamoDBProvisioned)(nil)

// NewDynamoDBProvisioned returns the actuator with its own caches.
func NewDynamoDBProvisioned(conn Conn) *DynamoDBProvisioned {
	return &DynamoDBProvisioned{Conn: conn, tables: newTableCache(), scaling: newScalingCache()}
}

// scalingCache lists each account's DynamoDB scalable targets at most
// every ScalingCheckEvery: one paged listing serves every target, where a
// call per target would cost a thousand calls for a thousand tables.
type scalingCache struct {
	locks keyed
	mu    sync.Mutex
	m     map[awsclient.Key]scalingList
}

type scalingList struct {
	at      time.Time
	targets map[string]string // resource ID + dimension → description
}

func newScalingCache() *scalingCache { return &scalingCache{m: map[awsclient.Key]scalingList{}} }

// scalingResource names the target in Application Auto Scaling terms.
func scalingResource(t *config.Target) (id string, dim aastypes.ScalableDimension) {
	id = "table/" + t.Table
	kind, unit := "table", "ReadCapacityUnits"
	if t.Index != "" {
		id += "/index/" + t.Index
		kind = "index"
	}
	if t.Capacity == "write" {
		unit = "WriteCapacityUnits"
	}
	return id, aastypes.ScalableDimension("dynamodb:" + kind + ":" + unit)
}

// maxScalingPages bounds the listing; 50 a page.
const maxScalingPages = 200

// autoscaled describes the scalable target registered for the target's
// table or index and dimension, or returns "".
func (d *DynamoDBProvisioned) autoscaled(ctx context.Context, c *awsclient.Clients, t *config.Target, now time.Time) (string, error) {
	id, dim := scalingResource(t)
	unlock := d.scaling.locks.lock(c.Key.String())
	defer unlock()
	d.scaling.mu.Lock()
	l, ok := d.scaling.m[c.Key]
	d.scaling.mu.Unlock()
	if !ok || now.Sub(l.at) >= ScalingCheckEvery || now.Before(l.at) {
		l = scalingList{at: now, targets: map[string]string{}}
		in := &applicationautoscaling.DescribeScalableTargetsInput{ServiceNamespace: aastypes.ServiceNamespaceDynamodb}
		for page := 0; ; page++ {
			if page == maxScalingPages {
				return "", awsclient.Refuse(awsclient.ClassTransient, "DescribeScalableTargets", "dynamodb", "more than %d pages", maxScalingPages)
			}
			if err := spend(c, awsclient.PlaneAutoScaling, 1, now, "DescribeScalableTargets", "dynamodb"); err != nil {
				return "", err
			}
			out, err := c.AutoScaling.DescribeScalableTargets(ctx, in)
			if err != nil {
				return "", awsclient.Wrap("DescribeScalableTargets", "dynamodb", err)
			}
			for _, st := range out.ScalableTargets {
				l.targets[aws.ToString(st.ResourceId)+" "+string(st.ScalableDimension)] = fmt.Sprintf("%s %s (min %d, max %d)", aws.ToString(st.ResourceId), st.ScalableDimension, aws.ToInt32(st.MinCapacity), aws.ToInt32(st.MaxCapacity))
			}
			if aws.ToString(out.NextToken) == "" {
				break
			}
			next := *in
			next.NextToken = out.NextToken
			in = &next
		}
		d.scaling.mu.Lock()
		d.scaling.m[c.Key] = l
		d.scaling.mu.Unlock()
	}
	return l.targets[id+" "+string(dim)], nil
}

// throughput is the provisioned throughput of the target's table or index.
func provisionedOf(t *config.Target, desc *types.TableDescription) (*types.ProvisionedThroughputDescription, error) {
	if t.Index == "" {
		return desc.ProvisionedThroughput, nil
	}
	ix := index(desc, t.Index)
	if ix == nil {
		return nil, awsclient.Refuse(awsclient.ClassNotFound, "DescribeTable", "table "+t.Table, "has no global secondary index %q", t.Index)
	}
	return ix.ProvisionedThroughput, nil
}

func pick(t *config.Target, pt *types.ProvisionedThroughputDescription) (this, other int64) {
	r, w := aws.ToInt64(pt.ReadCapacityUnits), aws.ToInt64(pt.WriteCapacityUnits)
	if t.Capacity == "write" {
		return w, r
	}
	return r, w
}

func (d *DynamoDBProvisioned) check(ctx context.Context, c *awsclient.Clients, t *config.Target, now time.Time) (*tableSnap, *types.ProvisionedThroughputDescription, error) {
	res := t.Identity()
	// With coexist_with_autoscaling there is nothing to check: the target
	// runs whatever Application Auto Scaling does.
	if !t.CoexistWithAutoscaling {
		found, err := d.autoscaled(ctx, c, t, now)
		if err != nil {
			return nil, nil, err
		}
		if found != "" {
			return nil, nil, awsclient.Refuse(awsclient.ClassRefused, "DescribeScalableTargets", res,
				"Application Auto Scaling manages %s; both would change the capacity and spend the same decrease budget. Deregister the scalable target, or set coexist_with_autoscaling: true", found)
		}
	}
	s, err := d.tables.describe(ctx, c, t.Table, now)
	if err != nil {
		return nil, nil, err
	}
	if b := billing(s.desc); b != types.BillingModeProvisioned {
		return nil, nil, awsclient.Refuse(awsclient.ClassInvalid, "DescribeTable", res, "the table's billing mode is %s, not PROVISIONED; use kind dynamodb-on-demand-max", b)
	}
	pt, err := provisionedOf(t, s.desc)
	if err != nil {
		return nil, nil, err
	}
	if pt == nil {
		return nil, nil, awsclient.Refuse(awsclient.ClassInvalid, "DescribeTable", res, "reports no provisioned throughput")
	}
	return s, pt, nil
}

func (d *DynamoDBProvisioned) Current(ctx context.Context, t *config.Target, now time.Time) (controller.State, error) {
	c, err := d.Conn(t.Region, t.RoleARN)
	if err != nil {
		return controller.State{}, err
	}
	unlock := d.tables.lock(c, t.Table)
	defer unlock()
	s, pt, err := d.check(ctx, c, t, now)
	if err != nil {
		return controller.State{}, err
	}
	this, _ := pick(t, pt)
	st := controller.State{Value: float64(this)}
	st.Constraints.Floor = 1
	st.Constraints.Blocked = s.blocked(t)
	st.Constraints.Decreases = decreaseQuota(pt)
	return st, nil
}

func (d *DynamoDBProvisioned) Apply(ctx context.Context, t *config.Target, from, to float64, now time.Time) error {
	return d.ApplyGroup(ctx, []controller.Change{{Target: t, From: from, To: to}}, now)[0]
}

// CoalesceKey puts a table's read and write targets (or an index's) on
// one key: one UpdateTable sets both.
func (d *DynamoDBProvisioned) CoalesceKey(t *config.Target) string {
	return t.Region + "|" + t.RoleARN + "|" + t.Table + "|" + t.Index
}

// ApplyGroup sets the read and the write capacity of one table or index
// in one UpdateTable: the second change is not refused because the first
// left the table UPDATING, and two decreases spend one of the day's
// decreases instead of two. A change the rules refuse (the decrease quota
// spent, a value out of range) fails alone; the others still go.
func (d *DynamoDBProvisioned) ApplyGroup(ctx context.Context, changes []controller.Change, now time.Time) []error {
	errs := make([]error, len(changes))
	if len(changes) == 0 {
		return errs
	}
	if !onePair(changes, d.CoalesceKey) {
		// Not one knob pair: apply each alone (never happens with the
		// controller's grouping, which the config keeps to one target
		// per knob).
		for k, ch := range changes {
			errs[k] = d.ApplyGroup(ctx, []controller.Change{ch}, now)[0]
		}
		return errs
	}
	first := changes[0].Target
	c, err := d.Conn(first.Region, first.RoleARN)
	if err != nil {
		return fill(errs, err)
	}
	unlock := d.tables.lock(c, first.Table)
	locked := true
	defer func() {
		if locked {
			unlock()
		}
	}()

	var (
		s        *tableSnap
		pt       *types.ProvisionedThroughputDescription
		set      = map[string]int64{} // capacity → new value
		included []int
	)
	for k, ch := range changes {
		t := ch.Target
		res := t.Identity()
		n, err := whole(ch.To, "UpdateTable", res)
		if err != nil {
			errs[k] = err
			continue
		}
		if n < 1 {
			errs[k] = awsclient.Refuse(awsclient.ClassInvalid, "UpdateTable", res, "capacity must be at least 1, got %d", n)
			continue
		}
		ts, tpt, err := d.check(ctx, c, t, now)
		if err != nil {
			errs[k] = err
			continue
		}
		s, pt = ts, tpt
		if b := s.blocked(t); b != "" {
			errs[k] = awsclient.Refuse(awsclient.ClassConflict, "UpdateTable", res, "%s; retrying next tick", b)
			continue
		}
		this, _ := pick(t, pt)
		if this == n {
			continue // a no-op update is a ValidationException
		}
		if n < this {
			if ok, next := decreaseQuota(pt).Allowed(now); !ok {
				errs[k] = awsclient.Refuse(awsclient.ClassQuota, "UpdateTable", res,
					"the decrease quota is spent (%d decreases today, last at %s); the next decrease is allowed at %s",
					aws.ToInt64(pt.NumberOfDecreasesToday), aws.ToTime(pt.LastDecreaseDateTime).UTC().Format(time.RFC3339), next.UTC().Format(time.RFC3339))
				continue
			}
		}
		set[dimension(t)] = n
		included = append(included, k)
	}
	if len(included) == 0 {
		return errs
	}
	// UpdateTable takes both units: one not changing goes as it is.
	r, w := aws.ToInt64(pt.ReadCapacityUnits), aws.ToInt64(pt.WriteCapacityUnits)
	if n, ok := set["read"]; ok {
		r = n
	}
	if n, ok := set["write"]; ok {
		w = n
	}
	tp := &types.ProvisionedThroughput{ReadCapacityUnits: aws.Int64(r), WriteCapacityUnits: aws.Int64(w)}
	t := changes[included[0]].Target
	err = sendUpdate(ctx, c, s, t, groupResource(t, len(included)), now,
		func(in *dynamodb.UpdateTableInput) { in.ProvisionedThroughput = tp },
		func(a *types.UpdateGlobalSecondaryIndexAction) { a.ProvisionedThroughput = tp })
	if err != nil && len(included) > 1 && separable(ctx, err) {
		// The service refused the pair: one of the two may be at
		// fault, so each goes alone, and the other is not held back
		// by it. (The refused call left the table as it was.)
		unlock()
		locked = false
		for _, k := range included {
			errs[k] = d.ApplyGroup(ctx, []controller.Change{changes[k]}, now)[0]
		}
		return errs
	}
	for _, k := range included {
		errs[k] = err
	}
	return errs
}

// separable reports whether a refused pair is worth sending again one by
// one: the service refused the values (a quota, a validation), not the
// moment (throttling, a network error, a concurrent change), which would
// refuse each alone just the same.
func separable(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	switch controller.Classify(err) {
	case controller.ClassThrottled, controller.ClassTransient, controller.ClassConflict, controller.ClassPermission:
		return false
	}
	return true
}

// onePair reports whether changes are at most one read and one write
// change of one table or index: what one UpdateTable can carry. (With one
// change it is trivially true.)
func onePair(changes []controller.Change, key func(*config.Target) string) bool {
	seen := map[string]bool{}
	for _, ch := range changes {
		if key(ch.Target) != key(changes[0].Target) || seen[dimension(ch.Target)] {
			return false
		}
		seen[dimension(ch.Target)] = true
	}
	return true
}

// groupResource names what one UpdateTable changes, for errors and for
// the table's "changed this tick" note.
func groupResource(t *config.Target, n int) string {
	if n < 2 {
		return t.Identity()
	}
	if t.Index != "" {
		return "index " + t.Index + " of table " + t.Table + " read and write"
	}
	return "table " + t.Table + " read and write"
}

// otherDimension is the capacity a target does not set.
func otherDimension(t *config.Target) string {
	if dimension(t) == "read" {
		return "write"
	}
	return "read"
}

// dimension is the capacity a target sets: "read" or "write".
func dimension(t *config.Target) string {
	if t.Capacity == "write" {
		return "write"
	}
	return "read"
}

// fill sets every entry of errs to err.
func fill(errs []error, err error) []error {
	for k := range errs {
		errs[k] = err
	}
	return errs
}
