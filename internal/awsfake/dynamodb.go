package awsfake

import (
	"encoding/json"
	"fmt"
	"sync"
	"time"
)

// DynamoDB fakes DescribeTable and UpdateTable over AWS JSON 1.0, with the
// rules AWS enforces: no-op updates fail, one update at a time (UPDATING),
// at least 1 unit, and the decrease quota per table and per GSI (4 at any
// time of a UTC day, then one per hour, at most 27).
type DynamoDB struct {
	s  *Server
	mu sync.Mutex
	// UpdateDuration is how long a table stays UPDATING after a change;
	// the old capacity stays visible until it is ACTIVE again.
	UpdateDuration time.Duration
	tables         map[string]*Table
}

// SetUpdateDuration changes UpdateDuration while calls may be in flight.
func (d *DynamoDB) SetUpdateDuration(dur time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.UpdateDuration = dur
}

// Capacity is a read/write pair.
type Capacity struct{ Read, Write int64 }

// Table is a table's state.
type Table struct {
	Billing      string // PROVISIONED (default) or PAY_PER_REQUEST
	Provisioned  Capacity
	OnDemand     Capacity // max request units; -1 or 0: no cap
	Decreases    int
	LastDecrease time.Time
	LastIncrease time.Time
	Indexes      map[string]*Index

	updatingUntil time.Time
	pending       func()
	items         map[string]Item // by "pk", for GetItem and UpdateItem
}

// Index is a GSI's state.
type Index struct {
	Provisioned  Capacity
	OnDemand     Capacity
	Decreases    int
	LastDecrease time.Time
	LastIncrease time.Time
}

func newDynamoDB(s *Server) *DynamoDB { return &DynamoDB{s: s, tables: map[string]*Table{}} }

// AddTable creates a table.
func (d *DynamoDB) AddTable(name string, t Table) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if t.Billing == "" {
		t.Billing = "PROVISIONED"
	}
	d.tables[name] = &t
}

// Table returns a table's state as DescribeTable would now show it.
func (d *DynamoDB) Table(name string) Table {
	d.mu.Lock()
	defer d.mu.Unlock()
	t := d.tables[name]
	d.settle(t)
	return *t
}

// settle finishes an update whose time has come.
func (d *DynamoDB) settle(t *Table) {
	if t.pending != nil && !d.s.now().Before(t.updatingUntil) {
		t.pending()
		t.pending = nil
	}
}

func (t *Table) status() string {
	if t.pending != nil {
		return "UPDATING"
	}
	return "ACTIVE"
}

type ddbCapacity struct {
	ReadCapacityUnits  *int64 `json:",omitempty"`
	WriteCapacityUnits *int64 `json:",omitempty"`
}

type ddbOnDemand struct {
	MaxReadRequestUnits  *int64 `json:",omitempty"`
	MaxWriteRequestUnits *int64 `json:",omitempty"`
}

