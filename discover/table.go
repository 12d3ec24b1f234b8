package discover

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	apigwtypes "github.com/aws/aws-sdk-go-v2/service/apigateway/types"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/autotuner/autotuner/config"
)

type (
	apigatewayMethodSetting = apigwtypes.MethodSetting
	apigatewayThrottle      = apigwtypes.ThrottleSettings
	apigatewayAPIStage      = apigwtypes.ApiStage
)

// table is a table's read and write limits: provisioned capacity, or an
// on-demand table's maximum throughput.
func table(t *ddbtypes.TableDescription, scaled map[string]string) []Resource {
	name := aws.ToString(t.TableName)
	onDemand := t.BillingModeSummary != nil && t.BillingModeSummary.BillingMode == ddbtypes.BillingModePayPerRequest
	var out []Resource
	for _, rw := range []string{"read", "write"} {
		r := Resource{Kind: config.DynamoDBProvisioned, Name: name + ":" + rw, ARN: aws.ToString(t.TableArn),
			Keys: [][2]string{{"table", name}, {"capacity", rw}}}
		metric := "ConsumedReadCapacityUnits"
		dim := "ReadCapacityUnits"
		if rw == "write" {
			metric, dim = "ConsumedWriteCapacityUnits", "WriteCapacityUnits"
		}
		r.Metric = Metric{Namespace: "AWS/DynamoDB", Name: metric, Stat: "Sum", PerSecond: true, Dims: [][2]string{{"TableName", name}}, Unit: rw + " units/s"}
		switch {
		case onDemand:
			r.Kind = config.DynamoDBOnDemandMax
			r.Found = fmt.Sprintf("on-demand table %s, no maximum %s request units", name, rw)
			if od := t.OnDemandThroughput; od != nil {
				v := aws.ToInt64(od.MaxReadRequestUnits)
				if rw == "write" {
					v = aws.ToInt64(od.MaxWriteRequestUnits)
				}
				if v > 0 {
					r.Current, r.HasLimit = float64(v), true
					r.Found = fmt.Sprintf("on-demand table %s, maximum %d %s request units/s", name, v, rw)
				}
			}
		case t.ProvisionedThroughput != nil:
			v := aws.ToInt64(t.ProvisionedThroughput.ReadCapacityUnits)
			if rw == "write" {
				v = aws.ToInt64(t.ProvisionedThroughput.WriteCapacityUnits)
			}
			r.Current, r.HasLimit = float64(v), v > 0
			r.Found = fmt.Sprintf("provisioned table %s, %d %s capacity units", name, v, rw)
		}
		if rng, ok := scaled["table/"+name+"|dynamodb:table:"+dim]; ok {
			r.AutoScaling = rng
		}
		out = append(out, r)
	}
	return out
}
