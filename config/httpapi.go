package config

import (
	"regexp"
	"strings"
)

// An apigatewayv2-stage target turns an HTTP API stage's throttling (API
// Gateway v2): the stage's default route settings, which every route
// without its own follows, or one route's settings, keyed by its route
// key:
//
//	kind: apigatewayv2-stage
//	api_id: a1b2c3d4
//	stage: prod          # "$default" for the default stage
//	route: GET /items    # omitted: the default route settings
//
// Throttling of HTTP APIs: https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-throttling.html
// A route's limits and the default route's may not exceed the account's
// (10,000 requests/s, burst 5,000, per Region, shared with REST and
// WebSocket APIs: https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html),
// which checkBounds enforces as for the REST kinds.

// routeKeyRE is an HTTP API route key: "METHOD /path" (path parameters
// and greedy {proxy+} included) or the catch-all "$default".
var routeKeyRE = regexp.MustCompile(`^(\$default|(ANY|GET|PUT|POST|DELETE|PATCH|HEAD|OPTIONS) /\S*)$`)

// apiIDRE is an API Gateway API id: ten lower-case letters and digits in
// AWS; any short token in emulators.
var apiIDRE = regexp.MustCompile(`^[A-Za-z0-9]{1,64}$`)

// stageNameRE is a stage name: letters, digits, '-', '_', or "$default".
var stageNameRE = regexp.MustCompile(`^(\$default|[A-Za-z0-9_-]{1,128})$`)

// APIGateway reports whether a kind is an API Gateway throttle, whose
// rate is a decimal and whose burst may follow the rate.
func (k Kind) APIGateway() bool {
	return k == APIGatewayUsagePlan || k == APIGatewayStage || k == APIGatewayV2Stage
}

// DefaultRoute reports whether an apigatewayv2-stage target turns the
// stage's default route settings rather than one route's.
func (t *Target) DefaultRoute() bool { return t.Route == "" }

func (t *Target) httpStageIdentity() string {
	route := "default route"
	if !t.DefaultRoute() {
		route = "route " + t.Route
	}
	return "http api stage " + t.APIID + "/" + t.Stage + " " + route + " " + t.limitName()
}

// httpStageIdentity reads an apigatewayv2-stage's api_id, stage and
// route, and its limit and burst_ratio as for the REST kinds.
func (d *decoder) httpStageIdentity(o *obj, t *Target, need func(string, *string)) {
	need("api_id", &t.APIID)
	need("stage", &t.Stage)
	if t.APIID != "" {
		o.check(apiIDRE.MatchString(t.APIID), "api_id", "must be the HTTP API's id (letters and digits, as in a1b2c3d4), got %q", t.APIID)
	}
	if t.Stage != "" {
		o.check(stageNameRE.MatchString(t.Stage), "stage", "must be a stage name (letters, digits, '-', '_') or $default, got %q", t.Stage)
	}
	if o.str("route", &t.Route) {
		o.check(routeKeyRE.MatchString(t.Route), "route", "must be a route key such as \"GET /items\", \"ANY /{proxy+}\" or \"$default\" (omit it for the stage's default route settings), got %q", t.Route)
	}
	d.apiLimit(o, t)
}

// httpRouteDims are the CloudWatch dimensions of an HTTP API route's
// detailed metrics: the route key split into Method and Resource
// (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-metrics.html).
// The "$default" route has none of its own: its figures are the stage's.
func httpRouteDims(route string) [][2]string {
	method, resource, ok := strings.Cut(route, " ")
	if !ok {
		return nil
	}
	return [][2]string{{"Method", method}, {"Resource", resource}}
}

// httpAPISignals are the preset's signals for an HTTP API stage or route.
// HTTP APIs publish Count, 4xx and 5xx (not REST's 4XXError and
// 5XXError) under ApiId and Stage.
func httpAPISignals(k presetKeys) []presetSignal {
	dims := [][2]string{{"ApiId", k["api_id"]}, {"Stage", k["stage"]}}
	// Per-route figures exist only with the stage's detailed metrics on.
	dims = append(dims, httpRouteDims(k["route"])...)
	return []presetSignal{
		// Traffic: a late minute holds, it never reads as no traffic.
		{Name: "requests", Namespace: "AWS/ApiGateway", Metric: "Count", Stat: "Sum", Dims: dims, PerSecond: true},
		// The 429s of throttling are among the 4xx, with every other
		// client error: the preset reads them all as throttling.
		{Name: "errors_4xx", Namespace: "AWS/ApiGateway", Metric: "4xx", Stat: "Sum", Dims: dims, Missing: MissingZero},
	}
}
