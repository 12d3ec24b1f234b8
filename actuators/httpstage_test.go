package actuators

import (
	"math"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"
	"pgregory.net/rapid"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/internal/awsclient"
	"github.com/autotuner/autotuner/internal/awsfake"
	"github.com/autotuner/autotuner/policy"
)

func f64(v float64) *float64 { return &v }
func intp(v int) *int        { return &v }
func boolp(v bool) *bool     { return &v }

// updateBody is an UpdateStage request as sent.
type updateBody struct {
	DefaultRouteSettings *awsfake.RouteSettings           `json:"defaultRouteSettings"`
	RouteSettings        map[string]awsfake.RouteSettings `json:"routeSettings"`
}

func updates(t *testing.T, fake *awsfake.Server) []updateBody {
	t.Helper()
	var out []updateBody
	for _, c := range fake.Calls("UpdateStage") {
		if c.Service != "apigatewayv2" || c.Method != "PATCH" {
			t.Fatalf("UpdateStage call %s %s to %s", c.Method, c.Path, c.Service)
		}
		var b updateBody
		if err := jsonUnmarshal(c.Body, &b); err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

func httpFake(t *testing.T) (*awsfake.Server, *HTTPStage) {
	fake, conn := connect(t, awsclient.Options{})
	fake.APIGatewayV2.AddAPI("a1", "shop", "GET /items", "POST /orders", "$default")
	fake.APIGatewayV2.AddStage("a1", "prod", awsfake.HTTPStage{
		Default: awsfake.RouteSettings{ThrottlingRateLimit: f64(100), ThrottlingBurstLimit: intp(200), DetailedMetricsEnabled: boolp(true)},
		Routes:  map[string]awsfake.RouteSettings{"POST /orders": {ThrottlingRateLimit: f64(20), ThrottlingBurstLimit: intp(40)}},
	})
	return fake, &HTTPStage{Conn: conn}
}

func httpTarget(route, limit string) *config.Target {
	ratio := 2.0
	if limit == "burst" {
		ratio = 0
	}
	return &config.Target{Name: "shop", Kind: config.APIGatewayV2Stage, APIID: "a1", Stage: "prod", Route: route, Limit: limit, BurstRatio: ratio, Min: 1, Max: 1000}
}

func TestHTTPStageDefaultRoute(t *testing.T) {
	fake, s := httpFake(t)
	tg := httpTarget("", "rate")
	st, err := s.Current(ctx, tg, t0)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "state", controller.State{Value: 100, Constraints: policy.Constraints{Ceiling: AccountRate}, Burst: 200, HaveBurst: true}, st)
	if err := s.Apply(ctx, tg, 100, 150.5, t0); err != nil {
		t.Fatal(err)
	}
	// The default route settings are sent whole, detailed metrics kept,
	// the burst following the rate by the ratio; no route is named.
	ups := updates(t, fake)
	want := awsfake.RouteSettings{ThrottlingRateLimit: f64(150.5), ThrottlingBurstLimit: intp(301), DetailedMetricsEnabled: boolp(true)}
	diff(t, "request", []updateBody{{DefaultRouteSettings: &want}}, ups)
	if p := fake.Calls("UpdateStage")[0].Path; p != "/v2/apis/a1/stages/prod" {
		t.Errorf("path %s", p)
	}
	got := fake.APIGatewayV2.Stage("a1", "prod")
	diff(t, "default after", want, got.Default)
	diff(t, "routes after", map[string]awsfake.RouteSettings{"POST /orders": {ThrottlingRateLimit: f64(20), ThrottlingBurstLimit: intp(40)}}, got.Routes)
}

func TestHTTPStageRoute(t *testing.T) {
	fake, s := httpFake(t)
	tg := httpTarget("GET /items", "rate")
	// No setting of its own: the default route's applies, and the state
	// says so (nothing to revert to).
	st, err := s.Current(ctx, tg, t0)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "inherited state", controller.State{Value: 100, Constraints: policy.Constraints{Ceiling: AccountRate}, Unset: true}, st)
	if err := s.Apply(ctx, tg, 100, 60, t0); err != nil {
		t.Fatal(err)
	}
	diff(t, "request", []updateBody{{RouteSettings: map[string]awsfake.RouteSettings{"GET /items": {ThrottlingRateLimit: f64(60), ThrottlingBurstLimit: intp(120)}}}}, updates(t, fake))
	got := fake.APIGatewayV2.Stage("a1", "prod")
	if len(got.Routes) != 2 || *got.Routes["POST /orders"].ThrottlingRateLimit != 20 || *got.Default.ThrottlingRateLimit != 100 {
		t.Errorf("other settings moved: %+v", got)
	}

	// An increase keeps a larger burst in force.
	tg2 := httpTarget("POST /orders", "rate")
	fake.APIGatewayV2.AddStage("a1", "prod", awsfake.HTTPStage{Routes: map[string]awsfake.RouteSettings{"POST /orders": {ThrottlingRateLimit: f64(100), ThrottlingBurstLimit: intp(333)}}})
	if st, err = s.Current(ctx, tg2, t0); err != nil || st.Value != 100 || st.Burst != 333 || st.Unset {
		t.Fatalf("state %+v, %v", st, err)
	}
	if err := s.Apply(ctx, tg2, 100, 130, t0); err != nil {
		t.Fatal(err)
	}
	r := fake.APIGatewayV2.Stage("a1", "prod").Routes["POST /orders"]
	if *r.ThrottlingRateLimit != 130 || *r.ThrottlingBurstLimit != 333 {
		t.Errorf("raised to %v/%v, want 130/333", *r.ThrottlingRateLimit, *r.ThrottlingBurstLimit)
	}
	// Revert puts back both.
	if err := s.RestoreBurst(ctx, tg2, 100, 333, t0); err != nil {
		t.Fatal(err)
	}
	r = fake.APIGatewayV2.Stage("a1", "prod").Routes["POST /orders"]
	if *r.ThrottlingRateLimit != 100 || *r.ThrottlingBurstLimit != 333 {
		t.Errorf("restored to %v/%v, want 100/333", *r.ThrottlingRateLimit, *r.ThrottlingBurstLimit)
	}
}

