package awsfake

import (
	"bytes"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Call is one request the fake received.
type Call struct {
	Service string // cloudwatch, lambda, apigateway, dynamodb, sqs, autoscaling, sts, states, ssm
	Op      string
	Method  string
	Path    string // the escaped path, as sent
	Header  http.Header
	Body    []byte
	At      time.Time
}

// APIError is an error the fake answers with, encoded in the protocol of
// the service that gets it.
type APIError struct {
	Status  int
	Code    string
	Message string
	// Fields are extra members of the error body, such as Lambda's
	// retryAfterSeconds and Reason.
	Fields map[string]any
	// Header adds response headers, such as Retry-After.
	Header map[string]string
}

// Server is every fake behind one loopback endpoint, as AWS_ENDPOINT_URL
// points every service at one URL.
type Server struct {
	*httptest.Server

	// Latency is added to every response, to model the network.
	Latency time.Duration
	// Now is the service's clock (UPDATING transitions, quotas by day).
	// Tests set it; nil means time.Now.
	Now func() time.Time

	CloudWatch  *CloudWatch
	Lambda      *Lambda
	APIGateway  *APIGateway
	DynamoDB    *DynamoDB
	SQS         *SQS
	AutoScaling *AutoScaling
	STS         *STS
	Tagging     *Tagging

	// Chaos, when set, is asked about every call the queued faults and
	// quotas let through: it may answer an error instead, or drop the
	// answer (see Fault).
	Chaos func(c Call) Fault
	// Answered, when set, sees every error the services themselves
	// answered (not those Fail, Quota or Chaos injected).
	Answered func(c Call, status int, body []byte)
	SFN      *StepFunctions
	SSM      *SSM
	// APIGatewayV2 serves HTTP API stages.
	APIGatewayV2 *APIGatewayV2

	mu     sync.Mutex
	calls  []Call
	faults map[string][]APIError
	quotas map[string]*quota
}

type quota struct {
	lim        *rate.Limiter
	perSecond  float64
	violations int
	times      []time.Time
}

// New starts a fake on 127.0.0.1.
func New() *Server {
	s := &Server{faults: map[string][]APIError{}, quotas: map[string]*quota{}}
	s.CloudWatch = &CloudWatch{s: s, data: map[string]map[int64]float64{}}
	s.Lambda = newLambda(s)
	s.APIGateway = newAPIGateway(s)
	s.DynamoDB = newDynamoDB(s)
	s.SQS = &SQS{s: s, queues: map[string]map[string]string{}}
	s.AutoScaling = &AutoScaling{s: s}
	s.STS = &STS{Account: "123456789012"}
	s.Tagging = &Tagging{tags: map[string]map[string]string{}}
	s.SFN = newStepFunctions(s)
	s.SSM = newSSM(s)
	s.APIGatewayV2 = newAPIGatewayV2(s)
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Fail makes the next len(errs) calls of op fail with errs, in order.
func (s *Server) Fail(op string, errs ...APIError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[op] = append(s.faults[op], errs...)
}

// Quota makes the fake enforce a service quota on the calls of a plane
// ("lambda", "apigateway", "usageplan-update", "dynamodb", "cloudwatch"),
// as AWS does: a call over it is answered with the service's throttling
// error and counted as a violation.
func (s *Server) Quota(plane string, perSecond float64, burst int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.quotas[plane] = &quota{lim: rate.NewLimiter(rate.Limit(perSecond), burst), perSecond: perSecond}
}

// Violations counts the calls of a plane that went over its quota.
func (s *Server) Violations(plane string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if q := s.quotas[plane]; q != nil {
		return q.violations
	}
	return 0
}

// PeakRate is the most calls of a plane seen within any one second.
func (s *Server) PeakRate(plane string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.quotas[plane]
	if q == nil {
		return 0
	}
	peak, j := 0, 0
	for i := range q.times {
		for q.times[i].Sub(q.times[j]) >= time.Second {
			j++
		}
		peak = max(peak, i-j+1)
	}
	return peak
}

// Calls returns the requests received for op ("" for all), in order.
func (s *Server) Calls(op string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if op == "" || c.Op == op {
			out = append(out, c)
		}
	}
	return out
}

// Count returns how many calls of each operation were received.
func (s *Server) Count() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := map[string]int{}
	for _, c := range s.calls {
		m[c.Op]++
	}
	return m
}

// Reset forgets the calls received so far (not the services' state).
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = nil
	for _, q := range s.quotas {
		q.times, q.violations = nil, 0
	}
}

