package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// API is the part of the DynamoDB client the limiter uses; the SDK's
// *dynamodb.Client fits it.
type API interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
}

var _ API = (*dynamodb.Client)(nil)

// KeyAttr is the table's partition key: a string.
const KeyAttr = "pk"

// Attribute names of a shard item.
const (
	attrTokens  = "tokens"
	attrLast    = "last_ms"
	attrRate    = "rate"
	attrBurst   = "burst"
	attrShards  = "shards"
	attrVersion = "v"
	attrFast    = "fast"    // the fast loop's rate for the shard
	attrFastAt  = "fast_ms" // when the fast loop last stepped (Unix ms)
)

// ErrNoBucket is returned for a bucket that was never configured.
var ErrNoBucket = errors.New("ratelimit: no such bucket")

// ShardKey is the partition key of shard i of a bucket. Distinct keys
// hash to distinct places in DynamoDB's key space, so the shards of a hot
// bucket spread over partitions as the table splits.
func ShardKey(bucket string, i int) string { return bucket + "#" + strconv.Itoa(i) }

// store reads and writes shard items of one table.
type store struct {
	api   API
	table string
}

func num(f float64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatFloat(f, 'g', -1, 64)}
}

func inum(i int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(i, 10)}
}

func key(k string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{KeyAttr: &types.AttributeValueMemberS{Value: k}}
}

// decode reads a shard item, refusing anything that would break the
// bucket's arithmetic: a missing or non-numeric field, a negative or
// non-finite value.
func decode(item map[string]types.AttributeValue) (State, error) {
	var s State
	f := func(name string) (float64, error) {
		v, ok := item[name].(*types.AttributeValueMemberN)
		if !ok {
			return 0, fmt.Errorf("ratelimit: item attribute %s is missing or not a number", name)
		}
		x, err := strconv.ParseFloat(v.Value, 64)
		if err != nil || x < 0 || x != x || x > 1e15 {
			return 0, fmt.Errorf("ratelimit: item attribute %s = %q is not a number in [0, 1e15]", name, v.Value)
		}
		return x, nil
	}
	var err error
	var last, shards, ver float64
	for _, p := range []struct {
		name string
		dst  *float64
	}{{attrTokens, &s.Tokens}, {attrLast, &last}, {attrRate, &s.Rate}, {attrBurst, &s.Burst}, {attrShards, &shards}, {attrVersion, &ver}} {
		if *p.dst, err = f(p.name); err != nil {
			return State{}, err
		}
	}
	if shards < 1 || shards > MaxShards || shards != float64(int(shards)) {
		return State{}, fmt.Errorf("ratelimit: item attribute shards = %v is not a whole number in [1, %d]", shards, MaxShards)
	}
	s.Last, s.Shards, s.Version = int64(last), int(shards), int64(ver)
	// The fast loop's attributes exist only once a caller reported.
	if _, ok := item[attrFastAt]; ok {
		var at float64
		if at, err = f(attrFastAt); err != nil {
			return State{}, err
		}
		if s.Fast, err = f(attrFast); err != nil {
			return State{}, err
		}
		s.FastAt = int64(at)
	}
	return s, nil
}

func encode(k string, s State) map[string]types.AttributeValue {
	item := key(k)
	item[attrTokens] = num(s.Tokens)
	item[attrLast] = inum(s.Last)
	item[attrRate] = num(s.Rate)
	item[attrBurst] = num(s.Burst)
	item[attrShards] = inum(int64(s.Shards))
	item[attrVersion] = inum(s.Version)
	if s.FastAt > 0 {
		item[attrFast], item[attrFastAt] = num(s.Fast), inum(s.FastAt)
	}
	return item
}

// get reads a shard with a strongly consistent read; found is false when
// the item does not exist.
func (st *store) get(ctx context.Context, k string) (s State, found bool, err error) {
	out, err := st.api.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(st.table), Key: key(k), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return State{}, false, err
	}
	if len(out.Item) == 0 {
		return State{}, false, nil
	}
	s, err = decode(out.Item)
	return s, err == nil, err
}

// errConflict is a lost race: the item changed since it was read. cur is
// the item as it now is, when DynamoDB returned it.
type errConflict struct {
	cur   State
	fresh bool
}

func (e *errConflict) Error() string { return "ratelimit: the item changed since it was read" }

