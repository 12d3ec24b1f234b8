package awsfake

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
)

// Item is a DynamoDB item in the JSON wire shape: attribute name →
// {"S": "..."} or {"N": "..."}.
type Item map[string]map[string]string

// Items returns a copy of a table's items by partition key (the string
// attribute "pk"), for tests to inspect.
func (d *DynamoDB) Items(table string) map[string]Item {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := map[string]Item{}
	if t := d.tables[table]; t != nil {
		for k, it := range t.items {
			out[k] = it.clone()
		}
	}
	return out
}

// PutItem stores an item directly, keyed by its "pk".
func (d *DynamoDB) PutItem(table string, it Item) {
	d.mu.Lock()
	defer d.mu.Unlock()
	t := d.tables[table]
	if t.items == nil {
		t.items = map[string]Item{}
	}
	t.items[it["pk"]["S"]] = it.clone()
}

func (it Item) clone() Item {
	out := Item{}
	for k, v := range it {
		c := map[string]string{}
		for a, b := range v {
			c[a] = b
		}
		out[k] = c
	}
	return out
}

// serveItem fakes GetItem and UpdateItem on tables keyed by the string
// attribute "pk", for the update and condition expressions the shared
// rate limiter sends: SET of names to values or to name ± value, and
// conditions attribute_not_exists(name) or comparisons name = value,
// name >= value, name <= value joined by AND.
// Anything else is refused as a ValidationException, so a new expression
// fails loudly here rather than passing untested.
func (d *DynamoDB) serveItem(op string, r *request) response {
	fail := func(e APIError) response { return encodeError("dynamodb", e) }
	var in struct {
		TableName                           string
		Key                                 Item
		ConsistentRead                      bool
		UpdateExpression                    string
		ConditionExpression                 string
		ExpressionAttributeNames            map[string]string
		ExpressionAttributeValues           Item
		ReturnValues                        string
		ReturnValuesOnConditionCheckFailure string
	}
	if err := json.Unmarshal(r.body, &in); err != nil {
		return fail(errorf(400, "SerializationException", "%v", err))
	}
	t := d.tables[in.TableName]
	if t == nil {
		return fail(errorf(400, "ResourceNotFoundException", "Requested resource not found: Table: %s not found", in.TableName))
	}
	if t.items == nil {
		t.items = map[string]Item{}
	}
	pk := in.Key["pk"]["S"]
	cur, found := t.items[pk]
	if op == "GetItem" {
		if !found {
			return jsonResponse(map[string]any{}, "application/x-amz-json-1.0")
		}
		return jsonResponse(map[string]any{"Item": cur}, "application/x-amz-json-1.0")
	}
	ex := exprCtx{names: in.ExpressionAttributeNames, values: in.ExpressionAttributeValues}
	ok, err := ex.condition(in.ConditionExpression, cur, found)
	if err != nil {
		return fail(*err)
	}
	if !ok {
		e := errorf(400, "ConditionalCheckFailedException", "The conditional request failed")
		if in.ReturnValuesOnConditionCheckFailure == "ALL_OLD" && found {
			e.Fields = map[string]any{"Item": cur}
		}
		return fail(e)
	}
	next := Item{"pk": {"S": pk}}
	if found {
		next = cur.clone()
	}
	if err := ex.set(in.UpdateExpression, next); err != nil {
		return fail(*err)
	}
	t.items[pk] = next
	if in.ReturnValues == "ALL_NEW" {
		return jsonResponse(map[string]any{"Attributes": next}, "application/x-amz-json-1.0")
	}
	return jsonResponse(map[string]any{}, "application/x-amz-json-1.0")
}

type exprCtx struct {
	names  map[string]string
	values Item
}

func (e exprCtx) name(tok string) string {
	if n, ok := e.names[tok]; ok {
		return n
	}
	return tok
}

func invalid(format string, args ...any) *APIError {
	err := errorf(400, "ValidationException", "awsfake: "+format, args...)
	return &err
}

var (
	notExistsRE = regexp.MustCompile(`^attribute_not_exists\((\S+)\)$`)
	compareRE   = regexp.MustCompile(`^(\S+) (=|>=|<=) (:\w+)$`)
	assignRE    = regexp.MustCompile(`^(\S+) = (\S+)(?: ([+-]) (:\w+))?$`)
)

func (e exprCtx) condition(c string, it Item, found bool) (bool, *APIError) {
	c = strings.TrimSpace(c)
	if c == "" {
		return true, nil
	}
	if m := notExistsRE.FindStringSubmatch(c); m != nil {
		_, has := it[e.name(m[1])]
		return !found || !has, nil
	}
	for _, clause := range strings.Split(c, " AND ") {
		m := compareRE.FindStringSubmatch(strings.TrimSpace(clause))
		if m == nil {
			return false, invalid("unsupported condition %q", clause)
		}
		a, ok := it[e.name(m[1])]
		if !found || !ok {
			return false, nil
		}
		v := e.values[m[3]]
		x, _ := strconv.ParseFloat(a["N"], 64)
		y, _ := strconv.ParseFloat(v["N"], 64)
		var hold bool
		switch m[2] {
		case "=":
			hold = a["N"] == v["N"] && a["S"] == v["S"] || a["N"] != "" && v["N"] != "" && x == y
		case ">=":
			hold = x >= y
		case "<=":
			hold = x <= y
		}
		if !hold {
			return false, nil
		}
	}
	return true, nil
}

func (e exprCtx) set(u string, it Item) *APIError {
	body, ok := strings.CutPrefix(strings.TrimSpace(u), "SET ")
	if !ok {
		return invalid("unsupported update %q", u)
	}
	next := Item{}
	for _, part := range strings.Split(body, ",") {
		m := assignRE.FindStringSubmatch(strings.TrimSpace(part))
		if m == nil {
			return invalid("unsupported assignment %q", part)
		}
		dst := e.name(m[1])
		var val map[string]string
		if strings.HasPrefix(m[2], ":") {
			val = e.values[m[2]]
		} else {
			val = it[e.name(m[2])]
		}
		if val == nil {
			return invalid("assignment %q reads something absent", part)
		}
		if m[3] != "" {
			x, _ := strconv.ParseFloat(val["N"], 64)
			y, _ := strconv.ParseFloat(e.values[m[4]]["N"], 64)
			if m[3] == "-" {
				y = -y
			}
			val = map[string]string{"N": strconv.FormatFloat(x+y, 'g', -1, 64)}
		}
		next[dst] = val
	}
	for k, v := range next { // every right side reads the item before the update
		it[k] = v
	}
	return nil
}
