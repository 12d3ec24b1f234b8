package awsfake

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
)

// APIGatewayV2 fakes HTTP API stages over REST-JSON, as API Gateway v2
// serves them: GetApis (GET /v2/apis), GetStages (GET
// /v2/apis/{apiId}/stages), GetStage and UpdateStage (GET and PATCH
// /v2/apis/{apiId}/stages/{stageName}).
//
// UpdateStage replaces the settings of each route it names, and the
// default route settings when given, whole: the stricter reading of the
// API, under which a client that sent only the throttle would lose the
// route's detailed metrics. Routes it does not name keep theirs. A route
// key the API has no route for is refused, and so is a throttle above the
// account's (10,000 requests/s, burst 5,000), as AWS refuses them.
type APIGatewayV2 struct {
	s    *Server
	mu   sync.Mutex
	apis map[string]*HTTPAPI
}

// HTTPAPI is one HTTP API: its name, route keys and stages.
type HTTPAPI struct {
	Name   string
	Routes []string
	Stages map[string]*HTTPStage
}

// HTTPStage is a stage's route settings.
type HTTPStage struct {
	Default RouteSettings
	Routes  map[string]RouteSettings
}

// RouteSettings are one route's settings, as the service sends them: a
// nil throttle is one never set.
type RouteSettings struct {
	ThrottlingRateLimit    *float64 `json:"throttlingRateLimit,omitempty"`
	ThrottlingBurstLimit   *int     `json:"throttlingBurstLimit,omitempty"`
	DetailedMetricsEnabled *bool    `json:"detailedMetricsEnabled,omitempty"`
	LoggingLevel           string   `json:"loggingLevel,omitempty"`
	DataTraceEnabled       *bool    `json:"dataTraceEnabled,omitempty"`
}

func newAPIGatewayV2(s *Server) *APIGatewayV2 {
	return &APIGatewayV2{s: s, apis: map[string]*HTTPAPI{}}
}

// AddAPI creates an HTTP API with its route keys.
func (a *APIGatewayV2) AddAPI(id, name string, routes ...string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.apis[id] = &HTTPAPI{Name: name, Routes: routes, Stages: map[string]*HTTPStage{}}
}

// AddStage creates a stage of an API added before.
func (a *APIGatewayV2) AddStage(api, stage string, st HTTPStage) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if st.Routes == nil {
		st.Routes = map[string]RouteSettings{}
	}
	a.apis[api].Stages[stage] = &st
}

// Stage returns a copy of a stage's state.
func (a *APIGatewayV2) Stage(api, stage string) HTTPStage {
	a.mu.Lock()
	defer a.mu.Unlock()
	st := *a.apis[api].Stages[stage]
	st.Routes = cloneRoutes(st.Routes)
	return st
}

func cloneRoutes(m map[string]RouteSettings) map[string]RouteSettings {
	out := make(map[string]RouteSettings, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// apigatewayv2Op names the operation of a /v2/apis request, "" for none.
func apigatewayv2Op(method, p string) string {
	rest, ok := strings.CutPrefix(p, "/v2/apis")
	if !ok {
		return ""
	}
	parts := strings.Split(strings.Trim(rest, "/"), "/")
	switch {
	case rest == "" || rest == "/":
		return map[string]string{http.MethodGet: "GetApis"}[method]
	case len(parts) == 2 && parts[1] == "stages" && method == http.MethodGet:
		return "GetStages"
	case len(parts) == 3 && parts[1] == "stages":
		return map[string]string{http.MethodGet: "GetStage", http.MethodPatch: "UpdateStage"}[method]
	}
	return ""
}

func (a *APIGatewayV2) serve(op string, r *request) response {
	a.mu.Lock()
	defer a.mu.Unlock()
	fail := func(e APIError) response { return encodeError("apigatewayv2", e) }
	ok := func(v any) response { return jsonResponse(v, "application/json") }
	parts := strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, "/v2/apis"), "/"), "/")
	if op == "GetApis" {
		return ok(a.listAPIs(r.URL.Query()))
	}
	api := a.apis[parts[0]]
	if api == nil {
		return fail(errorf(404, "NotFoundException", "Invalid API identifier specified %s", parts[0]))
	}
	if op == "GetStages" {
		var items []any
		for _, name := range slices.Sorted(mapKeys(api.Stages)) {
			items = append(items, renderHTTPStage(name, api.Stages[name]))
		}
		return ok(map[string]any{"items": items})
	}
	stage, err := url.PathUnescape(parts[2])
	st := api.Stages[stage]
	if err != nil || st == nil {
		return fail(errorf(404, "NotFoundException", "Invalid stage identifier specified"))
	}
	if op == "UpdateStage" {
		if e := updateHTTPStage(api, st, r.body); e != nil {
			return fail(*e)
		}
	}
	return ok(renderHTTPStage(stage, st))
}

// listAPIs answers GetApis a page at a time (nextToken, maxResults).
func (a *APIGatewayV2) listAPIs(q url.Values) map[string]any {
	ids := slices.Sorted(mapKeys(a.apis))
	size := 25
	if n := q.Get("maxResults"); n != "" {
		json.Unmarshal([]byte(n), &size)
	}
	pageIDs, next := page(ids, q.Get("nextToken"), max(size, 1))
	items := []any{}
	for _, id := range pageIDs {
		items = append(items, map[string]any{"apiId": id, "name": a.apis[id].Name, "protocolType": "HTTP",
			"apiEndpoint": "https://" + id + ".execute-api.us-east-1.amazonaws.com", "routeSelectionExpression": "$request.method $request.path"})
	}
	out := map[string]any{"items": items}
	if next != "" {
		out["nextToken"] = next
	}
	return out
}

func renderHTTPStage(name string, st *HTTPStage) map[string]any {
	return map[string]any{"stageName": name, "defaultRouteSettings": st.Default, "routeSettings": st.Routes,
		"createdDate": "2026-01-01T00:00:00Z", "lastUpdatedDate": "2026-01-01T00:00:00Z"}
}

// updateHTTPStage applies an UpdateStage body, all or nothing.
func updateHTTPStage(api *HTTPAPI, st *HTTPStage, body []byte) *APIError {
	var in struct {
		DefaultRouteSettings *RouteSettings           `json:"defaultRouteSettings"`
		RouteSettings        map[string]RouteSettings `json:"routeSettings"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		e := errorf(400, "BadRequestException", "Invalid request body: %v", err)
		return &e
	}
	if in.DefaultRouteSettings != nil {
		if e := checkRouteThrottle(*in.DefaultRouteSettings); e != nil {
			return e
		}
	}
	for key, rs := range in.RouteSettings {
		if !slices.Contains(api.Routes, key) {
			e := errorf(404, "NotFoundException", "Unable to find Route by key %s within the provided RouteSettings", key)
			return &e
		}
		if e := checkRouteThrottle(rs); e != nil {
			return e
		}
	}
	if in.DefaultRouteSettings != nil {
		st.Default = *in.DefaultRouteSettings
	}
	for key, rs := range in.RouteSettings {
		st.Routes[key] = rs
	}
	return nil
}

func checkRouteThrottle(rs RouteSettings) *APIError {
	if r := rs.ThrottlingRateLimit; r != nil && (*r < 0 || *r > 10000) {
		e := errorf(400, "BadRequestException", "Rate limit %v exceeds the account's limit of 10000", *r)
		return &e
	}
	if b := rs.ThrottlingBurstLimit; b != nil && (*b < 0 || *b > 5000) {
		e := errorf(400, "BadRequestException", "Burst limit %d exceeds the account's limit of 5000", *b)
		return &e
	}
	return nil
}
