package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/autotuner/autotuner/config"
)

// TestIAMPolicyHTTPAPI: an HTTP API stage target gets GET and PATCH on its
// stage's ARN (reads only when dry-run), in the region's partition; a
// selector entry gets the listings.
func TestIAMPolicyHTTPAPI(t *testing.T) {
	for _, c := range []struct{ region, part string }{{"us-east-1", "aws"}, {"cn-north-1", "aws-cn"}, {"us-gov-west-1", "aws-us-gov"}} {
		t.Run(c.region, func(t *testing.T) {
			doc := `version: 1
defaults: {region: ` + c.region + `}
targets:
  - {name: a, kind: apigatewayv2-stage, api_id: a1b2c3d4, stage: prod, route: GET /items, min: 1, max: 400}
  - {name: b, kind: apigatewayv2-stage, api_id: e5f6g7h8, stage: $default, min: 1, max: 400, dry_run: true}
  - {name: c, kind: apigatewayv2-stage, select: {name: "shop*"}, min: 1, max: 400}
`
			f, err := config.Parse("p.yaml", []byte(doc))
			if err != nil {
				t.Fatal(err)
			}
			got := map[string][]string{}
			for _, s := range buildIAMPolicy(f, c.region, "123456789012").Statement {
				got[s.Sid] = append(append(got[s.Sid], s.Action...), s.Resource...)
			}
			arn := "arn:" + c.part + ":apigateway:" + c.region + "::/apis"
			want := map[string][]string{
				"ReadMetrics":                 {"cloudwatch:GetMetricData", "*"},
				"APIGatewayThrottles":         {"apigateway:GET", "apigateway:PATCH", arn + "/a1b2c3d4/stages/prod"},
				"APIGatewayThrottlesReadOnly": {"apigateway:GET", arn + "/e5f6g7h8/stages/$default"},
				"SelectHTTPAPIs":              {"apigateway:GET", arn, arn + "/*/stages"},
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("policy (-want +got):\n%s", d)
			}
		})
	}
}
