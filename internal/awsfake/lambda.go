package awsfake

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// Lambda fakes reserved concurrency, account settings and SQS event source
// mappings over REST-JSON, with the account's 100-unreserved floor.
type Lambda struct {
	s  *Server
	mu sync.Mutex
	// AccountLimit is the account's concurrent executions (default 1000).
	AccountLimit int
	functions    map[string]*int // name → reservation (nil: none)
	esms         map[string]*ESM
}

// ESM is an event source mapping.
type ESM struct {
	State          string // Enabled, Updating, ...
	MaxConcurrency *int
	// Function and Queue are the names of the mapping's function and SQS
	// queue, for listings.
	Function, Queue string
}

// MinUnreserved is Lambda's floor of unreserved concurrency.
const MinUnreserved = 100

func newLambda(s *Server) *Lambda {
	return &Lambda{s: s, AccountLimit: 1000, functions: map[string]*int{}, esms: map[string]*ESM{}}
}

// AddFunction creates a function with an optional reservation.
func (l *Lambda) AddFunction(name string, reserved *int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.functions[name] = reserved
}

// Reserved returns a function's reservation, nil for none.
func (l *Lambda) Reserved(name string) *int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.functions[name]
}

// AddESM creates an event source mapping.
func (l *Lambda) AddESM(uuid string, e ESM) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e.State == "" {
		e.State = "Enabled"
	}
	l.esms[uuid] = &e
}

// ESM returns a mapping's state.
func (l *Lambda) ESM(uuid string) ESM {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e := l.esms[uuid]; e != nil {
		return *e
	}
	return ESM{}
}

// Unreserved is the account's unreserved concurrency.
func (l *Lambda) Unreserved() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.unreserved()
}

func (l *Lambda) unreserved() int {
	u := l.AccountLimit
	for _, r := range l.functions {
		if r != nil {
			u -= *r
		}
	}
	return u
}

// lambdaOp names the operation of a Lambda REST request.
func lambdaOp(method, p string) string {
	switch {
	case p == "/2016-08-19/account-settings" || p == "/2016-08-19/account-settings/":
		return "GetAccountSettings"
	case (p == "/2015-03-31/functions/" || p == "/2015-03-31/functions") && method == http.MethodGet:
		return "ListFunctions"
	case (p == "/2015-03-31/event-source-mappings/" || p == "/2015-03-31/event-source-mappings") && method == http.MethodGet:
		return "ListEventSourceMappings"
	case strings.HasPrefix(p, "/2019-09-30/functions/") && strings.HasSuffix(p, "/concurrency") && method == http.MethodGet:
		return "GetFunctionConcurrency"
	case strings.HasPrefix(p, "/2017-10-31/functions/") && strings.HasSuffix(p, "/concurrency"):
		if method == http.MethodDelete {
			return "DeleteFunctionConcurrency"
		}
		return "PutFunctionConcurrency"
	case strings.HasPrefix(p, "/2015-03-31/event-source-mappings/"):
		if method == http.MethodPut {
			return "UpdateEventSourceMapping"
		}
		return "GetEventSourceMapping"
	case strings.HasPrefix(p, "/2015-03-31/functions/") && method == http.MethodGet:
		return "GetFunction"
	}
	return ""
}

func pathParam(p, prefix, suffix string) string {
	v := strings.TrimSuffix(strings.TrimPrefix(p, prefix), suffix)
	if u, err := url.PathUnescape(v); err == nil {
		return u
	}
	return v
}

