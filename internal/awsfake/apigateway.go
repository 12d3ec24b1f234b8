package awsfake

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// APIGateway fakes usage-plan and stage throttles over REST-JSON.
type APIGateway struct {
	s      *Server
	mu     sync.Mutex
	plans  map[string]*UsagePlan
	stages map[string]*Stage // "restApiId/stage"
	apis   map[string]string // id → name
}

// Throttle is a rate and burst.
type Throttle struct {
	Rate  float64
	Burst int
}

// UsagePlan is a plan's throttles: plan-wide (nil: none) and per method,
// keyed "apiId:stage" then "/resource/METHOD".
type UsagePlan struct {
	Name string
	// APIStages are the plan's "apiId:stage" pairs, for listings.
	APIStages []string
	Throttle  *Throttle
	Methods   map[string]map[string]Throttle
}

// Stage holds method settings keyed as AWS reports them: "*/*" or
// "~1resource/METHOD".
type Stage struct {
	MethodSettings map[string]Throttle
}

// PatchOperation is one operation of a PATCH body.
type PatchOperation struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value string `json:"value,omitempty"`
	From  string `json:"from,omitempty"`
}

func newAPIGateway(s *Server) *APIGateway {
	return &APIGateway{s: s, plans: map[string]*UsagePlan{}, stages: map[string]*Stage{}}
}

// AddUsagePlan creates a plan.
func (a *APIGateway) AddUsagePlan(id string, p UsagePlan) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.plans[id] = &p
}

// UsagePlan returns a plan's state.
func (a *APIGateway) UsagePlan(id string) UsagePlan {
	a.mu.Lock()
	defer a.mu.Unlock()
	return *a.plans[id]
}

// AddStage creates a stage.
func (a *APIGateway) AddStage(api, stage string, st Stage) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if st.MethodSettings == nil {
		st.MethodSettings = map[string]Throttle{}
	}
	a.stages[api+"/"+stage] = &st
}

// Stage returns a stage's state.
func (a *APIGateway) Stage(api, stage string) Stage {
	a.mu.Lock()
	defer a.mu.Unlock()
	return *a.stages[api+"/"+stage]
}

func apigatewayOp(method, p string) string {
	parts := strings.Split(strings.Trim(p, "/"), "/")
	switch {
	case len(parts) == 1 && method == http.MethodGet && (parts[0] == "usageplans" || parts[0] == "restapis"):
		return map[string]string{"usageplans": "GetUsagePlans", "restapis": "GetRestApis"}[parts[0]]
	case len(parts) == 3 && method == http.MethodGet && parts[0] == "restapis" && parts[2] == "stages":
		return "GetStages"
	case len(parts) == 2 && parts[0] == "usageplans":
		if method == http.MethodPatch {
			return "UpdateUsagePlan"
		}
		return "GetUsagePlan"
	case len(parts) == 4 && parts[0] == "restapis" && parts[2] == "stages":
		if method == http.MethodPatch {
			return "UpdateStage"
		}
		return "GetStage"
	}
	return ""
}

func unescapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
}

func (a *APIGateway) serve(op string, r *request) response {
	a.mu.Lock()
	defer a.mu.Unlock()
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	fail := func(e APIError) response { return encodeError("apigateway", e) }
	if res, ok := a.serveList(op, parts); ok {
		return res
	}
	var patch struct {
		PatchOperations []PatchOperation `json:"patchOperations"`
	}
	if r.Method == http.MethodPatch {
		if err := json.Unmarshal(r.body, &patch); err != nil {
			return fail(errorf(400, "BadRequestException", "Invalid patch body: %v", err))
		}
	}
	switch op {
	case "GetUsagePlan", "UpdateUsagePlan":
		id := parts[1]
		p := a.plans[id]
		if p == nil {
			return fail(errorf(404, "NotFoundException", "Invalid Usage Plan ID specified"))
		}
		next := clonePlan(p)
		for _, po := range patch.PatchOperations {
			if err := applyPlanPatch(next, po); err != nil {
				return fail(*err)
			}
		}
		*p = *next
		return jsonResponse(renderPlan(id, p), "application/json")
	case "GetStage", "UpdateStage":
		st := a.stages[parts[1]+"/"+parts[3]]
		if st == nil {
			return fail(errorf(404, "NotFoundException", "Invalid stage identifier specified"))
		}
		next := map[string]Throttle{}
		for k, v := range st.MethodSettings {
			next[k] = v
		}
		for _, po := range patch.PatchOperations {
			if err := applyStagePatch(next, po); err != nil {
				return fail(*err)
			}
		}
		st.MethodSettings = next
		ms := map[string]any{}
		for k, v := range st.MethodSettings {
			ms[k] = map[string]any{"throttlingRateLimit": v.Rate, "throttlingBurstLimit": v.Burst, "metricsEnabled": false, "loggingLevel": "OFF"}
		}
		return jsonResponse(map[string]any{"stageName": parts[3], "deploymentId": "d1", "methodSettings": ms}, "application/json")
	}
	return fail(errorf(400, "BadRequestException", "awsfake: API Gateway %s is not faked", op))
}

