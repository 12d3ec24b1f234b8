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

// table is a table's read and write limits, and each global secondary
// index's: provisioned capacity, or on-demand maximum throughput.
func table(t *ddbtypes.TableDescription, scaled map[string]string) []Resource {
	name := aws.ToString(t.TableName)
	onDemand := t.BillingModeSummary != nil && t.BillingModeSummary.BillingMode == ddbtypes.BillingModePayPerRequest
	out := capacities(knob{table: name, arn: aws.ToString(t.TableArn), onDemand: onDemand, prov: t.ProvisionedThroughput, od: t.OnDemandThroughput}, scaled)
	for _, g := range t.GlobalSecondaryIndexes {
		k := knob{table: name, index: aws.ToString(g.IndexName), arn: aws.ToString(t.TableArn), onDemand: onDemand, od: g.OnDemandThroughput}
		if g.ProvisionedThroughput != nil {
			k.prov = &ddbtypes.ProvisionedThroughputDescription{ReadCapacityUnits: g.ProvisionedThroughput.ReadCapacityUnits, WriteCapacityUnits: g.ProvisionedThroughput.WriteCapacityUnits}
		}
		out = append(out, capacities(k, scaled)...)
	}
	return out
}

// knob is a table or an index, with its capacity as DescribeTable gives it.
type knob struct {
	table, index, arn string
	onDemand          bool
	prov              *ddbtypes.ProvisionedThroughputDescription
	od                *ddbtypes.OnDemandThroughput
}

// capacities are a table's or an index's read and write limits.
func capacities(k knob, scaled map[string]string) []Resource {
	what, resID, dimPrefix := "table "+k.table, "table/"+k.table, "dynamodb:table:"
	keys := [][2]string{{"table", k.table}}
	dims := [][2]string{{"TableName", k.table}}
	name := k.table
	if k.index != "" {
		what, resID, dimPrefix = "table "+k.table+" index "+k.index, resID+"/index/"+k.index, "dynamodb:index:"
		keys = append(keys, [2]string{"index", k.index})
		dims = append(dims, [2]string{"GlobalSecondaryIndexName", k.index})
		name += "." + k.index
	}
	var out []Resource
	for _, rw := range []string{"read", "write"} {
		r := Resource{Kind: config.DynamoDBProvisioned, Name: name + ":" + rw, ARN: k.arn, Keys: append(append([][2]string(nil), keys...), [2]string{"capacity", rw})}
		metric, dim := "ConsumedReadCapacityUnits", "ReadCapacityUnits"
		if rw == "write" {
			metric, dim = "ConsumedWriteCapacityUnits", "WriteCapacityUnits"
		}
		r.Metric = Metric{Namespace: "AWS/DynamoDB", Name: metric, Stat: "Sum", PerSecond: true, Dims: dims, Unit: rw + " units/s"}
		switch {
		case k.onDemand:
			r.Kind = config.DynamoDBOnDemandMax
			r.Found = fmt.Sprintf("on-demand %s, no maximum %s request units", what, rw)
			if k.od != nil {
				v := aws.ToInt64(k.od.MaxReadRequestUnits)
				if rw == "write" {
					v = aws.ToInt64(k.od.MaxWriteRequestUnits)
				}
				if v > 0 {
					r.Current, r.HasLimit = float64(v), true
					r.Found = fmt.Sprintf("on-demand %s, maximum %d %s request units/s", what, v, rw)
				}
			}
		case k.prov != nil:
			v := aws.ToInt64(k.prov.ReadCapacityUnits)
			if rw == "write" {
				v = aws.ToInt64(k.prov.WriteCapacityUnits)
			}
			r.Current, r.HasLimit = float64(v), v > 0
			r.Found = fmt.Sprintf("provisioned %s, %d %s capacity units", what, v, rw)
		}
		if rng, ok := scaled[resID+"|"+dimPrefix+dim]; ok {
			r.AutoScaling = rng
		}
		out = append(out, r)
	}
	return out
}