func (l *Lambda) serve(op string, r *request) response {
	l.mu.Lock()
	defer l.mu.Unlock()
	p := r.URL.Path
	ok := func(v any) response { return jsonResponse(v, "application/json") }
	fail := func(e APIError) response { return encodeError("lambda", e) }
	if res, ok := l.serveList(op); ok {
		return res
	}
	switch op {
	case "GetAccountSettings":
		u := l.unreserved()
		return ok(map[string]any{
			"AccountLimit": map[string]any{"ConcurrentExecutions": l.AccountLimit, "UnreservedConcurrentExecutions": u, "CodeSizeUnzipped": 262144000, "CodeSizeZipped": 52428800, "TotalCodeSize": 80530636800},
			"AccountUsage": map[string]any{"FunctionCount": len(l.functions), "TotalCodeSize": 0},
		})
	case "GetFunctionConcurrency":
		name := pathParam(p, "/2019-09-30/functions/", "/concurrency")
		r, exists := l.functions[name]
		if !exists {
			return fail(errorf(404, "ResourceNotFoundException", "Function not found: arn:aws:lambda:us-east-1:123456789012:function:%s", name))
		}
		if r == nil {
			return ok(map[string]any{})
		}
		return ok(map[string]any{"ReservedConcurrentExecutions": *r})
	case "GetFunction":
		// The reservation comes in Concurrency, absent when there is none.
		name := pathParam(p, "/2015-03-31/functions/", "")
		r, exists := l.functions[name]
		if !exists {
			return fail(errorf(404, "ResourceNotFoundException", "Function not found: arn:aws:lambda:us-east-1:123456789012:function:%s", name))
		}
		out := map[string]any{
			"Configuration": map[string]any{"FunctionName": name, "FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:" + name, "Runtime": "provided.al2023", "State": "Active"},
			"Code":          map[string]any{"RepositoryType": "S3", "Location": "https://example.invalid/" + name},
		}
		if r != nil {
			out["Concurrency"] = map[string]any{"ReservedConcurrentExecutions": *r}
		}
		return ok(out)
	case "PutFunctionConcurrency", "DeleteFunctionConcurrency":
		name := pathParam(p, "/2017-10-31/functions/", "/concurrency")
		cur, exists := l.functions[name]
		if !exists {
			return fail(errorf(404, "ResourceNotFoundException", "Function not found: arn:aws:lambda:us-east-1:123456789012:function:%s", name))
		}
		if op == "DeleteFunctionConcurrency" {
			l.functions[name] = nil
			return response{status: 204}
		}
		var in struct{ ReservedConcurrentExecutions *int }
		if err := json.Unmarshal(r.body, &in); err != nil || in.ReservedConcurrentExecutions == nil {
			return fail(errorf(400, "InvalidParameterValueException", "ReservedConcurrentExecutions is required"))
		}
		n := *in.ReservedConcurrentExecutions
		if n < 0 {
			return fail(errorf(400, "InvalidParameterValueException", "1 validation error detected: Value '%d' at 'reservedConcurrentExecutions' failed to satisfy constraint: Member must have value greater than or equal to 0", n))
		}
		old := 0
		if cur != nil {
			old = *cur
		}
		if l.unreserved()+old-n < MinUnreserved {
			return fail(errorf(400, "InvalidParameterValueException", "Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [%d].", MinUnreserved))
		}
		l.functions[name] = &n
		return ok(map[string]any{"ReservedConcurrentExecutions": n})
	case "GetEventSourceMapping", "UpdateEventSourceMapping":
		uuid := pathParam(p, "/2015-03-31/event-source-mappings/", "")
		e := l.esms[uuid]
		if e == nil {
			return fail(errorf(404, "ResourceNotFoundException", "The resource you requested does not exist. (Service: Lambda, Status Code: 404)"))
		}
		if op == "UpdateEventSourceMapping" {
			var in struct {
				ScalingConfig *struct{ MaximumConcurrency *int }
			}
			if err := json.Unmarshal(r.body, &in); err != nil {
				return fail(errorf(400, "InvalidParameterValueException", "%v", err))
			}
			if e.State != "Enabled" && e.State != "Disabled" {
				return fail(errorf(409, "ResourceInUseException", "Cannot update the event source mapping because it is in use (state %s).", e.State))
			}
			if in.ScalingConfig != nil && in.ScalingConfig.MaximumConcurrency != nil {
				m := *in.ScalingConfig.MaximumConcurrency
				if m < 2 || m > 1000 {
					return fail(errorf(400, "InvalidParameterValueException", "MaximumConcurrency must be between 2 and 1000, got %d", m))
				}
				e.MaxConcurrency = &m
			}
		}
		out := map[string]any{"UUID": uuid, "State": e.State, "EventSourceArn": "arn:aws:sqs:us-east-1:123456789012:q", "FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:f", "BatchSize": 10}
		if e.MaxConcurrency != nil {
			out["ScalingConfig"] = map[string]any{"MaximumConcurrency": *e.MaxConcurrency}
		}
		if op == "UpdateEventSourceMapping" {
			return jsonResponse(out, "application/json")
		}
		return ok(out)
	}
	return fail(errorf(400, "InvalidRequestException", "awsfake: Lambda %s is not faked", op))
}
