package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/internal/awsclient"
	"github.com/autotuner/autotuner/policy"
)

// DynamoDBAPI is the part of *dynamodb.Client the state table needs.
type DynamoDBAPI interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

var _ DynamoDBAPI = (*dynamodb.Client)(nil)

// The state table has a string partition key "pk" and a string sort key
// "sk". A target's memory is the item (pk=target, sk="state"); audit
// records are (pk=target, sk="audit#<time>"), so one Query lists a
// target's history; the lease is (pk="#lease", sk=<lease name>). Target
// names cannot start with '#', so the lease never collides with one.
const (
	attrPK        = "pk"
	attrSK        = "sk"
	skState       = "state"
	skAuditPrefix = "audit#"
	pkLease       = "#lease"
	attrExpiresAt = "expires_at" // the table's TTL attribute, in Unix seconds
)

// DynamoDB keeps each target's memory in a DynamoDB table, for the Lambda
// mode and for replicas of the daemon. Every write is conditional on the
// version it read, so two writers never silently overwrite each other: the
// second gets a conflict error.
type DynamoDB struct {
	Client DynamoDBAPI
	Table  string
	// Fence, when set, returns the lease's fencing token (0 when this
	// process does not hold the lease). Each write carries it, and a write
	// under an older token than the item's is refused, so a leader that
	// lost its lease cannot overwrite its successor's state.
	Fence func() int64
	// Now stamps updated_at; nil means time.Now.
	Now func() time.Time

	mu       sync.Mutex
	versions map[string]int64 // the version each target had when loaded
}

var _ controller.Store = (*DynamoDB)(nil)

// NewDynamoDB returns a store on table.
func NewDynamoDB(c DynamoDBAPI, table string) *DynamoDB {
	return &DynamoDB{Client: c, Table: table, versions: map[string]int64{}}
}

func stateKey(target string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrPK: &types.AttributeValueMemberS{Value: target},
		attrSK: &types.AttributeValueMemberS{Value: skState},
	}
}

// Load reads a target's memory with a strongly consistent read and
// remembers its version for the next Save.
func (s *DynamoDB) Load(ctx context.Context, target string) (policy.Memory, error) {
	out, err := s.Client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.Table), Key: stateKey(target), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return policy.Memory{}, awsclient.Wrap("GetItem", "state table "+s.Table+" target "+target, err)
	}
	if len(out.Item) == 0 {
		s.setVersion(target, 0)
		return policy.NewMemory(), nil
	}
	ver, err := numAttr(out.Item, "version")
	if err != nil {
		return policy.Memory{}, s.corrupt(target, err)
	}
	raw, ok := out.Item["memory"].(*types.AttributeValueMemberS)
	if !ok {
		return policy.Memory{}, s.corrupt(target, errors.New("attribute memory is missing or not a string"))
	}
	var m policy.Memory
	if err := json.Unmarshal([]byte(raw.Value), &m); err != nil {
		return policy.Memory{}, s.corrupt(target, err)
	}
	if err := m.Check(); err != nil {
		return policy.Memory{}, s.corrupt(target, err)
	}
	s.setVersion(target, ver)
	return m, nil
}

func (s *DynamoDB) corrupt(target string, err error) error {
	return controller.WithClass(controller.ClassInvalid, fmt.Errorf("state of target %q in table %s is corrupt: %w (delete the item to start afresh; autotuner will not reset it for you)", target, s.Table, err))
}

func (s *DynamoDB) setVersion(target string, v int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.versions == nil {
		s.versions = map[string]int64{}
	}
	s.versions[target] = v
}

// ConflictError is a conditional write that lost: another writer changed
// the target's state since this process read it, or holds a newer lease.
type ConflictError struct {
	Table, Target string
	Version       int64
	Fence         int64
}

func (e *ConflictError) Error() string {
	msg := fmt.Sprintf("state of target %q in table %s was changed by another writer since version %d was read", e.Target, e.Table, e.Version)
	if e.Fence != 0 || e.Version == 0 {
		msg += fmt.Sprintf(", or was written under a newer lease than token %d", e.Fence)
	}
	return msg + "; nothing was overwritten"
}

func (e *ConflictError) ErrorClass() string { return string(controller.ClassConflict) }

