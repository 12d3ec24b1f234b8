package discover_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	v2types "github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/discover"
	"github.com/autotuner/autotuner/internal/awsclient"
	"github.com/autotuner/autotuner/internal/testenv"
)

// init and selectors against moto's API Gateway v2: HTTP API stages with
// a default route throttle and a route's own are found, a stage without
// is left out of init, and a WebSocket API is skipped. (moto's tagging
// API knows no API Gateway resources: selection by tags is checked
// against the wire fake.)
func TestHTTPAPIsAgainstMoto(t *testing.T) {
	endpoint := testenv.Moto(t)
	motoEnv(t, endpoint)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	fac, err := awsclient.New(ctx, awsclient.Options{Region: "us-east-1", CloudWatchProtocol: "query"})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := fac.For("us-east-1", "")
	if err != nil {
		t.Fatal(err)
	}
	gw := cl.APIGatewayV2
	api, err := gw.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("httpshop"), ProtocolType: v2types.ProtocolTypeHttp})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gw.CreateRoute(ctx, &apigatewayv2.CreateRouteInput{ApiId: api.ApiId, RouteKey: aws.String("POST /orders")}); err != nil {
		t.Fatal(err)
	}
	stages := []*apigatewayv2.CreateStageInput{
		{ApiId: api.ApiId, StageName: aws.String("prod"),
			DefaultRouteSettings: &v2types.RouteSettings{ThrottlingRateLimit: aws.Float64(300), ThrottlingBurstLimit: aws.Int32(600)},
			RouteSettings:        map[string]v2types.RouteSettings{"POST /orders": {ThrottlingRateLimit: aws.Float64(40), ThrottlingBurstLimit: aws.Int32(80)}}},
		{ApiId: api.ApiId, StageName: aws.String("dev")},
	}
	for _, in := range stages {
		if _, err := gw.CreateStage(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	ws, err := gw.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("httpchat"), ProtocolType: v2types.ProtocolTypeWebsocket, RouteSelectionExpression: aws.String("$request.body.action")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gw.CreateStage(ctx, &apigatewayv2.CreateStageInput{ApiId: ws.ApiId, StageName: aws.String("live"), DefaultRouteSettings: &v2types.RouteSettings{ThrottlingRateLimit: aws.Float64(10), ThrottlingBurstLimit: aws.Int32(20)}}); err != nil {
		t.Fatal(err)
	}
	c := discover.FromAWS(cl, "json")

	out, err := discover.InitFile(ctx, c, nil, 14, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	f, err := config.Parse("init.yaml", out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"httpshop:prod", "httpshop:prod:POST-orders"} {
		if tg := f.Target(want); tg == nil || tg.Kind != config.APIGatewayV2Stage || tg.APIID != aws.ToString(api.ApiId) {
			t.Errorf("no HTTP API target %s in:\n%s", want, out)
		}
	}
	if r := f.Target("httpshop:prod:POST-orders"); r != nil && r.Route != "POST /orders" {
		t.Errorf("route %q", r.Route)
	}
	for _, s := range []string{"default route throttle 300 requests/s, burst 600", "route POST /orders, throttle 40 requests/s, burst 80"} {
		if !strings.Contains(string(out), s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
	}
	if strings.Contains(string(out), "httpchat") || strings.Contains(string(out), "httpshop:dev") {
		t.Errorf("lists a WebSocket API or a stage without a throttle:\n%s", out)
	}

	sel := &discover.Selector{Clients: func(region, role string) (*discover.Clients, error) { return c, nil }}
	src := `version: 1
defaults: {region: us-east-1}
targets:
  - {name: shop, kind: apigatewayv2-stage, select: {name: "httpshop:*"}, min: 1, max: 100}
`
	sf, err := config.ParseWith("select.yaml", []byte(src), config.Options{Selector: sel, Context: ctx})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tg := range sf.Targets {
		names = append(names, tg.Name)
	}
	if got := strings.Join(names, " "); got != "shop/httpshop:dev shop/httpshop:prod" {
		t.Errorf("selected %s", got)
	}
}
