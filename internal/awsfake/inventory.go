package awsfake

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
)

// The listing calls that discovery (`autotuner init`, selectors) makes:
// Lambda ListFunctions and ListEventSourceMappings, API Gateway
// GetUsagePlans, GetRestApis and GetStages, DynamoDB ListTables, and the
// Resource Groups Tagging API's GetResources. Each pages as AWS does, one
// item a page when PageSize is 1, so paging is exercised.

// PageSize, when positive, caps every listing's page (default: AWS's).
var listPage = 0

const account = "123456789012"

func page[T any](items []T, marker string, size int) (out []T, next string) {
	start := 0
	if marker != "" {
		fmt.Sscan(marker, &start)
	}
	if listPage > 0 {
		size = listPage
	}
	end := min(len(items), start+size)
	if start > len(items) {
		start = end
	}
	if end < len(items) {
		next = fmt.Sprint(end)
	}
	return items[start:end], next
}

// SetPageSize makes every listing answer at most n items a page (0: AWS's
// page sizes), so that tests exercise paging.
func (s *Server) SetPageSize(n int) { listPage = n }

func (l *Lambda) serveList(op string) (response, bool) {
	ok := func(v any) response { return jsonResponse(v, "application/json") }
	switch op {
	case "ListFunctions":
		names := make([]string, 0, len(l.functions))
		for n := range l.functions {
			names = append(names, n)
		}
		sort.Strings(names)
		var fns []any
		for _, n := range names {
			fns = append(fns, map[string]any{"FunctionName": n, "FunctionArn": "arn:aws:lambda:us-east-1:" + account + ":function:" + n, "Runtime": "provided.al2023"})
		}
		return ok(map[string]any{"Functions": fns}), true
	case "ListEventSourceMappings":
		ids := make([]string, 0, len(l.esms))
		for id := range l.esms {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		var out []any
		for _, id := range ids {
			e := l.esms[id]
			m := map[string]any{"UUID": id, "State": e.State,
				"FunctionArn":    "arn:aws:lambda:us-east-1:" + account + ":function:" + e.Function,
				"EventSourceArn": "arn:aws:sqs:us-east-1:" + account + ":" + e.Queue}
			if e.MaxConcurrency != nil {
				m["ScalingConfig"] = map[string]any{"MaximumConcurrency": *e.MaxConcurrency}
			}
			out = append(out, m)
		}
		return ok(map[string]any{"EventSourceMappings": out}), true
	}
	return response{}, false
}

// AddRestAPI names a REST API, for listings.
func (a *APIGateway) AddRestAPI(id, name string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.apis == nil {
		a.apis = map[string]string{}
	}
	a.apis[id] = name
}

func (a *APIGateway) serveList(op string, parts []string) (response, bool) {
	ok := func(v any) response { return jsonResponse(v, "application/json") }
	switch op {
	case "GetUsagePlans":
		var items []any
		for _, id := range slices.Sorted(mapKeys(a.plans)) {
			p := a.plans[id]
			item := map[string]any{"id": id, "name": p.Name}
			var stages []any
			for _, s := range p.APIStages {
				api, st, _ := strings.Cut(s, ":")
				stages = append(stages, map[string]any{"apiId": api, "stage": st})
			}
			if stages != nil {
				item["apiStages"] = stages
			}
			if p.Throttle != nil {
				item["throttle"] = map[string]any{"rateLimit": p.Throttle.Rate, "burstLimit": p.Throttle.Burst}
			}
			items = append(items, item)
		}
		return ok(map[string]any{"item": items}), true
	case "GetRestApis":
		var items []any
		for _, id := range slices.Sorted(mapKeys(a.apis)) {
			items = append(items, map[string]any{"id": id, "name": a.apis[id]})
		}
		return ok(map[string]any{"item": items}), true
	case "GetStages":
		var items []any
		for _, key := range slices.Sorted(mapKeys(a.stages)) {
			api, name, _ := strings.Cut(key, "/")
			if api != parts[1] {
				continue
			}
			ms := map[string]any{}
			for k, th := range a.stages[key].MethodSettings {
				ms[k] = map[string]any{"throttlingRateLimit": th.Rate, "throttlingBurstLimit": th.Burst}
			}
			items = append(items, map[string]any{"stageName": name, "methodSettings": ms})
		}
		return ok(map[string]any{"item": items}), true
	}
	return response{}, false
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func (d *DynamoDB) listTables(body []byte) response {
	var in struct {
		ExclusiveStartTableName string
		Limit                   int
	}
	_ = json.Unmarshal(body, &in)
	names := slices.Sorted(mapKeys(d.tables))
	start := 0
	if in.ExclusiveStartTableName != "" {
		start = sort.SearchStrings(names, in.ExclusiveStartTableName) + 1
	}
	size := 100
	if in.Limit > 0 {
		size = in.Limit
	}
	if listPage > 0 {
		size = listPage
	}
	end := min(len(names), start+size)
	start = min(start, end)
	out := map[string]any{"TableNames": names[start:end]}
	if end < len(names) {
		out["LastEvaluatedTableName"] = names[end-1]
	}
	return jsonResponse(out, "application/x-amz-json-1.0")
}

// Tagging fakes the Resource Groups Tagging API's GetResources over AWS
// JSON 1.1.
type Tagging struct {
	mu   sync.Mutex
	tags map[string]map[string]string // ARN → tags
}

// Tag sets a resource's tags.
func (g *Tagging) Tag(arn string, tags map[string]string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.tags[arn] = tags
}

func (g *Tagging) serve(op string, r *request) response {
	g.mu.Lock()
	defer g.mu.Unlock()
	if op != "GetResources" {
		return encodeError("tagging", errorf(400, "InvalidParameterException", "awsfake: tagging %s is not faked", op))
	}
	var in struct {
		TagFilters          []tagFilter `cbor:"TagFilters" json:"TagFilters"`
		ResourceTypeFilters []string    `cbor:"ResourceTypeFilters" json:"ResourceTypeFilters"`
		PaginationToken     string      `cbor:"PaginationToken" json:"PaginationToken"`
	}
	// The SDK speaks Smithy RPC v2 CBOR by default, AWS JSON 1.1 when
	// switched (as for emulators without CBOR).
	isCBOR := r.Header.Get("Content-Type") == "application/cbor"
	var err error
	if isCBOR {
		err = cborDec.Unmarshal(r.body, &in)
	} else {
		err = json.Unmarshal(r.body, &in)
	}
	if err != nil {
		return encodeError("tagging", errorf(400, "InvalidParameterException", "%v", err))
	}
	var list []any
	for _, arn := range slices.Sorted(mapKeys(g.tags)) {
		tags := g.tags[arn]
		if !matchTags(tags, in.TagFilters) || !matchType(arn, in.ResourceTypeFilters) {
			continue
		}
		var tl []any
		for _, k := range slices.Sorted(mapKeys(tags)) {
			tl = append(tl, map[string]any{"Key": k, "Value": tags[k]})
		}
		list = append(list, map[string]any{"ResourceARN": arn, "Tags": tl})
	}
	items, next := page(list, in.PaginationToken, 100)
	out := map[string]any{"ResourceTagMappingList": items}
	if next != "" {
		out["PaginationToken"] = next
	}
	if isCBOR {
		return cborResponse(out)
	}
	return jsonResponse(out, "application/x-amz-json-1.1")
}

type tagFilter struct {
	Key    string   `cbor:"Key" json:"Key"`
	Values []string `cbor:"Values" json:"Values"`
}

func matchTags(tags map[string]string, filters []tagFilter) bool {
	for _, f := range filters {
		v, ok := tags[f.Key]
		if !ok || len(f.Values) > 0 && !slices.Contains(f.Values, v) {
			return false
		}
	}
	return true
}

// matchType reads a filter such as "lambda:function" or "dynamodb:table"
// against an ARN's service and resource type.
func matchType(arn string, types []string) bool {
	if len(types) == 0 {
		return true
	}
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return false
	}
	res := parts[5]
	typ := strings.FieldsFunc(res, func(r rune) bool { return r == ':' || r == '/' })
	for _, t := range types {
		svc, rt, _ := strings.Cut(t, ":")
		if svc == parts[2] && (rt == "" || len(typ) > 0 && typ[0] == rt || parts[2] == "apigateway" && strings.HasPrefix(res, "/"+rt)) {
			return true
		}
	}
	return false
}
