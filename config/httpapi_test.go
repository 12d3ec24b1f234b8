package config

import (
	"strings"
	"testing"

	"pgregory.net/rapid"
)

func TestHTTPStageTargets(t *testing.T) {
	t.Run("default route", func(t *testing.T) {
		tg := parseOne(t, "kind: apigatewayv2-stage\n    api_id: a1b2c3d4\n    stage: $default\n    min: 10\n    max: 2000")
		if tg.APIID != "a1b2c3d4" || tg.Stage != "$default" || !tg.DefaultRoute() || tg.Limit != "rate" || tg.BurstRatio != 2 {
			t.Fatalf("target %+v", tg)
		}
		if got, want := tg.Identity(), "http api stage a1b2c3d4/$default default route rate"; got != want {
			t.Errorf("identity %q, want %q", got, want)
		}
		if tg.Resolution() != 0.01 {
			t.Errorf("resolution %v: a rate is a decimal", tg.Resolution())
		}
		// The preset reads the HTTP API's own metric names, under ApiId.
		want := map[string]string{"requests": "Count", "errors_4xx": "4xx"}
		for name, metric := range want {
			s := tg.Signals[name]
			if s == nil || s.Metric != metric || s.Dimensions["ApiId"] != "a1b2c3d4" || s.Dimensions["Stage"] != "$default" || len(s.Dimensions) != 2 {
				t.Errorf("signal %s = %+v, want %s by ApiId and Stage", name, s, metric)
			}
		}
	})
	t.Run("one route", func(t *testing.T) {
		tg := parseOne(t, "kind: apigatewayv2-stage\n    api_id: a1b2c3d4\n    stage: prod\n    route: GET /items/{id}\n    limit: burst\n    signals:\n      r: {namespace: AWS/ApiGateway, metric: Count, stat: Sum}\n    policy:\n      autotuner: {utilization: {signal: r, target: 70%}}\n    min: 1\n    max: 5000")
		if tg.Route != "GET /items/{id}" || tg.DefaultRoute() || tg.Resolution() != 1 {
			t.Fatalf("target %+v", tg)
		}
		if got, want := tg.Identity(), "http api stage a1b2c3d4/prod route GET /items/{id} burst"; got != want {
			t.Errorf("identity %q, want %q", got, want)
		}
	})
	t.Run("route metrics", func(t *testing.T) {
		tg := parseOne(t, "kind: apigatewayv2-stage\n    api_id: a1\n    stage: prod\n    route: POST /orders\n    min: 1\n    max: 100")
		d := tg.Signals["requests"].Dimensions
		if d["Method"] != "POST" || d["Resource"] != "/orders" || d["ApiId"] != "a1" {
			t.Errorf("route dimensions %v", d)
		}
	})
	t.Run("default and one route are two knobs", func(t *testing.T) {
		_, err := Parse("p.yaml", []byte(`version: 1
targets:
  - {name: a, kind: apigatewayv2-stage, api_id: a1, stage: prod, min: 1, max: 10}
  - {name: b, kind: apigatewayv2-stage, api_id: a1, stage: prod, route: GET /x, min: 1, max: 10}
`))
		if err != nil {
			t.Fatal(err)
		}
	})
}

func TestHTTPStageErrors(t *testing.T) {
	for _, c := range []struct{ name, body, want string }{
		{"api_id missing", "kind: apigatewayv2-stage\n    stage: prod\n    min: 1\n    max: 10", "api_id: is required for kind apigatewayv2-stage"},
		{"stage missing", "kind: apigatewayv2-stage\n    api_id: a1\n    min: 1\n    max: 10", "stage: is required for kind apigatewayv2-stage"},
		{"bad route", "kind: apigatewayv2-stage\n    api_id: a1\n    stage: prod\n    route: /items/GET\n    min: 1\n    max: 10", `route: must be a route key such as "GET /items"`},
		{"bad api id", "kind: apigatewayv2-stage\n    api_id: a/1\n    stage: prod\n    min: 1\n    max: 10", "api_id: must be the HTTP API's id"},
		{"rate over account", "kind: apigatewayv2-stage\n    api_id: a1\n    stage: prod\n    min: 1\n    max: 10001", "max: must be <= 10000 (the account's API Gateway rate limit)"},
		{"burst over account", "kind: apigatewayv2-stage\n    api_id: a1\n    stage: prod\n    limit: burst\n    burst_ratio: 0\n    signals:\n      r: {namespace: AWS/ApiGateway, metric: Count, stat: Sum}\n    policy:\n      autotuner: {utilization: {signal: r, target: 70%}}\n    min: 1\n    max: 5001", "max: must be <= 5000"},
		{"method is REST's", "kind: apigatewayv2-stage\n    api_id: a1\n    stage: prod\n    method: /items/GET\n    min: 1\n    max: 10", "method: unknown key"},
		{"burst ratio", "kind: apigatewayv2-stage\n    api_id: a1\n    stage: prod\n    burst_ratio: 0.5\n    min: 1\n    max: 10", "burst_ratio: must be 0"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("p.yaml", []byte("version: 1\ntargets:\n  - name: x\n    "+c.body+"\n"))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
		})
	}
}

// Two targets on one route of one stage fight: the overlap is an error
// naming both.
func TestHTTPStageConflict(t *testing.T) {
	_, err := Parse("p.yaml", []byte(`version: 1
targets:
  - {name: a, kind: apigatewayv2-stage, api_id: a1, stage: prod, route: GET /x, min: 1, max: 10}
  - {name: b, kind: apigatewayv2-stage, api_id: a1, stage: prod, route: GET /x, min: 1, max: 20}
`))
	if err == nil || !strings.Contains(err.Error(), "controls the same resource") {
		t.Fatalf("err = %v", err)
	}
}

// Every route key the pattern accepts is METHOD and a path (or
// $default), and its metric dimensions split back into the same key.
func TestRouteKeyProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		method := rapid.SampledFrom([]string{"ANY", "GET", "PUT", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS"}).Draw(t, "method")
		segs := rapid.SliceOfN(rapid.StringMatching(`[a-z0-9]{1,8}|\{[a-z]{1,5}\}|\{proxy\+\}`), 0, 4).Draw(t, "segs")
		key := method + " /" + strings.Join(segs, "/")
		if !routeKeyRE.MatchString(key) {
			t.Fatalf("route key %q rejected", key)
		}
		d := httpRouteDims(key)
		if len(d) != 2 || d[0][1]+" "+d[1][1] != key {
			t.Fatalf("dims %v do not split %q", d, key)
		}
		bad := rapid.SampledFrom([]string{"get /x", "GET", "GET  /x", "/x GET", "GET x", "FETCH /x", " GET /x"}).Draw(t, "bad")
		if routeKeyRE.MatchString(bad) {
			t.Fatalf("route key %q accepted", bad)
		}
	})
}