func (d *DynamoDB) serve(op string, r *request) response {
	d.mu.Lock()
	defer d.mu.Unlock()
	if op == "GetItem" || op == "UpdateItem" {
		return d.serveItem(op, r)
	}
	fail := func(e APIError) response { return encodeError("dynamodb", e) }
	var in struct {
		TableName                   string
		ProvisionedThroughput       *ddbCapacity
		OnDemandThroughput          *ddbOnDemand
		GlobalSecondaryIndexUpdates []struct {
			Update *struct {
				IndexName             string
				ProvisionedThroughput *ddbCapacity
				OnDemandThroughput    *ddbOnDemand
			}
		}
	}
	if err := json.Unmarshal(r.body, &in); err != nil {
		return fail(errorf(400, "SerializationException", "%v", err))
	}
	if op == "ListTables" {
		return d.listTables(r.body)
	}
	t := d.tables[in.TableName]
	if t == nil {
		return fail(errorf(400, "ResourceNotFoundException", "Requested resource not found: Table: %s not found", in.TableName))
	}
	d.settle(t)
	now := d.s.now()
	switch op {
	case "DescribeTable":
		return jsonResponse(map[string]any{"Table": d.describe(in.TableName, t)}, "application/x-amz-json-1.0")
	case "UpdateTable":
		if t.pending != nil {
			return fail(errorf(400, "ResourceInUseException", "Attempt to change a resource which is still in use: Table is being updated: %s", in.TableName))
		}
		var changes []func()
		if in.ProvisionedThroughput != nil {
			if t.Billing != "PROVISIONED" {
				return fail(errorf(400, "ValidationException", "One or more parameter values were invalid: Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST"))
			}
			c, e := d.capacityChange("table", &t.Provisioned, &t.Decreases, &t.LastDecrease, &t.LastIncrease, in.ProvisionedThroughput, now)
			if e != nil {
				return fail(*e)
			}
			changes = append(changes, c)
		}
		if in.OnDemandThroughput != nil {
			changes = append(changes, onDemandChange(&t.OnDemand, in.OnDemandThroughput))
		}
		for _, u := range in.GlobalSecondaryIndexUpdates {
			if u.Update == nil {
				continue
			}
			ix := t.Indexes[u.Update.IndexName]
			if ix == nil {
				return fail(errorf(400, "ValidationException", "One or more parameter values were invalid: Table %s has no global secondary index %s", in.TableName, u.Update.IndexName))
			}
			if u.Update.ProvisionedThroughput != nil {
				c, e := d.capacityChange("index "+u.Update.IndexName, &ix.Provisioned, &ix.Decreases, &ix.LastDecrease, &ix.LastIncrease, u.Update.ProvisionedThroughput, now)
				if e != nil {
					return fail(*e)
				}
				changes = append(changes, c)
			}
			if u.Update.OnDemandThroughput != nil {
				changes = append(changes, onDemandChange(&ix.OnDemand, u.Update.OnDemandThroughput))
			}
		}
		if len(changes) == 0 {
			return fail(errorf(400, "ValidationException", "At least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, GlobalSecondaryIndexUpdates or SSESpecification or ReplicaUpdates is required"))
		}
		apply := func() {
			for _, c := range changes {
				c()
			}
		}
		if d.UpdateDuration > 0 {
			t.pending, t.updatingUntil = apply, now.Add(d.UpdateDuration)
		} else {
			apply()
		}
		desc := d.describe(in.TableName, t)
		return jsonResponse(map[string]any{"TableDescription": desc}, "application/x-amz-json-1.0")
	}
	return fail(errorf(400, "UnknownOperationException", "awsfake: DynamoDB %s is not faked", op))
}

// capacityChange validates a provisioned change and returns it, to apply
// when the update completes. The quota is counted when the update is
// accepted, as AWS does.
func (d *DynamoDB) capacityChange(what string, cur *Capacity, decreases *int, lastDec, lastInc *time.Time, in *ddbCapacity, now time.Time) (func(), *APIError) {
	if in.ReadCapacityUnits == nil || in.WriteCapacityUnits == nil {
		e := errorf(400, "ValidationException", "1 validation error detected: ProvisionedThroughput needs both ReadCapacityUnits and WriteCapacityUnits")
		return nil, &e
	}
	next := Capacity{Read: *in.ReadCapacityUnits, Write: *in.WriteCapacityUnits}
	if next.Read < 1 || next.Write < 1 {
		e := errorf(400, "ValidationException", "One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits must both be at least 1")
		return nil, &e
	}
	if next == *cur {
		e := errorf(400, "ValidationException", "The provisioned throughput for the %s will not change. The requested value equals the current value. Current ReadCapacityUnits provisioned for the %s: %d. Requested ReadCapacityUnits: %d. Current WriteCapacityUnits provisioned for the %s: %d. Requested WriteCapacityUnits: %d. Refer to the Amazon DynamoDB Developer Guide for current limits and how to request higher limits.", what, what, cur.Read, next.Read, what, cur.Write, next.Write)
		return nil, &e
	}
	if next.Read < cur.Read || next.Write < cur.Write {
		y1, m1, d1 := lastDec.UTC().Date()
		y2, m2, d2 := now.UTC().Date()
		today := 0
		if !lastDec.IsZero() && y1 == y2 && m1 == m2 && d1 == d2 {
			today = *decreases
		}
		if today >= 27 || (today >= 4 && now.Sub(*lastDec) < time.Hour) {
			e := errorf(400, "LimitExceededException", "Subscriber limit exceeded: Provisioned throughput decreases are limited within a given UTC day. After the first 4 decreases, each subsequent decrease in the same UTC day can be performed at most once every 3600 seconds. Number of decreases today: %d. Last decrease at %s. Next decrease can be made at %s", today, lastDec.UTC().Format(time.RFC1123), lastDec.Add(time.Hour).UTC().Format(time.RFC1123))
			return nil, &e
		}
		*decreases, *lastDec = today+1, now
	}
	if next.Read > cur.Read || next.Write > cur.Write {
		*lastInc = now
	}
	return func() { *cur = next }, nil
}