func TestHTTPStageBurst(t *testing.T) {
	fake, s := httpFake(t)
	tg := httpTarget("POST /orders", "burst")
	st, err := s.Current(ctx, tg, t0)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "state", controller.State{Value: 40, Constraints: policy.Constraints{Ceiling: AccountBurst}}, st)
	if err := s.Apply(ctx, tg, 40, 90, t0); err != nil {
		t.Fatal(err)
	}
	// The burst moves; the rate in force is sent unchanged with it.
	diff(t, "request", []updateBody{{RouteSettings: map[string]awsfake.RouteSettings{"POST /orders": {ThrottlingRateLimit: f64(20), ThrottlingBurstLimit: intp(90)}}}}, updates(t, fake))
}

func TestHTTPStageErrors(t *testing.T) {
	fake, s := httpFake(t)
	missing := httpTarget("", "rate")
	missing.Stage = "nope"
	_, err := s.Current(ctx, missing, t0)
	wantClass(t, err, controller.ClassNotFound)

	// A route the API does not have: the service refuses it, by name.
	ghost := httpTarget("GET /ghost", "rate")
	wantClass(t, s.Apply(ctx, ghost, 100, 50, t0), controller.ClassNotFound)

	// Above the account's limit: refused before any write.
	fake.Reset()
	wantClass(t, s.Apply(ctx, httpTarget("", "rate"), 100, AccountRate+1, t0), controller.ClassInvalid)
	if n := len(fake.Calls("UpdateStage")); n != 0 {
		t.Errorf("%d UpdateStage calls for a refused value", n)
	}

	// Throttled by the management quota: a throttled error, retried by
	// the controller on a later tick.
	fake.Fail("GetStage", awsfake.APIError{Status: 429, Code: "TooManyRequestsException", Message: "Too Many Requests"})
	fake.Fail("GetStage", awsfake.APIError{Status: 429, Code: "TooManyRequestsException", Message: "Too Many Requests"})
	fake.Fail("GetStage", awsfake.APIError{Status: 429, Code: "TooManyRequestsException", Message: "Too Many Requests"})
	_, err = s.Current(ctx, httpTarget("", "rate"), t0)
	wantClass(t, err, controller.ClassThrottled)
}