// put writes s over the version it was computed from (s.Version-1), or
// creates the item when s.Version is 1: one conditional write.
func (st *store) put(ctx context.Context, k string, s State) error {
	in := &dynamodb.UpdateItemInput{
		TableName:                           aws.String(st.table),
		Key:                                 key(k),
		UpdateExpression:                    aws.String("SET #t = :t, #l = :l, #r = :r, #b = :b, #n = :n, #v = :v"),
		ExpressionAttributeNames:            map[string]string{"#t": attrTokens, "#l": attrLast, "#r": attrRate, "#b": attrBurst, "#n": attrShards, "#v": attrVersion},
		ExpressionAttributeValues:           map[string]types.AttributeValue{":t": num(s.Tokens), ":l": inum(s.Last), ":r": num(s.Rate), ":b": num(s.Burst), ":n": inum(int64(s.Shards)), ":v": inum(s.Version)},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}
	if s.FastAt > 0 { // a write that never ran the loop leaves its attributes alone
		*in.UpdateExpression += ", #f = :f, #fa = :fa"
		in.ExpressionAttributeNames["#f"], in.ExpressionAttributeNames["#fa"] = attrFast, attrFastAt
		in.ExpressionAttributeValues[":f"], in.ExpressionAttributeValues[":fa"] = num(s.Fast), inum(s.FastAt)
	}
	if s.Version <= 1 {
		in.ConditionExpression = aws.String("attribute_not_exists(#v)")
	} else {
		in.ConditionExpression = aws.String("#v = :old")
		in.ExpressionAttributeValues[":old"] = inum(s.Version - 1)
	}
	_, err := st.api.UpdateItem(ctx, in)
	if err != nil {
		return conflictOf(err)
	}
	return nil
}

// take is the write of an Acquire within the quantum of the item's last
// refill: a decrement that commutes with other callers' decrements, so it
// races none of them. It fails (errConflict) only when fewer than n tokens
// are left; then the caller reads and refills. It returns the item after.
func (st *store) take(ctx context.Context, k string, n float64) (State, error) {
	out, err := st.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           aws.String(st.table),
		Key:                                 key(k),
		UpdateExpression:                    aws.String("SET #t = #t - :n, #v = #v + :one"),
		ConditionExpression:                 aws.String("#t >= :n"),
		ExpressionAttributeNames:            map[string]string{"#t": attrTokens, "#v": attrVersion},
		ExpressionAttributeValues:           map[string]types.AttributeValue{":n": num(n), ":one": inum(1)},
		ReturnValues:                        types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if err != nil {
		return State{}, conflictOf(err)
	}
	return decode(out.Attributes)
}

// conflictOf turns a failed condition into errConflict, with the item as
// it stands when DynamoDB returned it.
func conflictOf(err error) error {
	var ccf *types.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		return err
	}
	c := &errConflict{}
	if len(ccf.Item) > 0 {
		if cur, derr := decode(ccf.Item); derr == nil {
			c.cur, c.fresh = cur, true
		}
	}
	return c
}

// refill is the write of the first Acquire in a new quantum: it adds what
// accrued since old.Last (add tokens, up to q) and takes n, in one
// UpdateItem conditional on the item's last refill, rate and burst being
// those the caller computed from. Decrements by other callers do not
// touch those, so they never make a refill fail; only another refill of
// the same interval, or a change of rate, does. The burst cap is kept
// without reading the tokens: either they leave room for the accrual
// (tokens ≤ burst − add, and the new count is tokens + add − n) or they do
// not (tokens ≥ burst − add, and the new count is exactly burst − n); each
// form is conditional on its case. It returns the item after.
func (st *store) refill(ctx context.Context, k string, old State, q int64, add, n float64) (State, error) {
	room := old.Burst - add
	names := map[string]string{"#t": attrTokens, "#l": attrLast, "#r": attrRate, "#b": attrBurst, "#v": attrVersion}
	vals := map[string]types.AttributeValue{
		":ol": inum(old.Last), ":q": inum(q), ":r": num(old.Rate), ":b": num(old.Burst), ":room": num(room), ":one": inum(1),
	}
	var update, cond string
	if old.Tokens <= room {
		update = "SET #t = #t + :d, #l = :q, #v = #v + :one"
		cond = "#l = :ol AND #r = :r AND #b = :b AND #t <= :room AND #t >= :need"
		vals[":d"], vals[":need"] = num(add-n), num(n-add)
	} else {
		update = "SET #t = :full, #l = :q, #v = #v + :one"
		cond = "#l = :ol AND #r = :r AND #b = :b AND #t >= :room"
		vals[":full"] = num(old.Burst - n)
	}
	out, err := st.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           aws.String(st.table),
		Key:                                 key(k),
		UpdateExpression:                    aws.String(update),
		ConditionExpression:                 aws.String(cond),
		ExpressionAttributeNames:            names,
		ExpressionAttributeValues:           vals,
		ReturnValues:                        types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if err != nil {
		return State{}, conflictOf(err)
	}
	return decode(out.Attributes)
}