func onDemandChange(cur *Capacity, in *ddbOnDemand) func() {
	next := *cur
	if in.MaxReadRequestUnits != nil {
		next.Read = *in.MaxReadRequestUnits
	}
	if in.MaxWriteRequestUnits != nil {
		next.Write = *in.MaxWriteRequestUnits
	}
	return func() { *cur = next }
}

func epoch(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return float64(t.UnixNano()) / 1e9
}

func provisioned(c Capacity, n int, dec, inc time.Time) map[string]any {
	m := map[string]any{"ReadCapacityUnits": c.Read, "WriteCapacityUnits": c.Write, "NumberOfDecreasesToday": n}
	if v := epoch(dec); v != nil {
		m["LastDecreaseDateTime"] = v
	}
	if v := epoch(inc); v != nil {
		m["LastIncreaseDateTime"] = v
	}
	return m
}

func onDemand(c Capacity) map[string]any {
	r, w := c.Read, c.Write
	if r == 0 {
		r = -1
	}
	if w == 0 {
		w = -1
	}
	return map[string]any{"MaxReadRequestUnits": r, "MaxWriteRequestUnits": w}
}

func (d *DynamoDB) describe(name string, t *Table) map[string]any {
	out := map[string]any{
		"TableName":          name,
		"TableArn":           fmt.Sprintf("arn:aws:dynamodb:us-east-1:123456789012:table/%s", name),
		"TableStatus":        t.status(),
		"BillingModeSummary": map[string]any{"BillingMode": t.Billing},
		"ItemCount":          0,
		"TableSizeBytes":     0,
		"KeySchema":          []any{map[string]any{"AttributeName": "pk", "KeyType": "HASH"}},
	}
	if t.Billing == "PROVISIONED" {
		out["ProvisionedThroughput"] = provisioned(t.Provisioned, t.Decreases, t.LastDecrease, t.LastIncrease)
	} else {
		out["ProvisionedThroughput"] = map[string]any{"ReadCapacityUnits": 0, "WriteCapacityUnits": 0, "NumberOfDecreasesToday": 0}
		out["OnDemandThroughput"] = onDemand(t.OnDemand)
	}
	var gsis []any
	for n, ix := range t.Indexes {
		g := map[string]any{"IndexName": n, "IndexStatus": t.status(), "KeySchema": []any{map[string]any{"AttributeName": "g", "KeyType": "HASH"}}, "Projection": map[string]any{"ProjectionType": "ALL"}}
		if t.Billing == "PROVISIONED" {
			g["ProvisionedThroughput"] = provisioned(ix.Provisioned, ix.Decreases, ix.LastDecrease, ix.LastIncrease)
		} else {
			g["OnDemandThroughput"] = onDemand(ix.OnDemand)
		}
		gsis = append(gsis, g)
	}
	if gsis != nil {
		out["GlobalSecondaryIndexes"] = gsis
	}
	return out
}
