package actuators

import (
	"context"
	"errors"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/internal/awsclient"
)

// Parameter publishes a computed limit where other systems read it
// (kind parameter): an SSM parameter holding the number as a String, or a
// number attribute of a DynamoDB item. A workflow's MaxConcurrencyPath, a
// worker pool or a client-side rate limiter then reads it.
//
// The value is read back every tick, so an edit by someone else shows as
// drift. A value that is not a number belongs to someone else: the target
// is blocked rather than overwriting it. The DynamoDB write is conditional
// on the value read, so a concurrent writer is never silently overwritten.
type Parameter struct {
	Conn Conn

	mu   sync.Mutex
	read map[string]paramRead // resource → what this tick read
}

type paramRead struct {
	tick   time.Time
	exists bool
	value  float64
	raw    string // the stored text, for the DynamoDB condition
	isNum  bool   // DynamoDB: stored as N (else S)
}

var _ controller.Actuator = (*Parameter)(nil)

// NewParameter returns the actuator.
func NewParameter(conn Conn) *Parameter {
	return &Parameter{Conn: conn, read: map[string]paramRead{}}
}

func (p *Parameter) Current(ctx context.Context, t *config.Target, now time.Time) (controller.State, error) {
	c, err := p.Conn(t.Region, t.RoleARN)
	if err != nil {
		return controller.State{}, err
	}
	r, err := p.load(ctx, c, t, now)
	if err != nil {
		return controller.State{}, err
	}
	st := controller.State{Value: r.value}
	st.Constraints.Floor = 0
	switch {
	case !r.exists:
		// Nothing published yet: readers get nothing, and the first
		// change creates it. Until then the least the target allows is
		// taken as in force, so nothing reads as headroom.
		st.Value, st.Unset = t.Min, true
	case math.IsNaN(r.value):
		st.Value = t.Min
		st.Constraints.Blocked = "the published value " + strconv.Quote(r.raw) + " is not a number: something else owns " + t.ParameterStore.Identity() + ", and autotuner will not overwrite it"
	}
	return st, nil
}

// load reads the value once per tick.
func (p *Parameter) load(ctx context.Context, c *awsclient.Clients, t *config.Target, now time.Time) (paramRead, error) {
	var r paramRead
	var err error
	switch t.ParameterStore.Backend() {
	case "ssm":
		r, err = p.getSSM(ctx, c, t, now)
	case "dynamodb":
		r, err = p.getItem(ctx, c, t, now)
	default:
		return r, awsclient.Refuse(awsclient.ClassInvalid, "read", t.Identity(), "no backend: set ssm_parameter, or table, key and attribute")
	}
	if err != nil {
		return r, err
	}
	r.tick = now
	p.mu.Lock()
	p.read[resourceKey(c, t.ParameterStore.Identity(), t.Table)] = r
	p.mu.Unlock()
	return r, nil
}

func parseNumber(s string) float64 {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsInf(v, 0) {
		return math.NaN()
	}
	return v
}

func (p *Parameter) getSSM(ctx context.Context, c *awsclient.Clients, t *config.Target, now time.Time) (paramRead, error) {
	name := t.ParameterStore.SSMParameter
	res := "parameter " + name
	if err := spend(c, awsclient.PlaneSSM, 1, now, "GetParameter", res); err != nil {
		return paramRead{}, err
	}
	out, err := c.SSM.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name)})
	var nf *ssmtypes.ParameterNotFound
	if errors.As(err, &nf) {
		return paramRead{}, nil
	}
	if err != nil {
		return paramRead{}, awsclient.Wrap("GetParameter", res, err)
	}
	raw := aws.ToString(out.Parameter.Value)
	return paramRead{exists: true, raw: raw, value: parseNumber(raw)}, nil
}

func itemKey(t *config.Target) map[string]ddbtypes.AttributeValue {
	k := map[string]ddbtypes.AttributeValue{}
	for a, v := range t.ParameterStore.ItemKey {
		k[a] = &ddbtypes.AttributeValueMemberS{Value: v}
	}
	return k
}

