package actuators

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/internal/awsclient"
	"github.com/autotuner/autotuner/policy"
)

// DynamoDBOnDemand sets an on-demand table's or GSI's maximum read or
// write request units (dynamodb-on-demand-max). A table without a cap
// reports DefaultTableMax as its current value.
type DynamoDBOnDemand struct {
	Conn   Conn
	tables *tableCache
}

var _ controller.Coalescer = (*DynamoDBOnDemand)(nil)

// NewDynamoDBOnDemand returns the actuator with its own table cache.
func NewDynamoDBOnDemand(conn Conn) *DynamoDBOnDemand {
	return &DynamoDBOnDemand{Conn: conn, tables: newTableCache()}
}

// onDemandOf returns the target's cap and the other dimension's, -1 for
// none.
func onDemandOf(t *config.Target, desc *types.TableDescription) (this, other int64, err error) {
	od := desc.OnDemandThroughput
	if t.Index != "" {
		ix := index(desc, t.Index)
		if ix == nil {
			return 0, 0, awsclient.Refuse(awsclient.ClassNotFound, "DescribeTable", "table "+t.Table, "has no global secondary index %q", t.Index)
		}
		od = ix.OnDemandThroughput
	}
	r, w := int64(-1), int64(-1)
	if od != nil {
		if od.MaxReadRequestUnits != nil {
			r = *od.MaxReadRequestUnits
		}
		if od.MaxWriteRequestUnits != nil {
			w = *od.MaxWriteRequestUnits
		}
	}
	if t.Capacity == "write" {
		return w, r, nil
	}
	return r, w, nil
}

func (d *DynamoDBOnDemand) read(ctx context.Context, c *awsclient.Clients, t *config.Target, now time.Time) (*tableSnap, int64, int64, error) {
	s, err := d.tables.describe(ctx, c, t.Table, now)
	if err != nil {
		return nil, 0, 0, err
	}
	if b := billing(s.desc); b != types.BillingModePayPerRequest {
		return nil, 0, 0, awsclient.Refuse(awsclient.ClassInvalid, "DescribeTable", t.Identity(), "the table's billing mode is %s, not PAY_PER_REQUEST; use kind dynamodb-provisioned", b)
	}
	this, other, err := onDemandOf(t, s.desc)
	return s, this, other, err
}

func (d *DynamoDBOnDemand) Current(ctx context.Context, t *config.Target, now time.Time) (controller.State, error) {
	c, err := d.Conn(t.Region, t.RoleARN)
	if err != nil {
		return controller.State{}, err
	}
	unlock := d.tables.lock(c, t.Table)
	defer unlock()
	s, this, _, err := d.read(ctx, c, t, now)
	if err != nil {
		return controller.State{}, err
	}
	unset := this <= 0
	if unset {
		this = DefaultTableMax
	}
	st := controller.State{Value: float64(this), Unset: unset}
	st.Constraints.Floor = 1
	st.Constraints.Blocked = s.blocked(t)
	return st, nil
}

func (d *DynamoDBOnDemand) Apply(ctx context.Context, t *config.Target, from, to float64, now time.Time) error {
	return d.ApplyGroup(ctx, []controller.Change{{Target: t, From: from, To: to}}, now)[0]
}

// CoalesceKey puts a table's read and write maximums (or an index's) on
// one key: one UpdateTable sets both.
func (d *DynamoDBOnDemand) CoalesceKey(t *config.Target) string {
	return t.Region + "|" + t.RoleARN + "|" + t.Table + "|" + t.Index
}

// ApplyGroup sets the read and the write maximum of one table or index in
// one UpdateTable, so the second is not refused because the first left
// the table UPDATING. A change the rules refuse fails alone.
func (d *DynamoDBOnDemand) ApplyGroup(ctx context.Context, changes []controller.Change, now time.Time) []error {
	return applyPair(ctx, pairKnob{
		conn: d.Conn, tables: d.tables, key: d.CoalesceKey, noun: "the maximum",
		read: func(ctx context.Context, c *awsclient.Clients, t *config.Target, now time.Time) (*tableSnap, int64, int64, *policy.DecreaseQuota, error) {
			s, this, other, err := d.read(ctx, c, t, now)
			return s, this, other, nil, err // maximums have no decrease quota
		},
		set: func(r, w int64) (func(*dynamodb.UpdateTableInput), func(*types.UpdateGlobalSecondaryIndexAction)) {
			od := &types.OnDemandThroughput{MaxReadRequestUnits: aws.Int64(r), MaxWriteRequestUnits: aws.Int64(w)}
			return func(in *dynamodb.UpdateTableInput) { in.OnDemandThroughput = od },
				func(a *types.UpdateGlobalSecondaryIndexAction) { a.OnDemandThroughput = od }
		},
	}, changes, now)
}
