package actuators

import (
	"context"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/controller"
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
		// Not "is UPDATING": that is DynamoDB's to say, and the next
		// DescribeTable will. What is known is that a change was just sent,
		// and DynamoDB takes one update at a time.
		return "table " + t.Table + " was just changed (" + s.changed + "), and DynamoDB takes one update at a time: this waits until the table is ACTIVE again"
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

// readWrite orders the target's dimension's value n and the other
// dimension's value as (read, write), as UpdateTable takes them.
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

// pairKnob is what applyPair needs of a DynamoDB actuator.
type pairKnob struct {
	conn   Conn
	tables *tableCache
	key    func(*config.Target) string
	noun   string // what must be at least 1: "capacity", "the maximum"
	// read reads t's table (under its lock) and refuses what the rules
	// refuse for t alone. It returns the snapshot, the current value of
	// t's dimension and of the other one, and the decrease quota when
	// decreases are rationed (nil when they are not).
	read func(ctx context.Context, c *awsclient.Clients, t *config.Target, now time.Time) (s *tableSnap, this, other int64, quota *policy.DecreaseQuota, err error)
	// set fills in an UpdateTable, or a GSI's update, with both values.
	set func(r, w int64) (func(*dynamodb.UpdateTableInput), func(*types.UpdateGlobalSecondaryIndexAction))
}

// applyPair applies the read and the write change of one table or index
// in one UpdateTable, and returns one error per change. A change the rules
// refuse fails alone; the others still go. A pair the service refuses for
// its values is sent again change by change, so one dimension at fault
// does not hold the other back.
func applyPair(ctx context.Context, k pairKnob, changes []controller.Change, now time.Time) []error {
	errs := make([]error, len(changes))
	if len(changes) == 0 {
		return errs
	}
	if !onePair(changes, k.key) {
		// Not one knob pair: apply each alone (never happens with the
		// controller's grouping, which the config keeps to one target
		// per knob).
		for i := range changes {
			errs[i] = applyPair(ctx, k, changes[i:i+1], now)[0]
		}
		return errs
	}
	first := changes[0].Target
	c, err := k.conn(first.Region, first.RoleARN)
	if err != nil {
		return fill(errs, err)
	}
	unlock := k.tables.lock(c, first.Table)
	locked := true
	defer func() {
		if locked {
			unlock()
		}
	}()

	var (
		s        *tableSnap
		r, w     int64                // the table's values now, as UpdateTable takes them
		set      = map[string]int64{} // dimension → new value
		included []int
	)
	for i, ch := range changes {
		t := ch.Target
		res := t.Identity()
		n, err := whole(ch.To, "UpdateTable", res)
		if err != nil {
			errs[i] = err
			continue
		}
		if n < 1 {
			errs[i] = awsclient.Refuse(awsclient.ClassInvalid, "UpdateTable", res, "%s must be at least 1, got %d", k.noun, n)
			continue
		}
		ts, this, other, quota, err := k.read(ctx, c, t, now)
		if err != nil {
			errs[i] = err
			continue
		}
		s = ts
		r, w = readWrite(t, this, other)
		if b := s.blocked(t); b != "" {
			errs[i] = awsclient.Refuse(awsclient.ClassConflict, "UpdateTable", res, "%s; retrying next tick", b)
			continue
		}
		if this == n {
			continue // a no-op update is a ValidationException
		}
		if quota != nil && n < this {
			if ok, next := quota.Allowed(now); !ok {
				errs[i] = awsclient.Refuse(awsclient.ClassQuota, "UpdateTable", res,
					"the decrease quota is spent (%d decreases today, last at %s); the next decrease is allowed at %s",
					quota.Today, quota.Last.UTC().Format(time.RFC3339), next.UTC().Format(time.RFC3339))
				continue
			}
		}
		set[dimension(t)] = n
		included = append(included, i)
	}
	if len(included) == 0 {
		return errs
	}
	// UpdateTable takes both values: one not changing goes as it is.
	if n, ok := set["read"]; ok {
		r = n
	}
	if n, ok := set["write"]; ok {
		w = n
	}
	table, index := k.set(r, w)
	t := changes[included[0]].Target
	err = sendUpdate(ctx, c, s, t, groupResource(t, len(included)), now, table, index)
	if err != nil && len(included) > 1 && separable(ctx, err) {
		// The service refused the pair: one of the two may be at
		// fault, so each goes alone, and the other is not held back
		// by it. (The refused call left the table as it was.)
		unlock()
		locked = false
		for _, i := range included {
			errs[i] = applyPair(ctx, k, changes[i:i+1], now)[0]
		}
		return errs
	}
	for _, i := range included {
		errs[i] = err
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
