package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi"
	taggingschemas "github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi/schemas"
	"github.com/aws/smithy-go/transport/http/protocol/awsjson"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/discover"
	"github.com/autotuner/autotuner/internal/awsclient"
)

func init() {
	register(command{name: "init", summary: "write a dry-run policies file from the limits an account already has", run: runInit})
}

func runInit(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "init", "[--region R] [--tags k=v,...] [--days 14] > policies.yaml")
	region := fs.String("region", "", "the region to search (default: the SDK's, e.g. AWS_REGION)")
	tagsFlag := fs.String("tags", "", "only resources carrying every one of these tags, k=v,k2=v2")
	days := fs.Int("days", 14, "days of CloudWatch history the bounds are chosen from (1-63)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	tags, err := parseTags(*tagsFlag)
	if err != nil || fs.NArg() != 0 || *days < 1 || *days > 63 {
		if err != nil {
			fmt.Fprintln(e.stderr, "init:", err)
		}
		fs.Usage()
		return exitUsage
	}
	c, err := discoveryClients(ctx, e, *region)
	if err != nil {
		fmt.Fprintln(e.stderr, "init:", err)
		return exitFailure
	}
	out, err := initFile(ctx, c, tags, *days, time.Now())
	if err != nil {
		fmt.Fprintln(e.stderr, "init:", err)
		return exitFailure
	}
	_, _ = e.stdout.Write(out)
	return exitOK
}

// initFile finds the account's limits, reads their history and writes
// the file, which must itself validate before it is printed.
func initFile(ctx context.Context, c *discover.Clients, tags map[string]string, days int, now time.Time) ([]byte, error) {
	rs, err := c.Find(ctx, discover.Filter{Tags: tags})
	if err != nil {
		return nil, err
	}
	rs = worthListing(rs)
	peaks, err := c.Peaks(ctx, rs, now, days)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	if err := discover.Render(&b, discover.Header{Region: c.Region, Tags: tags, Days: days, At: now}, rs, peaks); err != nil {
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
func worthListing(rs []discover.Resource) []discover.Resource {
	var out []discover.Resource
	for _, r := range rs {
		switch r.Kind {
		case config.LambdaReservedConcurrency, config.APIGatewayUsagePlan, config.APIGatewayStage:
			if !r.HasLimit {
				continue
			}
		}
		out = append(out, r)
	}
	return out
}

func parseTags(s string) (map[string]string, error) {
	if s == "" {
		return nil, nil
	}
	out := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--tags: %q is not key=value", kv)
		}
		out[k] = v
	}
	return out, nil
}

// discoveryClients connects discovery to AWS the way the other commands
// connect (credentials chain, AWS_REGION, AWS_ENDPOINT_URL…).
func discoveryClients(ctx context.Context, e *env, region string) (*discover.Clients, error) {
	fac, err := awsclient.New(ctx, awsclient.Options{Region: region, CloudWatchProtocol: e.getenv(awsclient.ProtocolEnv)})
	if err != nil {
		return nil, err
	}
	cl, err := fac.For(region, "")
	if err != nil {
		return nil, err
	}
	tagging := resourcegroupstaggingapi.NewFromConfig(cl.Config, func(o *resourcegroupstaggingapi.Options) {
		if e.getenv(TaggingProtocolEnv) == "json" {
			o.Protocol = awsjson.New11(taggingschemas.ResourceGroupsTaggingAPI_20170126)
		}
	})
	return &discover.Clients{
		Region: cl.Key.Region, Lambda: cl.Lambda, APIGateway: cl.APIGateway, DynamoDB: cl.DynamoDB,
		AutoScaling: cl.AutoScaling, CloudWatch: cl.CloudWatch, Tagging: tagging,
	}, nil
}

// TaggingProtocolEnv switches the Resource Groups Tagging API client from
// Smithy RPC v2 CBOR (the SDK's default) to AWS JSON 1.1 when set to
// "json", for emulators that lack CBOR.
const TaggingProtocolEnv = "AUTOTUNER_TAGGING_PROTOCOL"
