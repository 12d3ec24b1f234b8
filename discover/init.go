package discover

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi"
	taggingschemas "github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi/schemas"
	"github.com/aws/smithy-go/transport/http/protocol/awsjson"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/internal/awsclient"
)

// TaggingProtocolEnv switches the Resource Groups Tagging API client from
// Smithy RPC v2 CBOR (the SDK's default) to AWS JSON 1.1 when set to
// "json", for emulators that lack CBOR.
const TaggingProtocolEnv = "AUTOTUNER_TAGGING_PROTOCOL"

// FromAWS are discovery's clients for one account and region; tagging is
// the value of TaggingProtocolEnv.
func FromAWS(cl *awsclient.Clients, tagging string) *Clients {
	t := resourcegroupstaggingapi.NewFromConfig(cl.Config, func(o *resourcegroupstaggingapi.Options) {
		if tagging == "json" {
			o.Protocol = awsjson.New11(taggingschemas.ResourceGroupsTaggingAPI_20170126)
		}
	})
	return &Clients{
		Region: cl.Key.Region, Lambda: cl.Lambda, APIGateway: cl.APIGateway, DynamoDB: cl.DynamoDB,
		AutoScaling: cl.AutoScaling, CloudWatch: cl.CloudWatch, Tagging: t, APIGatewayV2: cl.APIGatewayV2,
	}
}

// InitFile finds the account's limits, reads their history and writes a
// policies file, which must itself validate before it is returned.
func InitFile(ctx context.Context, c *Clients, tags map[string]string, days int, now time.Time) ([]byte, error) {
	rs, err := c.Find(ctx, Filter{Tags: tags})
	if err != nil {
		return nil, err
	}
	rs = worthListing(rs)
	peaks, err := c.Peaks(ctx, rs, now, days)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	if err := Render(&b, Header{Region: c.Region, Tags: tags, Days: days, At: now}, rs, peaks); err != nil {
		return nil, err
	}
	if _, err := config.Parse("init", []byte(b.String())); err != nil {
		return nil, fmt.Errorf("the file written would not validate (a bug; please report it):\n%v", err)
	}
	return []byte(b.String()), nil
}

// worthListing drops what would only be noise: functions without a
// reservation, plans and stages without a throttle. Mappings and
// on-demand tables without a maximum stay, commented out: setting one is
// a reasonable next step.
func worthListing(rs []Resource) []Resource {
	var out []Resource
	for _, r := range rs {
		switch r.Kind {
		case config.LambdaReservedConcurrency, config.APIGatewayUsagePlan, config.APIGatewayStage, config.APIGatewayV2Stage:
			if !r.HasLimit {
				continue
			}
		}
		out = append(out, r)
	}
	return out
}