func clonePlan(p *UsagePlan) *UsagePlan {
	n := &UsagePlan{Methods: map[string]map[string]Throttle{}}
	if p.Throttle != nil {
		t := *p.Throttle
		n.Throttle = &t
	}
	for k, m := range p.Methods {
		n.Methods[k] = map[string]Throttle{}
		for mk, v := range m {
			n.Methods[k][mk] = v
		}
	}
	return n
}

func renderPlan(id string, p *UsagePlan) map[string]any {
	out := map[string]any{"id": id, "name": "plan-" + id}
	if p.Throttle != nil {
		out["throttle"] = map[string]any{"rateLimit": p.Throttle.Rate, "burstLimit": p.Throttle.Burst}
	}
	var stages []any
	for k, m := range p.Methods {
		api, stage, _ := strings.Cut(k, ":")
		th := map[string]any{}
		for mk, v := range m {
			th[mk] = map[string]any{"rateLimit": v.Rate, "burstLimit": v.Burst}
		}
		stages = append(stages, map[string]any{"apiId": api, "stage": stage, "throttle": th})
	}
	if stages != nil {
		out["apiStages"] = stages
	}
	return out
}

// patchValue parses a rate (decimal) or burst (integer) value.
func patchValue(po PatchOperation, field string) (rate float64, burst int, e *APIError) {
	if po.Op != "replace" {
		err := errorf(400, "BadRequestException", "Invalid patch operation specified. Must be 'replace' for path %s", po.Path)
		return 0, 0, &err
	}
	switch field {
	case "rateLimit":
		f, err := strconv.ParseFloat(po.Value, 64)
		if err != nil || f < 0 {
			e := errorf(400, "BadRequestException", "Invalid rate limit value specified: %q", po.Value)
			return 0, 0, &e
		}
		return f, 0, nil
	case "burstLimit":
		n, err := strconv.Atoi(po.Value)
		if err != nil || n < 0 {
			e := errorf(400, "BadRequestException", "Invalid burst limit value specified: %q (must be an integer)", po.Value)
			return 0, 0, &e
		}
		return 0, n, nil
	}
	err := errorf(400, "BadRequestException", "Invalid patch path %s", po.Path)
	return 0, 0, &err
}

func applyPlanPatch(p *UsagePlan, po PatchOperation) *APIError {
	if field, ok := strings.CutPrefix(po.Path, "/throttle/"); ok {
		rate, burst, e := patchValue(po, field)
		if e != nil {
			return e
		}
		if p.Throttle == nil {
			p.Throttle = &Throttle{}
		}
		if field == "rateLimit" {
			p.Throttle.Rate = rate
		} else {
			p.Throttle.Burst = burst
		}
		return nil
	}
	// /apiStages/{apiId}:{stage}/throttle/{~1resource}/{METHOD}/{field}
	if rest, ok := strings.CutPrefix(po.Path, "/apiStages/"); ok {
		stage, rest, ok1 := strings.Cut(rest, "/throttle/")
		i := strings.LastIndex(rest, "/")
		if ok1 && i > 0 {
			method, field := rest[:i], rest[i+1:]
			j := strings.LastIndex(method, "/")
			if j >= 0 {
				key := unescapePointer(method[:j]) + method[j:]
				rate, burst, e := patchValue(po, field)
				if e != nil {
					return e
				}
				if p.Methods[stage] == nil {
					e := errorf(400, "BadRequestException", "API stage %s is not associated with this usage plan", stage)
					return &e
				}
				t := p.Methods[stage][key]
				if field == "rateLimit" {
					t.Rate = rate
				} else {
					t.Burst = burst
				}
				p.Methods[stage][key] = t
				return nil
			}
		}
	}
	e := errorf(400, "BadRequestException", "Invalid patch path %s", po.Path)
	return &e
}

func applyStagePatch(ms map[string]Throttle, po PatchOperation) *APIError {
	// /{~1resource|*}/{METHOD|*}/throttling/{field}
	rest, field, ok := cutLast(po.Path)
	if ok {
		if method, ok2 := strings.CutSuffix(rest, "/throttling"); ok2 && strings.HasPrefix(method, "/") {
			key := method[1:]
			if strings.Count(key, "/") != 1 {
				e := errorf(400, "BadRequestException", "Invalid method setting path %s: escape '/' in the resource path as ~1", po.Path)
				return &e
			}
			rate, burst, e := patchValue(po, field)
			if e != nil {
				return e
			}
			t := ms[key]
			if field == "rateLimit" {
				t.Rate = rate
			} else {
				t.Burst = burst
			}
			ms[key] = t
			return nil
		}
	}
	e := errorf(400, "BadRequestException", "Invalid patch path %s", po.Path)
	return &e
}

func cutLast(p string) (string, string, bool) {
	i := strings.LastIndex(p, "/")
	if i < 0 {
		return "", "", false
	}
	return p[:i], p[i+1:], true
}
