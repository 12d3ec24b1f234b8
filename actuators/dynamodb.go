package actuators

import (
	"context"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/internal/awsclient"
	"github.com/autotuner/autotuner/policy"
)

// DynamoDB's default per-table maximum, reported as the current value of an
// on-demand table without a cap.
const DefaultTableMax = 40000

// tableCache shares one DescribeTable per table per tick between the
// targets of that table (reads, writes, indexes), and remembers a change
// made this tick: the table is UPDATING from then on.
type tableCache struct {
	locks keyed
	mu    sync.Mutex
	m     map[string]*tableSnap
}

type tableSnap struct {
	tick    time.Time
	desc    *types.TableDescription
	changed string // what this process changed this tick, if anything
}

func newTableCache() *tableCache { return &tableCache{m: map[string]*tableSnap{}} }

// describe returns the table as of this tick, reading it at most once.
// The caller holds the table's lock.
func (tc *tableCache) describe(ctx context.Context, c *awsclient.Clients, table string, now time.Time) (*tableSnap, error) {
	key := resourceKey(c, table)
	tc.mu.Lock()
	s := tc.m[key]
	tc.mu.Unlock()
	if s != nil && s.tick.Equal(now) {
		return s, nil
	}
	res := "table " + table
	if err := spend(c, awsclient.PlaneDynamoDB, 1, now, "DescribeTable", res); err != nil {
		return nil, err
	}
	out, err := c.DynamoDB.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	if err != nil {
		return nil, awsclient.Wrap("DescribeTable", res, err)
	}
	if out.Table == nil {
		return nil, awsclient.Refuse(awsclient.ClassTransient, "DescribeTable", res, "the response has no table")
	}
	s = &tableSnap{tick: now, desc: out.Table}
	tc.mu.Lock()
	tc.m[key] = s
	tc.mu.Unlock()
	return s, nil
}

func (tc *tableCache) lock(c *awsclient.Clients, table string) func() {
	return tc.locks.lock(resourceKey(c, table))
}

// index finds a GSI in a table description.
func index(d *types.TableDescription, name string) *types.GlobalSecondaryIndexDescription {
	for i := range d.GlobalSecondaryIndexes {
		if aws.ToString(d.GlobalSecondaryIndexes[i].IndexName) == name {
			return &d.GlobalSecondaryIndexes[i]
		}
	}
	return nil
}

// blocked says why a table or index cannot change now, or "".
func (s *tableSnap) blocked(t *config.Target) string {
	if s.changed != "" {
		return "table " + t.Table + " is UPDATING: " + s.changed + " was changed this tick"
	}
	if st := s.desc.TableStatus; st != types.TableStatusActive {
		return "table " + t.Table + " is " + string(st)
	}
	if t.Index != "" {
		if ix := index(s.desc, t.Index); ix != nil && ix.IndexStatus != types.IndexStatusActive {
			return "index " + t.Index + " is " + string(ix.IndexStatus)
		}
	}
	return ""
}

func billing(d *types.TableDescription) types.BillingMode {
	if d.BillingModeSummary != nil && d.BillingModeSummary.BillingMode != "" {
		return d.BillingModeSummary.BillingMode
	}
	return types.BillingModeProvisioned // tables created before billing modes report none
}

// decreaseQuota reads the decrease budget DescribeTable reports for a
// table or index. NumberOfDecreasesToday counts decreases in the UTC day of
// LastDecreaseDateTime; policy.DecreaseQuota applies the day rule.
func decreaseQuota(pt *types.ProvisionedThroughputDescription) policy.DecreaseQuota {
	q := policy.DecreaseQuota{Enforced: true}
	if pt == nil {
		return q
	}
	q.Today = int(aws.ToInt64(pt.NumberOfDecreasesToday))
	if pt.LastDecreaseDateTime != nil {
		q.Last = pt.LastDecreaseDateTime.UTC()
	}
	return q
}

// readWrite orders a new value n for the target's dimension and the other
// dimension's unchanged value as (read, write): UpdateTable takes both.
func readWrite(t *config.Target, n, other int64) (r, w int64) {
	if t.Capacity == "write" {
		return other, n
	}
	return n, other
}

// sendUpdate sends an UpdateTable for the table or, with an index, for the
// GSI: set fills in the throughput on whichever of the two it is given.
// It spends the call from the DynamoDB budget and marks the table changed
// this tick, so nothing else touches it while it is UPDATING.
func sendUpdate(ctx context.Context, c *awsclient.Clients, s *tableSnap, t *config.Target, res string, now time.Time,
	table func(*dynamodb.UpdateTableInput), index func(*types.UpdateGlobalSecondaryIndexAction)) error {
	in := &dynamodb.UpdateTableInput{TableName: aws.String(t.Table)}
	if t.Index == "" {
		table(in)
	} else {
		a := &types.UpdateGlobalSecondaryIndexAction{IndexName: aws.String(t.Index)}
		index(a)
		in.GlobalSecondaryIndexUpdates = []types.GlobalSecondaryIndexUpdate{{Update: a}}
	}
	if err := spend(c, awsclient.PlaneDynamoDB, 1, now, "UpdateTable", res); err != nil {
		return err
	}
	if _, err := c.DynamoDB.UpdateTable(ctx, in); err != nil {
		return awsclient.Wrap("UpdateTable", res, err)
	}
	s.changed = res
	return nil
}