// Save writes a target's memory if nobody else has since Load.
func (s *DynamoDB) Save(ctx context.Context, target string, m policy.Memory) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	s.mu.Lock()
	ver := s.versions[target]
	s.mu.Unlock()
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	item := stateKey(target)
	item["memory"] = &types.AttributeValueMemberS{Value: string(b)}
	item["version"] = num(ver + 1)
	item["updated_at"] = &types.AttributeValueMemberS{Value: now().UTC().Format(time.RFC3339Nano)}
	cond := "attribute_not_exists(pk)"
	vals := map[string]types.AttributeValue{}
	if ver > 0 {
		cond = "version = :v"
		vals[":v"] = num(ver)
	}
	var fence int64
	if s.Fence != nil {
		fence = s.Fence()
		item["fence"] = num(fence)
		cond = "(" + cond + ") AND (attribute_not_exists(fence) OR fence <= :f)"
		vals[":f"] = num(fence)
	}
	in := &dynamodb.PutItemInput{TableName: aws.String(s.Table), Item: item, ConditionExpression: aws.String(cond)}
	if len(vals) > 0 {
		in.ExpressionAttributeValues = vals
	}
	if _, err := s.Client.PutItem(ctx, in); err != nil {
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			return &ConflictError{Table: s.Table, Target: target, Version: ver, Fence: fence}
		}
		return awsclient.Wrap("PutItem", "state table "+s.Table+" target "+target, err)
	}
	s.setVersion(target, ver+1)
	return nil
}

func num(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

func numAttr(item map[string]types.AttributeValue, name string) (int64, error) {
	n, ok := item[name].(*types.AttributeValueMemberN)
	if !ok {
		return 0, fmt.Errorf("attribute %s is missing or not a number", name)
	}
	v, err := strconv.ParseInt(n.Value, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("attribute %s: %w", name, err)
	}
	return v, nil
}

// DynamoDBAudit writes one item per decision to the state table, expiring
// after TTL through the table's TTL attribute "expires_at". Records of
// plan-mode ticks (followers, `autotuner plan`) are not written: they
// changed nothing.
type DynamoDBAudit struct {
	Client DynamoDBAPI
	Table  string
	TTL    time.Duration
	// Timeout bounds one write; 0 means 10 s.
	Timeout time.Duration
}

var _ controller.AuditSink = (*DynamoDBAudit)(nil)

func (a *DynamoDBAudit) Write(r *controller.Record) error {
	if r.Mode == controller.ModePlan {
		return nil
	}
	b, err := r.AppendJSON(nil) // the bytes of json.Marshal, cheaper
	if err != nil {
		return err
	}
	timeout := a.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	item := map[string]types.AttributeValue{
		attrPK:   &types.AttributeValueMemberS{Value: r.Target},
		attrSK:   &types.AttributeValueMemberS{Value: auditKey(r)},
		"record": &types.AttributeValueMemberS{Value: string(b)},
		"mode":   &types.AttributeValueMemberS{Value: string(r.Mode)},
	}
	if r.Decision != nil {
		item["action"] = &types.AttributeValueMemberS{Value: string(r.Decision.Action)}
	}
	if a.TTL > 0 {
		item[attrExpiresAt] = num(r.Time.Add(a.TTL).Unix())
	}
	_, err = a.Client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(a.Table), Item: item})
	return awsclient.Wrap("PutItem", "audit in table "+a.Table+" target "+r.Target, err)
}

// auditKey is a record's sort key. An intent line has its own; a line
// that settles a change after a crash carries the time of the change's
// tick, so it takes the key of the outcome line the crash may or may not
// have let through: written twice, a change is still audited once.
func auditKey(r *controller.Record) string {
	if r.Intent {
		return AuditSortKey(r.Time) + "#intent"
	}
	return AuditSortKey(r.Time)
}

// AuditSortKey is the sort key of an audit item: it sorts by time.
func AuditSortKey(t time.Time) string {
	return skAuditPrefix + t.UTC().Format("2006-01-02T15:04:05.000000000Z")
}

// CreateTableInput describes the state table: on-demand billing, string
// keys pk and sk. Deployments create it from deploy/sam/template.yaml;
// tests use this, and a test checks the two agree.
func CreateTableInput(table string) *dynamodb.CreateTableInput {
	return &dynamodb.CreateTableInput{
		TableName:   aws.String(table),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(attrPK), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(attrSK), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(attrPK), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(attrSK), KeyType: types.KeyTypeRange},
		},
	}
}
