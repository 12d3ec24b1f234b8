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
	"github.com/autotuner/autotuner/policy"
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
	return applyPair(ctx, pairKnob{
		conn: d.Conn, tables: d.tables, key: d.CoalesceKey, noun: "capacity",
		read: func(ctx context.Context, c *awsclient.Clients, t *config.Target, now time.Time) (*tableSnap, int64, int64, *policy.DecreaseQuota, error) {
			s, pt, err := d.check(ctx, c, t, now)
			if err != nil {
				return nil, 0, 0, nil, err
			}
			this, other := pick(t, pt)
			q := decreaseQuota(pt)
			return s, this, other, &q, nil
		},
		set: func(r, w int64) (func(*dynamodb.UpdateTableInput), func(*types.UpdateGlobalSecondaryIndexAction)) {
			tp := &types.ProvisionedThroughput{ReadCapacityUnits: aws.Int64(r), WriteCapacityUnits: aws.Int64(w)}
			return func(in *dynamodb.UpdateTableInput) { in.ProvisionedThroughput = tp },
				func(a *types.UpdateGlobalSecondaryIndexAction) { a.ProvisionedThroughput = tp }
		},
	}, changes, now)
}