// Ops lists the operations received, sorted, for messages.
func (s *Server) Ops() []string {
	var ops []string
	for op := range s.Count() {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	return ops
}

// request is one decoded call, handed to a service.
type request struct {
	*http.Request
	body []byte
}

// response is what a service answers.
type response struct {
	status int
	body   []byte
	ctype  string
	header map[string]string
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	service, op := identify(r)
	call := Call{Service: service, Op: op, Method: r.Method, Path: r.URL.EscapedPath(), Header: r.Header.Clone(), Body: body, At: time.Now()}
	s.mu.Lock()
	s.calls = append(s.calls, call)
	var fault *APIError
	if fs := s.faults[op]; len(fs) > 0 {
		fault = &fs[0]
		s.faults[op] = fs[1:]
	}
	over := false
	for _, plane := range planes(service, op) {
		if q := s.quotas[plane]; q != nil {
			q.times = append(q.times, time.Now())
			if !q.lim.Allow() {
				q.violations++
				over = true
			}
		}
	}
	s.mu.Unlock()
	if s.Latency > 0 {
		time.Sleep(s.Latency)
	}
	var chaos Fault
	if !over && fault == nil && s.Chaos != nil {
		chaos = s.Chaos(call)
	}
	var res response
	switch {
	case over:
		res = encodeError(service, throttleError(service))
	case fault != nil:
		res = encodeError(service, *fault)
	case chaos.Err != nil:
		res = encodeError(service, *chaos.Err)
	default:
		req := &request{Request: r, body: body}
		switch service {
		case "cloudwatch":
			res = s.CloudWatch.serve(op, req)
		case "lambda":
			res = s.Lambda.serve(op, req)
		case "apigateway":
			res = s.APIGateway.serve(op, req)
		case "dynamodb":
			res = s.DynamoDB.serve(op, req)
		case "sqs":
			res = s.SQS.serve(op, req)
		case "autoscaling":
			res = s.AutoScaling.serve(op, req)
		case "sts":
			res = s.STS.serve(op, req)
		case "tagging":
			res = s.Tagging.serve(op, req)
		case "states":
			res = s.SFN.serve(op, req)
		case "ssm":
			res = s.SSM.serve(op, req)
		case "apigatewayv2":
			res = s.APIGatewayV2.serve(op, req)
		default:
			res = encodeError("lambda", APIError{Status: 404, Code: "UnknownOperationException", Message: "awsfake: no fake for " + r.Method + " " + r.URL.Path})
		}
	}
	if s.Answered != nil && res.status >= 400 && !over && fault == nil && chaos.Err == nil {
		s.Answered(call, res.status, res.body)
	}
	if chaos.Drop {
		drop(w)
		return
	}
	for k, v := range res.header {
		w.Header().Set(k, v)
	}
	if res.ctype != "" {
		w.Header().Set("Content-Type", res.ctype)
	}
	w.Header().Set("X-Amzn-RequestId", "awsfake")
	if service == "dynamodb" {
		// The DynamoDB client checks the body against this CRC32.
		w.Header().Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(res.body)), 10))
	}
	if res.status == 0 {
		res.status = 200
	}
	w.WriteHeader(res.status)
	w.Write(res.body)
}

func planes(service, op string) []string {
	switch service {
	case "lambda":
		if op == "GetFunction" {
			return []string{"lambda-get"}
		}
		return []string{"lambda"}
	case "apigatewayv2":
		return []string{"apigateway"} // one management quota for REST and HTTP APIs
	case "apigateway":
		if op == "UpdateUsagePlan" {
			return []string{"apigateway", "usageplan-update"}
		}
		return []string{"apigateway"}
	case "states":
		switch op {
		case "UpdateStateMachine", "PublishStateMachineVersion", "UpdateStateMachineAlias":
			return []string{"states-update"}
		}
		return []string{"states"}
	case "ssm":
		if op == "PutParameter" {
			return []string{"ssm-put"}
		}
		return []string{"ssm"}
	}
	return []string{service}
}

func throttleError(service string) APIError {
	switch service {
	case "lambda":
		return APIError{Status: 429, Code: "TooManyRequestsException", Message: "Rate exceeded", Fields: map[string]any{"Reason": "CallerRateLimitExceeded", "retryAfterSeconds": "1"}, Header: map[string]string{"Retry-After": "1"}}
	case "apigateway", "apigatewayv2":
		return APIError{Status: 429, Code: "TooManyRequestsException", Message: "Too Many Requests", Header: map[string]string{"Retry-After": "1"}}
	case "dynamodb":
		return APIError{Status: 400, Code: "ThrottlingException", Message: "Rate of requests exceeds the allowed throughput."}
	case "states", "ssm":
		return APIError{Status: 400, Code: "ThrottlingException", Message: "Rate exceeded"}
	}
	return APIError{Status: 400, Code: "Throttling", Message: "Rate exceeded"}
}

// identify tells the service and operation from the request's shape.
func identify(r *http.Request) (service, op string) {
	if t := r.Header.Get("X-Amz-Target"); t != "" {
		svc, o, _ := strings.Cut(t, ".")
		switch svc {
		case "DynamoDB_20120810":
			return "dynamodb", o
		case "AmazonSQS":
			return "sqs", o
		case "AnyScaleFrontendService":
			return "autoscaling", o
		case "GraniteServiceVersion20100801":
			return "cloudwatch", o
		case "ResourceGroupsTaggingAPI_20170126":
			return "tagging", o
		case "AWSStepFunctions":
			return "states", o
		case "AmazonSSM":
			return "ssm", o
		}
		return svc, o
	}
	p := r.URL.Path
	if rest, ok := strings.CutPrefix(p, "/service/GraniteServiceVersion20100801/operation/"); ok {
		return "cloudwatch", rest
	}
	if rest, ok := strings.CutPrefix(p, "/service/ResourceGroupsTaggingAPI_20170126/operation/"); ok {
		return "tagging", rest
	}
	if op := lambdaOp(r.Method, p); op != "" {
		return "lambda", op
	}
	if op := apigatewayv2Op(r.Method, p); op != "" {
		return "apigatewayv2", op
	}
	if op := apigatewayOp(r.Method, p); op != "" {
		return "apigateway", op
	}
	if r.Method == http.MethodPost && (p == "/" || p == "") {
		r.ParseForm()
		if a := r.PostForm.Get("Action"); a != "" {
			if strings.Contains(r.PostForm.Get("Version"), "2011-06-15") {
				return "sts", a
			}
			return "cloudwatch", a // CloudWatch over awsQuery
		}
	}
	return "unknown", r.Method + " " + p
}
