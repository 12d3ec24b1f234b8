package state

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/internal/awsclient"
)

// Lease elects one leader among replicas through an item in the state
// table: (pk="#lease", sk=Name) with the holder's owner name, an expiry
// and a fencing token that grows by one each time the lease changes hands.
//
// Only the holder applies changes. A holder that stops renewing loses the
// lease when it expires, and a follower campaigning on its next tick takes
// it over: within TTL plus one tick, so within two lease periods when the
// tick interval is at most TTL. The holder stops acting Margin before its
// own view of the expiry, which absorbs clock skew between replicas and
// the time a change takes to reach the service.
//
// Time comes from Now, never from the wall clock directly.
type Lease struct {
	Client DynamoDBAPI
	Table  string
	Name   string
	Owner  string // unique per replica
	TTL    time.Duration
	// Margin defaults to TTL/5.
	Margin time.Duration
	Now    func() time.Time

	mu      sync.Mutex
	held    bool
	expires time.Time
	token   int64
}

var _ controller.Gate = (*Lease)(nil)

func (l *Lease) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

func (l *Lease) margin() time.Duration {
	if l.Margin > 0 {
		return l.Margin
	}
	return l.TTL / 5
}

func (l *Lease) key() map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrPK: &types.AttributeValueMemberS{Value: pkLease},
		attrSK: &types.AttributeValueMemberS{Value: l.Name},
	}
}

func (l *Lease) resource() string { return "lease " + l.Name + " in table " + l.Table }

// Campaign renews the lease when this replica holds it, or takes it when
// it is free or expired. It reports whether this replica holds it now.
// Losing a race is not an error.
func (l *Lease) Campaign(ctx context.Context) (bool, error) {
	if l.TTL <= 0 {
		return false, fmt.Errorf("%s: TTL must be positive", l.resource())
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if l.held {
		ok, err := l.renew(ctx, now)
		if err != nil || ok {
			return ok, err
		}
		// Someone else has it now; see below whether it is free again.
	}
	return l.acquire(ctx, now)
}

func (l *Lease) renew(ctx context.Context, now time.Time) (bool, error) {
	exp := now.Add(l.TTL)
	_, err := l.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           aws.String(l.Table),
		Key:                 l.key(),
		UpdateExpression:    aws.String("SET expires_at_ms = :exp, renewed_at = :at"),
		ConditionExpression: aws.String("#o = :me AND #t = :tok"),
		ExpressionAttributeNames: map[string]string{
			"#o": "owner", "#t": "token",
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":exp": num(exp.UnixMilli()), ":at": &types.AttributeValueMemberS{Value: now.UTC().Format(time.RFC3339Nano)},
			":me": &types.AttributeValueMemberS{Value: l.Owner}, ":tok": num(l.token),
		},
	})
	if err != nil {
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			l.held = false // taken over: our lease had expired
			return false, nil
		}
		// Unknown outcome: keep acting only while the lease we know of
		// is still valid; MayApply checks the expiry.
		return l.valid(now), awsclient.Wrap("UpdateItem", l.resource(), err)
	}
	l.expires = exp
	return true, nil
}

func (l *Lease) acquire(ctx context.Context, now time.Time) (bool, error) {
	exp := now.Add(l.TTL)
	out, err := l.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           aws.String(l.Table),
		Key:                 l.key(),
		UpdateExpression:    aws.String("SET #o = :me, expires_at_ms = :exp, renewed_at = :at ADD #t :one"),
		ConditionExpression: aws.String("attribute_not_exists(pk) OR expires_at_ms < :now"),
		ExpressionAttributeNames: map[string]string{
			"#o": "owner", "#t": "token",
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":me": &types.AttributeValueMemberS{Value: l.Owner}, ":exp": num(exp.UnixMilli()),
			":at":  &types.AttributeValueMemberS{Value: now.UTC().Format(time.RFC3339Nano)},
			":one": num(1), ":now": num(now.UnixMilli()),
		},
		ReturnValues: types.ReturnValueAllNew,
	})
	if err != nil {
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			return false, nil // held by another replica
		}
		return false, awsclient.Wrap("UpdateItem", l.resource(), err)
	}
	tok, err := numAttr(out.Attributes, "token")
	if err != nil {
		return false, fmt.Errorf("%s: %w", l.resource(), err)
	}
	l.held, l.expires, l.token = true, exp, tok
	return true, nil
}

func (l *Lease) valid(now time.Time) bool {
	return l.held && now.Before(l.expires.Add(-l.margin()))
}

// MayApply is the controller's Gate: true only while this replica holds a
// lease that is valid for longer than Margin. Past half its TTL the lease
// is renewed first, so a long tick keeps it.
func (l *Lease) MayApply(ctx context.Context) (bool, error) {
	l.mu.Lock()
	held, expires := l.held, l.expires
	l.mu.Unlock()
	if !held {
		return false, nil
	}
	now := l.now()
	if expires.Sub(now) < l.TTL/2 {
		if _, err := l.Campaign(ctx); err != nil {
			// A failed renewal is not a lost lease; the expiry decides.
			l.mu.Lock()
			ok := l.valid(l.now())
			l.mu.Unlock()
			return ok, nil
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.valid(l.now()), nil
}

// ValidFor is how much longer the lease lets this replica act, by its own
// clock: the controller bounds each change by it, so a change still
// waiting on a rate limiter or a retry when the lease runs out is
// abandoned instead of landing after a successor has taken over.
func (l *Lease) ValidFor() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.valid(l.now()) {
		return 0
	}
	return l.expires.Add(-l.margin()).Sub(l.now())
}

// Token is the fencing token while the lease is valid, else 0. Give it to
// the store (DynamoDB.Fence) so a former leader's late writes are refused.
func (l *Lease) Token() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.valid(l.now()) {
		return 0
	}
	return l.token
}

// Leader reports whether this replica holds a valid lease.
func (l *Lease) Leader() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.valid(l.now())
}

// Release gives the lease up at once, so that a follower need not wait for
// it to expire. The token stays, so the next holder's is larger.
func (l *Lease) Release(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.held {
		return nil
	}
	l.held = false
	_, err := l.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(l.Table),
		Key:                      l.key(),
		UpdateExpression:         aws.String("SET expires_at_ms = :zero"),
		ConditionExpression:      aws.String("#o = :me AND #t = :tok"),
		ExpressionAttributeNames: map[string]string{"#o": "owner", "#t": "token"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":zero": num(0), ":me": &types.AttributeValueMemberS{Value: l.Owner}, ":tok": num(l.token),
		},
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return nil // already someone else's
	}
	return awsclient.Wrap("UpdateItem", l.resource(), err)
}

// LeaseHolder is what the table says about a lease, for operators.
type LeaseHolder struct {
	Owner   string
	Expires time.Time
	Token   int64
}

// Holder reads the lease item.
func (l *Lease) Holder(ctx context.Context) (*LeaseHolder, error) {
	out, err := l.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(l.Table), Key: l.key(), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, awsclient.Wrap("GetItem", l.resource(), err)
	}
	if len(out.Item) == 0 {
		return nil, nil
	}
	h := &LeaseHolder{}
	if o, ok := out.Item["owner"].(*types.AttributeValueMemberS); ok {
		h.Owner = o.Value
	}
	ms, err := numAttr(out.Item, "expires_at_ms")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", l.resource(), err)
	}
	h.Expires = time.UnixMilli(ms)
	if h.Token, err = numAttr(out.Item, "token"); err != nil {
		return nil, fmt.Errorf("%s: %w", l.resource(), err)
	}
	return h, nil
}
