package discover

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	v2types "github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"

	"github.com/autotuner/autotuner/config"
)

// APIGatewayV2API is what discovery asks API Gateway about HTTP APIs.
type APIGatewayV2API interface {
	GetApis(ctx context.Context, in *apigatewayv2.GetApisInput, opts ...func(*apigatewayv2.Options)) (*apigatewayv2.GetApisOutput, error)
	GetStages(ctx context.Context, in *apigatewayv2.GetStagesInput, opts ...func(*apigatewayv2.Options)) (*apigatewayv2.GetStagesOutput, error)
}

var _ APIGatewayV2API = (*apigatewayv2.Client)(nil)

// httpAPIs lists every HTTP API stage: one resource for its default route
// settings, and one per route with a throttle of its own. WebSocket APIs,
// which API Gateway v2 lists too, are skipped.
func (c *Clients) httpAPIs(ctx context.Context) ([]Resource, error) {
	if c.APIGatewayV2 == nil {
		return nil, nil
	}
	var out []Resource
	var token *string
	for len(out) < maxItems {
		page, err := c.APIGatewayV2.GetApis(ctx, &apigatewayv2.GetApisInput{NextToken: token})
		if err != nil {
			return nil, fmt.Errorf("GetApis: %w", err)
		}
		for _, api := range page.Items {
			if api.ProtocolType != v2types.ProtocolTypeHttp {
				continue
			}
			rs, err := c.httpStages(ctx, aws.ToString(api.ApiId), aws.ToString(api.Name))
			if err != nil {
				return nil, err
			}
			out = append(out, rs...)
		}
		if token = page.NextToken; aws.ToString(token) == "" {
			break
		}
	}
	return out, nil
}

func (c *Clients) httpStages(ctx context.Context, id, name string) ([]Resource, error) {
	var out []Resource
	var token *string
	for len(out) < maxItems {
		page, err := c.APIGatewayV2.GetStages(ctx, &apigatewayv2.GetStagesInput{ApiId: aws.String(id), NextToken: token})
		if err != nil {
			return nil, fmt.Errorf("GetStages %s: %w", id, err)
		}
		for _, s := range page.Items {
			out = append(out, c.httpStage(id, name, aws.ToString(s.StageName), s.DefaultRouteSettings, s.RouteSettings)...)
		}
		if token = page.NextToken; aws.ToString(token) == "" {
			break
		}
	}
	return out, nil
}

// httpStage is a stage's default route knob, then its routes' own, in
// route-key order.
func (c *Clients) httpStage(api, apiName, stage string, def *v2types.RouteSettings, routes map[string]v2types.RouteSettings) []Resource {
	base := Resource{Kind: config.APIGatewayV2Stage, Name: apiName + ":" + stage,
		ARN:    fmt.Sprintf("arn:%s:apigateway:%s::/apis/%s", partitionOf(c.Region), c.Region, api),
		Keys:   [][2]string{{"api_id", api}, {"stage", stage}},
		Metric: Metric{Namespace: "AWS/ApiGateway", Name: "Count", Stat: "Sum", PerSecond: true, Dims: [][2]string{{"ApiId", api}, {"Stage", stage}}, Unit: "requests/s"}}
	what := fmt.Sprintf("HTTP API %s (%s) stage %s", apiName, api, stage)
	r := base
	r.Found = what + ", no default route throttle"
	if def != nil && def.ThrottlingRateLimit != nil {
		r.Current, r.HasLimit = *def.ThrottlingRateLimit, true
		r.Found = fmt.Sprintf("%s, default route throttle %g requests/s, burst %d", what, *def.ThrottlingRateLimit, aws.ToInt32(def.ThrottlingBurstLimit))
	}
	out := []Resource{r}
	keys := make([]string, 0, len(routes))
	for k := range routes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		rs := routes[k]
		if rs.ThrottlingRateLimit == nil {
			continue // follows the default route
		}
		r := base
		r.Name = base.Name + ":" + k
		r.Keys = append(append([][2]string(nil), base.Keys...), [2]string{"route", k})
		r.Current, r.HasLimit = *rs.ThrottlingRateLimit, true
		r.Found = fmt.Sprintf("%s route %s, throttle %g requests/s, burst %d", what, k, *rs.ThrottlingRateLimit, aws.ToInt32(rs.ThrottlingBurstLimit))
		// A route's own figures need the stage's detailed metrics.
		if method, resource, ok := strings.Cut(k, " "); ok {
			r.Metric.Dims = append(append([][2]string(nil), base.Metric.Dims...), [2]string{"Method", method}, [2]string{"Resource", resource})
		}
		out = append(out, r)
	}
	return out
}

// partitionOf is the partition of a region, for ARNs.
func partitionOf(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	}
	return "aws"
}
