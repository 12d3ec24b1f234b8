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
)

// DynamoDBOnDemand sets an on-demand table's or GSI's maximum read or
// write request units (dynamodb-on-demand-max). A table without a cap
// reports DefaultTableMax as its current value.
type DynamoDBOnDemand struct {
	Conn   Conn
	tables *tableCache
}

var _ controller.Actuator = (*DynamoDBOnDemand)(nil)

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
	res := t.Identity()
	n, err := whole(to, "UpdateTable", res)
	if err != nil {
		return err
	}
	if n < 1 {
		return awsclient.Refuse(awsclient.ClassInvalid, "UpdateTable", res, "the maximum must be at least 1, got %d", n)
	}
	c, err := d.Conn(t.Region, t.RoleARN)
	if err != nil {
		return err
	}
	unlock := d.tables.lock(c, t.Table)
	defer unlock()
	s, this, other, err := d.read(ctx, c, t, now)
	if err != nil {
		return err
	}
	if b := s.blocked(t); b != "" {
		return awsclient.Refuse(awsclient.ClassConflict, "UpdateTable", res, "%s; retrying next tick", b)
	}
	if this == n {
		return nil
	}
	r, w := readWrite(t, n, other)
	od := &types.OnDemandThroughput{MaxReadRequestUnits: aws.Int64(r), MaxWriteRequestUnits: aws.Int64(w)}
	return sendUpdate(ctx, c, s, t, res, now,
		func(in *dynamodb.UpdateTableInput) { in.OnDemandThroughput = od },
		func(a *types.UpdateGlobalSecondaryIndexAction) { a.OnDemandThroughput = od })
}