func (p *Parameter) getItem(ctx context.Context, c *awsclient.Clients, t *config.Target, now time.Time) (paramRead, error) {
	res := "table " + t.Table + " " + t.ParameterStore.Identity()
	if err := spend(c, awsclient.PlaneDynamoDB, 1, now, "GetItem", res); err != nil {
		return paramRead{}, err
	}
	attr := t.ParameterStore.Attribute
	out, err := c.DynamoDB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(t.Table), Key: itemKey(t), ConsistentRead: aws.Bool(true),
		ProjectionExpression: aws.String("#a"), ExpressionAttributeNames: map[string]string{"#a": attr},
	})
	if err != nil {
		return paramRead{}, awsclient.Wrap("GetItem", res, err)
	}
	switch v := out.Item[attr].(type) {
	case nil:
		return paramRead{}, nil
	case *ddbtypes.AttributeValueMemberN:
		return paramRead{exists: true, raw: v.Value, isNum: true, value: parseNumber(v.Value)}, nil
	case *ddbtypes.AttributeValueMemberS:
		return paramRead{exists: true, raw: v.Value, value: parseNumber(v.Value)}, nil
	default:
		return paramRead{exists: true, raw: "(not a number or string)", value: math.NaN()}, nil
	}
}

func (p *Parameter) Apply(ctx context.Context, t *config.Target, from, to float64, now time.Time) error {
	res := t.Identity()
	n, err := whole(to, "publish", res)
	if err != nil {
		return err
	}
	c, err := p.Conn(t.Region, t.RoleARN)
	if err != nil {
		return err
	}
	key := resourceKey(c, t.ParameterStore.Identity(), t.Table)
	p.mu.Lock()
	r, ok := p.read[key]
	p.mu.Unlock()
	if !ok || !r.tick.Equal(now) {
		if r, err = p.load(ctx, c, t, now); err != nil {
			return err
		}
	}
	if r.exists && math.IsNaN(r.value) {
		return awsclient.Refuse(awsclient.ClassConflict, "publish", res, "the published value %q is not a number; autotuner will not overwrite it", r.raw)
	}
	if r.exists && r.value == float64(n) {
		return nil // already so: writing would only spend the quota
	}
	val := strconv.FormatInt(n, 10)
	if t.ParameterStore.Backend() == "ssm" {
		err = p.putSSM(ctx, c, t, r, val, now)
	} else {
		err = p.putItem(ctx, c, t, r, val, now)
	}
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.read[key] = paramRead{tick: now, exists: true, raw: val, isNum: true, value: float64(n)}
	p.mu.Unlock()
	return nil
}

func (p *Parameter) putSSM(ctx context.Context, c *awsclient.Clients, t *config.Target, r paramRead, val string, now time.Time) error {
	name := t.ParameterStore.SSMParameter
	res := "parameter " + name
	if err := spend(c, awsclient.PlaneSSMPut, 1, now, "PutParameter", res); err != nil {
		return err
	}
	in := &ssm.PutParameterInput{Name: aws.String(name), Value: aws.String(val), Overwrite: aws.Bool(r.exists)}
	if !r.exists {
		in.Type = ssmtypes.ParameterTypeString
		in.Description = aws.String("Published by autotuner: a limit for other systems to read")
	}
	_, err := c.SSM.PutParameter(ctx, in)
	return awsclient.Wrap("PutParameter", res, err)
}

// putItem writes on condition that the attribute still holds what this
// tick read, so that a concurrent writer is refused, not overwritten.
func (p *Parameter) putItem(ctx context.Context, c *awsclient.Clients, t *config.Target, r paramRead, val string, now time.Time) error {
	res := "table " + t.Table + " " + t.ParameterStore.Identity()
	if err := spend(c, awsclient.PlaneDynamoDB, 1, now, "UpdateItem", res); err != nil {
		return err
	}
	in := &dynamodb.UpdateItemInput{
		TableName: aws.String(t.Table), Key: itemKey(t),
		UpdateExpression:          aws.String("SET #a = :v"),
		ExpressionAttributeNames:  map[string]string{"#a": t.ParameterStore.Attribute},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":v": &ddbtypes.AttributeValueMemberN{Value: val}},
		ConditionExpression:       aws.String("attribute_not_exists(#a)"),
	}
	if r.exists {
		var old ddbtypes.AttributeValue = &ddbtypes.AttributeValueMemberS{Value: r.raw}
		if r.isNum {
			old = &ddbtypes.AttributeValueMemberN{Value: r.raw}
		}
		in.ExpressionAttributeValues[":old"] = old
		in.ConditionExpression = aws.String("#a = :old")
	}
	_, err := c.DynamoDB.UpdateItem(ctx, in)
	var ccf *ddbtypes.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return awsclient.Refuse(awsclient.ClassConflict, "UpdateItem", res, "the value changed since it was read this tick (another writer); the change waits for the next tick")
	}
	return awsclient.Wrap("UpdateItem", res, err)
}