// A change spends its read and its write from the tick's budget together:
// with one call left it does neither.
func TestHTTPStageBudget(t *testing.T) {
	fake, conn := connect(t, awsclient.Options{BudgetCaps: map[awsclient.Plane]int{awsclient.PlaneAPIGateway: 1}})
	fake.APIGatewayV2.AddAPI("a1", "shop")
	fake.APIGatewayV2.AddStage("a1", "prod", awsfake.HTTPStage{})
	s := &HTTPStage{Conn: conn}
	wantClass(t, s.Apply(ctx, httpTarget("", "rate"), 100, 50, t0), controller.ClassThrottled)
	if n := len(fake.Calls("")); n != 0 {
		t.Errorf("%d calls made without the budget for both", n)
	}
}

// Whatever the stage holds, the request sets exactly the knob's rate and
// burst, keeps its detailed metrics, drops the WebSocket-only logging
// settings, names no other route, and never carries a value past the
// account's limits.
func TestHTTPStageUpdateProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		route := rapid.SampledFrom([]string{"", "GET /items", "$default"}).Draw(t, "route")
		tg := &config.Target{Kind: config.APIGatewayV2Stage, APIID: "a1", Stage: "prod", Route: route, Limit: "rate"}
		own := types.RouteSettings{DetailedMetricsEnabled: aws.Bool(rapid.Bool().Draw(t, "metrics")), LoggingLevel: types.LoggingLevel(rapid.SampledFrom([]string{"", "INFO", "OFF"}).Draw(t, "logging")), DataTraceEnabled: aws.Bool(rapid.Bool().Draw(t, "trace"))}
		rate := rapid.Float64Range(-10, 2*AccountRate).Draw(t, "rate")
		burst := rapid.Int64Range(-10, 2*AccountBurst).Draw(t, "burst")
		in, err := httpStageUpdate(tg, own, rate, burst)
		r := math.Round(rate*100) / 100
		if r < 0 || r > AccountRate || burst < 0 || burst > AccountBurst {
			if err == nil {
				t.Fatalf("rate %v burst %d accepted", rate, burst)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		var got types.RouteSettings
		if route == "" {
			if in.DefaultRouteSettings == nil || in.RouteSettings != nil {
				t.Fatalf("default route request %+v", in)
			}
			got = *in.DefaultRouteSettings
		} else {
			if in.DefaultRouteSettings != nil || len(in.RouteSettings) != 1 {
				t.Fatalf("route request %+v", in)
			}
			got = in.RouteSettings[route]
		}
		if *got.ThrottlingRateLimit != r || int64(*got.ThrottlingBurstLimit) != burst || *got.DetailedMetricsEnabled != *own.DetailedMetricsEnabled || got.LoggingLevel != "" || got.DataTraceEnabled != nil {
			t.Fatalf("settings %+v from %+v, rate %v burst %d", got, own, rate, burst)
		}
	})
}

// The throttle in force is the route's own, else the default route's,
// else the account's, field by field.
func TestHTTPThrottleInheritance(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		opt := func(name string, hi float64) *float64 {
			if rapid.Bool().Draw(t, name+"?") {
				return aws.Float64(rapid.Float64Range(0, hi).Draw(t, name))
			}
			return nil
		}
		opt32 := func(name string) *int32 {
			if rapid.Bool().Draw(t, name+"?") {
				return aws.Int32(rapid.Int32Range(0, AccountBurst).Draw(t, name))
			}
			return nil
		}
		def := &types.RouteSettings{ThrottlingRateLimit: opt("defRate", AccountRate), ThrottlingBurstLimit: opt32("defBurst")}
		rs := types.RouteSettings{ThrottlingRateLimit: opt("routeRate", AccountRate), ThrottlingBurstLimit: opt32("routeBurst")}
		limit := rapid.SampledFrom([]string{"rate", "burst"}).Draw(t, "limit")
		tg := &config.Target{Kind: config.APIGatewayV2Stage, Route: "GET /x", Limit: limit}
		th := readHTTPThrottle(tg, def, map[string]types.RouteSettings{"GET /x": rs})
		wantRate, wantBurst := float64(AccountRate), int32(AccountBurst)
		for _, s := range []types.RouteSettings{*def, rs} {
			if s.ThrottlingRateLimit != nil {
				wantRate = *s.ThrottlingRateLimit
			}
			if s.ThrottlingBurstLimit != nil {
				wantBurst = *s.ThrottlingBurstLimit
			}
		}
		wantUnset := limit == "rate" && rs.ThrottlingRateLimit == nil || limit == "burst" && rs.ThrottlingBurstLimit == nil
		if th.rate != wantRate || th.burst != wantBurst || th.unset != wantUnset {
			t.Fatalf("got %v/%v unset %v, want %v/%v unset %v", th.rate, th.burst, th.unset, wantRate, wantBurst, wantUnset)
		}
	})
}

// FuzzHTTPStageSettings feeds the settings a stage may report (any
// number, set or not) through the read and a change: the state stays a
// number, and a request is either refused or within the account's limits.
func FuzzHTTPStageSettings(f *testing.F) {
	f.Add(100.0, int32(200), true, true, 20.0, int32(40), true, false, 150.0)
	f.Add(math.NaN(), int32(-1), true, true, math.Inf(1), int32(1<<30), true, true, -5.0)
	f.Add(0.0, int32(0), false, false, 0.0, int32(0), false, false, 1e9)
	f.Fuzz(func(t *testing.T, defRate float64, defBurst int32, hasDefRate, hasDefBurst bool, rRate float64, rBurst int32, hasRRate, hasRBurst bool, to float64) {
		def := &types.RouteSettings{}
		if hasDefRate {
			def.ThrottlingRateLimit = aws.Float64(defRate)
		}
		if hasDefBurst {
			def.ThrottlingBurstLimit = aws.Int32(defBurst)
		}
		rs := types.RouteSettings{}
		if hasRRate {
			rs.ThrottlingRateLimit = aws.Float64(rRate)
		}
		if hasRBurst {
			rs.ThrottlingBurstLimit = aws.Int32(rBurst)
		}
		for _, route := range []string{"", "GET /x"} {
			tg := &config.Target{Kind: config.APIGatewayV2Stage, APIID: "a", Stage: "s", Route: route, Limit: "rate", BurstRatio: 2}
			s := &HTTPStage{}
			th := readHTTPThrottle(tg, def, map[string]types.RouteSettings{"GET /x": rs})
			st := s.state(tg, th)
			if st.Constraints.Ceiling != AccountRate {
				t.Fatalf("ceiling %v", st.Constraints.Ceiling)
			}
			burst, _ := s.bursts.nextBurst(tg, st.Value, to)
			in, err := httpStageUpdate(tg, th.own, to, burst)
			if err != nil {
				continue
			}
			got := in.DefaultRouteSettings
			if route != "" {
				v := in.RouteSettings[route]
				got = &v
			}
			if r := *got.ThrottlingRateLimit; math.IsNaN(r) || r < 0 || r > AccountRate || *got.ThrottlingBurstLimit < 0 || *got.ThrottlingBurstLimit > AccountBurst {
				t.Fatalf("request out of bounds: %v/%v", r, *got.ThrottlingBurstLimit)
			}
		}
	})
}

// The rate and the burst of one route, changed in parallel, both land:
// each change reads the stage after the other's write.
func TestHTTPStageParallelKnobs(t *testing.T) {
	fake, s := httpFake(t)
	rate, burst := httpTarget("POST /orders", "rate"), httpTarget("POST /orders", "burst")
	rate.BurstRatio = 0
	errs := make(chan error, 2)
	go func() { errs <- s.Apply(ctx, rate, 20, 35, t0) }()
	go func() { errs <- s.Apply(ctx, burst, 40, 90, t0) }()
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	r := fake.APIGatewayV2.Stage("a1", "prod").Routes["POST /orders"]
	if *r.ThrottlingRateLimit != 35 || *r.ThrottlingBurstLimit != 90 {
		t.Errorf("route %v/%v, want 35/90", *r.ThrottlingRateLimit, *r.ThrottlingBurstLimit)
	}
}
